"""``parse_reply``: a reply's text or file -> :class:`govnlp.documents.ReplyDocument`.

The parse runs in named stages, each a function of the previous stages' results:

1. :func:`_layout`: clean the text, split it into paragraphs and give each a role (opening, body, closing…);
2. :func:`_header`: the header and footer fields (title, kind, numbers, agencies, dates…);
3. :func:`_sections`: sections 一、, problems （一）/关于…, and the blocks of body paragraphs under them;
4. :func:`_measures`: the enumerated measures of each block (and the items of a 存在的问题 section, which
   are problems), then sections that are measures themselves;
5. :func:`_paragraphs`: the paragraphs with their place in the structure.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from govnlp.documents import (
    Contact,
    Figure,
    Measure,
    Paragraph,
    Problem,
    ReplyDocument,
    Section,
    content_id,
    direct_constructor,
)
from govnlp.errors import ParseError
from govnlp.parsing import header as H
from govnlp.parsing.figures import find_figures
from govnlp.parsing.normalise import CleanText, clean_text, matching_form
from govnlp.parsing.reader import read_source
from govnlp.parsing.structure import (
    PROBLEM_LEAD_RE,
    PROBLEM_SECTION_RE,
    Block,
    MeasureSpan,
    Para,
    assign_roles,
    find_measures,
    measure_title,
    problem_number,
    problem_text,
    split_paragraphs,
)
from govnlp.parsing.vocabulary import L1_RE, L2_RE, OFFICE_SUFFIX, SELF_AGENCY_RE, cn_to_int

_new_measure = direct_constructor(Measure)
_new_paragraph = direct_constructor(Paragraph)

__all__ = ["parse_reply"]

logger = logging.getLogger(__name__)

_HEADING_MAX = 60
_HEAD_END_RE = re.compile(r"[。！？；]")
# "关于押金：学校与酒店…" — a topic label that opens a paragraph
_UNNUMBERED_RE = re.compile(r"^关于([^，。：；！？]{2,24})：")
_PERSON_RE = re.compile(r"您|你(?![们部委局省市厅办院处])")
_MESSAGE_WORDS_RE = re.compile(r"反映|留言|来信|咨询|诉求|收悉|问题|投诉|建议|情况")
# section headings that frame the reply rather than name a measure
_META_HEADING_RE = re.compile(
    r"情况|问题|下一步|打算|基本|总体|概况|办理|答复|关于|说明|背景|原因|现状|意见|建议|成效|总结|思路|目标|安排"
)


def _heading_of(rest_norm: str) -> int:
    """Length of the heading part of a heading paragraph's remainder (up to its first sentence end)."""
    m = _HEAD_END_RE.search(rest_norm, 0, _HEADING_MAX)
    if m and rest_norm[m.end() :].strip():
        return m.start()
    if len(rest_norm) <= _HEADING_MAX:
        return len(rest_norm.rstrip("。：；！"))
    comma = rest_norm.find("，", 4, 40)
    return comma if comma > 0 else 40


def parse_reply(source: str | Path, *, as_text: bool = False) -> ReplyDocument:
    """Parse a government reply (答复) into a :class:`~govnlp.documents.ReplyDocument`.

    Args:
        source: the reply's text, or the path (``str`` or :class:`pathlib.Path`) of a ``.txt``, ``.html``/
            ``.htm``, ``.docx`` or ``.pdf`` file. A ``str`` that looks like a path (one short line ending in
            one of those suffixes) is read as that file, and is an error if it does not exist; any other
            ``str`` is the text itself.
        as_text: the ``str`` is the text itself, even if it looks like a path.

    Returns:
        The document: header fields (normalised: simplified characters, full-width punctuation, 〔〕), the
        structure (sections, problems, measures, figures, paragraphs with roles) and ``text``, the cleaned
        original text (web debris removed, characters kept as written). Every field is ``None``/empty when
        not found; any text yields a document.

    Raises:
        ParseError: empty or whitespace-only text, bytes or another non-text object, binary data, a missing
            file, or an unsupported file type.

    Example:
        >>> doc = parse_reply("王某代表：\\n您提出的《关于加快老旧小区改造的建议》收悉，现答复如下：\\n一是加快改造。")
        >>> doc.kind, doc.addressee, doc.proposal_title, [m.title for m in doc.measures]
        ('建议答复', '王某代表', '关于加快老旧小区改造的建议', ['加快改造'])
    """
    raw, source_name = read_source(source, as_text=as_text)
    if not raw or not raw.strip():
        where = f" ({source_name})" if source_name else ""
        raise ParseError(
            f"empty input{where}: expected the text of a reply, found only whitespace or nothing."
        )
    doc = _parse_text(raw, source_name)
    if not doc.text:  # nothing but page debris: hash the input, so such documents do not share one id
        doc = dataclasses.replace(doc, id=content_id(raw.strip(), prefix="doc-"))
    return doc


def _parse_text(raw: str, source_name: str | None) -> ReplyDocument:
    page = _layout(clean_text(raw))
    doc_id = content_id(page.text, prefix="doc-")
    head = _header(page)
    body = _sections(page, doc_id)
    figures = _figures(page)
    measures = _measures(page, doc_id, body, figures)
    problems = [pb for _, pb in body.problems]
    if body.problem_sections and len(problems) > 1:
        # items of a 存在的问题 section were found after the headings: back to document order
        problems = [pb for _, _, pb in sorted((pos, k, pb) for k, (pos, pb) in enumerate(body.problems))]
    meta_out: dict[str, object] = {"page": dict(page.clean.meta)} if page.clean.meta else {}
    if page.clean.dropped:
        meta_out["dropped_lines"] = page.clean.dropped
    return ReplyDocument(
        id=doc_id,
        **vars(head),  # the header fields, named as in ReplyDocument
        sections=tuple(
            Section(
                number=sec.number,
                heading=sec.heading,
                text="\n".join(page.text[page.paras[j].start : page.paras[j].end] for j in sec.body),
            )
            for sec in body.sections
        ),
        problems=tuple(problems),
        measures=tuple(measures),
        figures=tuple(figures.items),
        paragraphs=_paragraphs(page, doc_id),
        text=page.text,
        source=source_name,
        meta=meta_out,
    )


# ---------------------------------------------------------------- stage 1: layout


@dataclass
class _Page:
    """The cleaned text cut into paragraphs with roles: what every later stage reads."""

    clean: CleanText
    text: str  # cleaned original
    norm: str  # its matching form (same length)
    paras: list[Para]
    ntexts: list[str]  # each paragraph's matching form
    sal: int  # salutation paragraph or -1
    ack: int  # acknowledgement paragraph or -1
    body_start: int
    close_start: int
    meta: dict[str, str]  # page metadata, keys and values in matching form

    @property
    def header_lines(self) -> list[str]:
        """Lines above the salutation (or the acknowledgement): title, 文号, labelled fields."""
        if self.sal >= 0:
            return self.ntexts[: self.sal]
        if self.ack >= 0:
            return self.ntexts[: self.ack]
        return self.ntexts[: self.body_start]

    @property
    def opening_lines(self) -> list[str]:
        return self.ntexts[: self.body_start]

    @property
    def closing_lines(self) -> list[str]:
        return self.ntexts[self.close_start :]


def _layout(ct: CleanText) -> _Page:
    norm = ct.norm
    paras = [Para(s, e) for s, e in split_paragraphs(norm)]
    sal, ack, body_start, close_start = assign_roles(norm, paras)
    return _Page(
        clean=ct,
        text=ct.text,
        norm=norm,
        paras=paras,
        ntexts=[norm[p.start : p.end] for p in paras],
        sal=sal,
        ack=ack,
        body_start=body_start,
        close_start=close_start,
        meta={matching_form(k): matching_form(v) for k, v in ct.meta.items()},
    )


# ---------------------------------------------------------------- stage 2: header fields


@dataclass
class _Head:
    """The header and footer fields of :class:`ReplyDocument` (same names), as :func:`_header` finds them."""

    title: str | None
    kind: str
    assembly: str | None
    session: str | None
    proposal_number: str | None
    proposal_title: str | None
    addressee: str | None
    lead_agency: str | None
    co_agencies: tuple[str, ...]
    replying_agency: str | None
    source_agency: str | None
    document_number: str | None
    date: str | None
    published: str | None
    handling_class: str | None
    contact: Contact | None


_HEADER_RE1 = re.compile(r"^关于.{2,}(?:建议|提案|议案)$")
_HEADER_RE2 = re.compile(r"会办|协办")
_HEADER_RE3 = re.compile(rf"{OFFICE_SUFFIX}$")


def _header(page: _Page) -> _Head:
    ntexts, meta = page.ntexts, page.meta
    header_lines, opening_lines, closing_lines = page.header_lines, page.opening_lines, page.closing_lines
    salutation = ntexts[page.sal] if page.sal >= 0 else None
    meta_lines = [f"{k}：{v}" for k, v in meta.items()]
    head = "\n".join(opening_lines)
    title = H.find_title(header_lines) or H.find_title([meta.get("信息名称", ""), meta.get("标题", "")])
    if title is None and not header_lines and page.body_start == 0 and ntexts:
        title = H.find_title(ntexts[:1])
    kind = H.find_kind(
        title,
        salutation,
        "\n".join(opening_lines[-3:]) if opening_lines else (ntexts[0][:200] if ntexts else ""),
    )
    if (
        kind == "其他"
        and title is None
        and salutation is None
        and _PERSON_RE.search(page.norm[:300])
        and _MESSAGE_WORDS_RE.search(page.norm[:300])
    ):
        kind = "留言答复"  # an untitled reply speaking to a person: a message reply
    assembly_src = "\n".join([title or "", head])
    proposal_title = H.find_proposal_title(head, meta, title)
    if proposal_title is None and title and _HEADER_RE1.match(title):
        proposal_title = title
    addressee = H.find_addressee(salutation)
    lead, co = H.find_agencies(head)
    contact_lines = [ntexts[i] for i, p in enumerate(page.paras) if p.role == "contact"]
    contact = H.find_contact(contact_lines) if contact_lines else None
    tail = "\n".join(ntexts[max(page.body_start, page.close_start - 3) :])
    replying_agency = H.find_replying_agency(closing_lines, title, meta, contact, header_lines, tail)
    if lead and SELF_AGENCY_RE.fullmatch(lead):
        # 由我局主办: the replying agency leads; kept as written (我局) when the signer is unknown
        lead = replying_agency or lead
    if (
        kind == "其他"
        and lead is None
        and addressee
        and _HEADER_RE2.search((title or "") + head)
        and _HEADER_RE3.search(addressee)
    ):
        # a 会办/协办 opinion is addressed to the lead agency and written by a co-agency
        lead = addressee
        if replying_agency and replying_agency not in co:
            co = (*co, replying_agency)
    docnum_texts = [meta.get(k, "") for k in ("文号", "发文字号", "字号")] + header_lines + closing_lines
    body_lines = ntexts[page.body_start : page.close_start]
    date = H.find_date(closing_lines, meta, header_lines, body_lines, ntexts[-2:])
    return _Head(
        title=title,
        kind=kind,
        assembly=H.find_assembly(assembly_src),
        session=H.find_session(assembly_src),
        proposal_number=H.find_proposal_number(title, head),
        proposal_title=proposal_title,
        addressee=addressee,
        lead_agency=lead,
        co_agencies=co,
        replying_agency=replying_agency,
        source_agency=H.find_source_agency(meta, [*opening_lines, *closing_lines]),
        document_number=H.find_document_number([t for t in docnum_texts if t]),
        date=date,
        published=H.find_published([*opening_lines, *closing_lines], meta, date),
        handling_class=H.find_handling_class(
            [*header_lines, *meta_lines, *closing_lines, *([title] if title else [])]
        ),
        contact=contact,
    )


# ---------------------------------------------------------------- stage 3: sections and problems


def _problem(doc_id: str, section: str | None, number: str | None, text: str) -> Problem:
    """The one way a :class:`Problem` is made: its id hashes the document, place and text."""
    return Problem(
        id=content_id(doc_id, section or "", number or "", text, prefix="pb-"),
        section=section,
        number=number,
        text=text,
    )


@dataclass
class _SectionRecord:
    number: str
    heading: str  # as written
    head_index: int  # the heading paragraph
    body: list[int]  # paragraphs of the section (the heading too when it carries body text)
    is_problem: bool  # a problem section, or a heading that restates a problem


@dataclass
class _Body:
    """What :func:`_sections` finds: sections, problems with their positions, and measure blocks."""

    sections: list[_SectionRecord] = field(default_factory=list)
    problems: list[tuple[int, Problem]] = field(default_factory=list)
    problem_sections: set[str] = field(default_factory=set)  # 二、存在的主要问题: its items are problems
    blocks: list[Block] = field(default_factory=list)


@dataclass
class _Cursor:
    """Where the walk over the body stands: the open section, the current problem and the open block."""

    section: _SectionRecord | None = None
    problem: str | None = None
    block: Block = field(default_factory=lambda: Block(None, None, []))
    expected_l1: int = 1

    @property
    def section_number(self) -> str | None:
        return self.section.number if self.section else None

    def new_block(self, body: _Body) -> None:
        if self.block.paras:
            body.blocks.append(self.block)
        self.block = Block(self.section_number, self.problem, [])


def _sections(page: _Page, doc_id: str) -> _Body:
    """Walk the body paragraphs once: open a section at each 一、 in sequence, a problem at each heading
    that restates one (（一）针对…的问题, 关于…：, a standalone 关于… line), and collect blocks of paragraphs
    for the measure stage. Paragraph roles, sections and problems are set on ``page.paras``."""
    body = _Body()
    cur = _Cursor()
    for i in range(page.body_start, page.close_start):
        p = page.paras[i]
        if p.role != "body":
            continue
        t = page.ntexts[i]
        m1 = L1_RE.match(t)
        if m1 and cn_to_int(m1.group(1)) == cur.expected_l1:
            _open_section(page, doc_id, body, cur, i, m1)
            continue
        if t.startswith(("关于", "针对")) and _topic_problem(page, doc_id, body, cur, i):
            continue
        m2 = L2_RE.match(t)
        if m2:
            hl = _heading_of(m2.group(2))
            ptext = problem_text(m2.group(2)[:hl])
            if ptext:
                _start_problem(doc_id, body, cur, p, ptext, m2.group(1))
                p.role, p.heading_level = "problem", 2
                if cur.section:
                    cur.section.body.append(i)
                if m2.group(2)[hl:].strip(" 。；：！"):
                    cur.block.paras.append(i)
                continue
            if len(t) <= _HEADING_MAX and not _HEAD_END_RE.search(t[:-1]):
                p.role, p.heading_level = "section_heading", 2
        p.section, p.problem = cur.section_number, cur.problem
        cur.block.paras.append(i)
        if cur.section:
            cur.section.body.append(i)
    cur.new_block(body)
    return body


def _open_section(page: _Page, doc_id: str, body: _Body, cur: _Cursor, i: int, m1: re.Match[str]) -> None:
    p = page.paras[i]
    number = m1.group(1)
    hl = _heading_of(m1.group(2))
    rest_start = p.start + m1.start(2)
    heading_norm = m1.group(2)[:hl].strip().rstrip("。：；！")
    if PROBLEM_SECTION_RE.fullmatch(heading_norm):
        body.problem_sections.add(number)
        ptext, is_problem = None, True
    else:
        ptext = problem_text(heading_norm)
        is_problem = ptext is not None
    sec = _SectionRecord(number, page.text[rest_start : rest_start + hl].strip(), i, [], is_problem)
    body.sections.append(sec)
    cur.section, cur.problem = sec, ptext
    cur.expected_l1 = (cn_to_int(number) or 0) + 1
    if ptext:
        body.problems.append((p.start, _problem(doc_id, number, number, ptext)))
    p.role, p.heading_level = "section_heading", 1
    p.section, p.problem = number, ptext
    cur.new_block(body)
    if m1.group(2)[hl:].strip(" 。；：！"):
        cur.block.paras.append(i)  # heading and body in one paragraph
        sec.body.append(i)


_TOPIC_PROBLEM_RE1 = re.compile(r"(?:的)?问题$")


def _topic_problem(page: _Page, doc_id: str, body: _Body, cur: _Cursor, i: int) -> bool:
    """A paragraph opening with 关于/针对 that names a problem: a standalone line (``关于…的问题``) or a topic
    label (``关于押金：…``). Returns whether it did."""
    t = page.ntexts[i]
    mu = _UNNUMBERED_RE.match(t)
    ptext = None
    standalone = len(t) <= 40 and "。" not in t[:-1]
    if standalone and not mu:
        ptext = problem_text(t)
    elif mu:
        standalone = False
        ptext = PROBLEM_LEAD_RE.sub("", _TOPIC_PROBLEM_RE1.sub("", mu.group(1))).strip('“”"') or None
    if not ptext:
        return False
    p = page.paras[i]
    _start_problem(doc_id, body, cur, p, ptext, None)
    if cur.section:
        cur.section.body.append(i)
    if standalone:
        p.role = "problem"
    else:
        cur.block.paras.append(i)
    return True


def _start_problem(doc_id: str, body: _Body, cur: _Cursor, p: Para, text: str, number: str | None) -> None:
    cur.problem = text
    cur.new_block(body)
    body.problems.append((p.start, _problem(doc_id, cur.section_number, number, text)))
    p.section, p.problem = cur.section_number, text


# ---------------------------------------------------------------- stage 4: figures and measures


@dataclass
class _Figures:
    """The body's figures in text order and their positions (for bisect)."""

    positions: list[int]
    items: list[Figure]


def _figures(page: _Page) -> _Figures:
    """Figures of the body (not of contact or closing lines), in text order, with their positions."""
    if page.close_start <= page.body_start:
        return _Figures([], [])
    paras = page.paras
    b0, b1 = paras[page.body_start].start, paras[page.close_start - 1].end
    found = find_figures(page.norm[b0:b1], page.text[b0:b1], b0)
    skip = [
        (p.start, p.end)
        for p in paras[page.body_start : page.close_start]
        if p.role not in ("body", "problem", "section_heading")
    ]
    if skip:
        found = [(pos, f) for pos, f in found if not any(a <= pos < b for a, b in skip)]
    found.sort(key=lambda x: x[0])
    return _Figures([pos for pos, _ in found], [f for _, f in found])


def _measure(
    page: _Page,
    doc_id: str,
    index: int,
    span: tuple[int, int],
    para_ids: list[int],
    where: tuple[str | None, str | None],
    ordinal: str,
    title: str,
    text: str,
    figures: _Figures,
) -> Measure:
    """The one way a :class:`Measure` is made: figures inside ``span``; paragraphs get the measure's id."""
    lo = bisect.bisect_left(figures.positions, span[0])
    hi = bisect.bisect_left(figures.positions, span[1])
    mid = content_id(doc_id, str(index), text, prefix="m-")
    for j in para_ids:
        page.paras[j].measure_ids.append(mid)
    return _new_measure(
        id=mid,
        section=where[0],
        problem=where[1],
        ordinal=ordinal,
        title=title,
        text=text,
        figures=tuple(figures.items[lo:hi]),
    )


def _measures(page: _Page, doc_id: str, body: _Body, figures: _Figures) -> list[Measure]:
    """Enumerated measures of each block, then sections that are measures; items under 存在的问题 become
    problems (added to ``body.problems``)."""
    text, norm, paras = page.text, page.norm, page.paras
    measures: list[Measure] = []
    for blk in body.blocks:
        in_problem_section = blk.section is not None and blk.section in body.problem_sections
        if in_problem_section and blk.problem is not None:
            continue  # details of a problem under 存在的问题: neither problems nor measures
        for ms in find_measures(norm, paras, blk):
            mtext = _join(text, paras, ms.paras, ms.start, ms.end)
            mtitle = _span_title(page, ms, mtext)
            if in_problem_section:
                # 二、存在的主要问题 一是…；二是…: the items are problems, not measures
                if mtitle:
                    _item_problem(page, doc_id, body, blk, ms, mtitle)
                continue
            measures.append(
                _measure(
                    page,
                    doc_id,
                    len(measures),
                    (ms.start, ms.end),
                    ms.paras,
                    (ms.section, ms.problem),
                    text[ms.start : ms.start + len(ms.ordinal)],
                    mtitle,
                    mtext,
                    figures,
                )
            )
    measures.extend(
        _section_measures(page, doc_id, body, {m.section for m in measures}, len(measures), figures)
    )
    if len({m.section for m in measures}) > 1:
        order = {mid: k for k, mid in enumerate(mid for p in paras for mid in p.measure_ids)}
        measures.sort(key=lambda m: order.get(m.id, 0))
    return measures


def _span_title(page: _Page, ms: MeasureSpan, mtext: str) -> str:
    """A measure's title as written: its lead clause, found on the matching form, cut from ``mtext``."""
    mnorm = page.norm[ms.start : min(ms.end, page.paras[ms.paras[0]].end)] if ms.paras else ""
    tnorm = measure_title(mnorm, ms.ordinal)
    k = mnorm.find(tnorm) if tnorm else -1
    return mtext[k : k + len(tnorm)] if k >= 0 else tnorm


def _item_problem(page: _Page, doc_id: str, body: _Body, blk: Block, ms: MeasureSpan, title: str) -> None:
    body.problems.append((ms.start, _problem(doc_id, blk.section, problem_number(ms.ordinal), title)))
    for j in ms.paras:
        if page.paras[j].problem is None:
            page.paras[j].problem = title
        if page.paras[j].role == "body":
            page.paras[j].role = "problem"  # indexed through its problems, not as a paragraph


def _section_measures(
    page: _Page,
    doc_id: str,
    body: _Body,
    with_measures: set[str | None],
    first_index: int,
    figures: _Figures,
) -> list[Measure]:
    """Sections that are themselves measures (``一、放开参保户籍限制。取消…``) when nothing inside is enumerated."""
    text, paras = page.text, page.paras
    out: list[Measure] = []
    for sec in body.sections:
        num, hidx = sec.number, sec.head_index
        if num in with_measures or sec.is_problem:
            continue
        heading_norm = page.ntexts[hidx]
        rest = heading_norm[len(num) + 1 :]
        if _META_HEADING_RE.search(heading_norm[: len(num) + 1 + _heading_of(rest)]):
            continue
        idxs = [hidx, *[j for j in sec.body if j != hidx]]
        if len(idxs) == 1 and not rest[_heading_of(rest) :].strip(" 。；：！"):
            continue
        start, end = paras[hidx].start, paras[idxs[-1]].end
        out.append(
            _measure(
                page,
                doc_id,
                first_index + len(out),
                (start, end),
                idxs,
                (num, None),
                text[start : start + len(num) + 1],
                sec.heading.rstrip("。；：！"),
                "\n".join(text[paras[j].start : paras[j].end] for j in idxs),
                figures,
            )
        )
    return out


# ---------------------------------------------------------------- stage 5: paragraphs


def _paragraphs(page: _Page, doc_id: str) -> tuple[Paragraph, ...]:
    text = page.text
    out = []
    for i, p in enumerate(page.paras):
        ptext = text[p.start : p.end]
        out.append(
            _new_paragraph(
                id=content_id(doc_id, str(i), ptext, prefix="p-"),
                index=i,
                role=p.role,
                section=p.section,
                problem=p.problem,
                text=ptext,
                measures=tuple(p.measure_ids),
            )
        )
    return tuple(out)


def _join(text: str, paras: list[Para], idx: list[int], start: int, end: int) -> str:
    parts = []
    for j in idx:
        s, e = max(paras[j].start, start), min(paras[j].end, end)
        if e > s:
            parts.append(text[s:e].strip())
    return "\n".join(x for x in parts if x)
