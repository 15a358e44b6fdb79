"""``parse_reply``: a reply's text or file -> :class:`govnlp.documents.ReplyDocument`."""

from __future__ import annotations

import bisect
import logging
import re
from pathlib import Path

from govnlp.documents import Figure, Measure, Paragraph, Problem, ReplyDocument, Section, content_id
from govnlp.errors import ParseError
from govnlp.parsing import header as H
from govnlp.parsing.figures import find_figures
from govnlp.parsing.normalise import clean_text, matching_form
from govnlp.parsing.reader import read_source
from govnlp.parsing.structure import (
    _L1_RE,
    _L2_RE,
    _PROBLEM_LEAD_RE,
    PROBLEM_SECTION_RE,
    Block,
    Para,
    assign_roles,
    cn_to_int,
    find_measures,
    measure_title,
    problem_number,
    problem_text,
    split_paragraphs,
)

__all__ = ["parse_reply"]

logger = logging.getLogger(__name__)

_HEADING_MAX = 60
_SELF_RE = re.compile(r"(?:我|本)(?:局|委|厅|办|单位|部门|院|中心|府|室|公司)")
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


def parse_reply(source: str | Path) -> ReplyDocument:
    """Parse a government reply (答复) into a :class:`~govnlp.documents.ReplyDocument`.

    Args:
        source: the reply's text, or the path (``str`` or :class:`pathlib.Path`) of a ``.txt``, ``.html``/
            ``.htm``, ``.docx`` or ``.pdf`` file. A ``str`` that names an existing file with one of those
            suffixes is read as that file; any other ``str`` is the text itself.

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
    raw, source_name = read_source(source)
    if not raw or not raw.strip():
        where = f" ({source_name})" if source_name else ""
        raise ParseError(
            f"empty input{where}: expected the text of a reply, found only whitespace or nothing."
        )
    return _parse_text(raw, source_name)


def _parse_text(raw: str, source_name: str | None) -> ReplyDocument:
    ct = clean_text(raw)
    text = ct.text
    norm = ct.norm
    doc_id = content_id(text, prefix="doc-")
    paras = [Para(s, e) for s, e in split_paragraphs(norm)]
    sal, ack, body_start, close_start = assign_roles(norm, paras)
    ntexts = [norm[p.start : p.end] for p in paras]

    # ---------------------------------------------------------------- header fields
    salutation = None
    header_lines: list[str]
    if sal >= 0:
        salutation = ntexts[sal]
        header_lines = ntexts[:sal]
    elif ack >= 0:
        header_lines = ntexts[:ack]
    else:
        header_lines = ntexts[:body_start]
    opening_lines = ntexts[:body_start]
    closing_lines = ntexts[close_start:]
    meta = {matching_form(k): matching_form(v) for k, v in ct.meta.items()}
    meta_lines = [f"{k}：{v}" for k, v in meta.items()]
    head = "\n".join(opening_lines)
    title = H.find_title(header_lines) or H.find_title([meta.get("信息名称", ""), meta.get("标题", "")])
    if title is None and not header_lines and body_start == 0 and ntexts:
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
        and _PERSON_RE.search(norm[:300])
        and _MESSAGE_WORDS_RE.search(norm[:300])
    ):
        kind = "留言答复"  # an untitled reply speaking to a person: a message reply
    assembly_src = "\n".join([title or "", head])
    assembly = H.find_assembly(assembly_src)
    session = H.find_session(assembly_src)
    proposal_number = H.find_proposal_number(title, head)
    proposal_title = H.find_proposal_title(head, meta)
    if proposal_title is None and title and re.match(r"^关于.{2,}(?:建议|提案|议案)$", title):
        proposal_title = title
    addressee = H.find_addressee(salutation)
    lead, co = H.find_agencies(head)
    contact_lines = [ntexts[i] for i, p in enumerate(paras) if p.role == "contact"]
    contact = H.find_contact(contact_lines) if contact_lines else None
    tail = "\n".join(ntexts[max(body_start, close_start - 3) :])
    replying_agency = H.find_replying_agency(closing_lines, title, meta, contact, header_lines, tail)
    if lead and _SELF_RE.fullmatch(lead):
        # 由我局主办: the replying agency leads; kept as written (我局) when the signer is unknown
        lead = replying_agency or lead
    if (
        kind == "其他"
        and lead is None
        and addressee
        and re.search(r"会办|协办", (title or "") + head)
        and re.search(r"(?:局|委|厅|办|政府|办公室|中心)$", addressee)
    ):
        # a 会办/协办 opinion is addressed to the lead agency and written by a co-agency
        lead = addressee
        if replying_agency and replying_agency not in co:
            co = (*co, replying_agency)
    docnum_texts = [meta.get(k, "") for k in ("文号", "发文字号", "字号")] + header_lines + closing_lines
    document_number = H.find_document_number([t for t in docnum_texts if t])
    date = H.find_date(closing_lines, meta, header_lines)
    handling_class = H.find_handling_class(
        [*header_lines, *meta_lines, *closing_lines, *([title] if title else [])]
    )

    # ---------------------------------------------------------------- structure
    sections: list[Section] = []
    problems: list[Problem] = []
    prob_pos: list[int] = []  # where each problem starts, to keep document order
    problem_sections: set[str] = set()  # 二、存在的主要问题: its enumerated items are problems
    blocks: list[Block] = []
    cur_sec: str | None = None
    cur_prob: str | None = None
    expected_l1 = 1
    sec_heading = ""
    sec_paras: list[int] = []
    sec_is_problem = False

    sec_records: list[tuple[str, int, list[int], bool]] = []
    sec_head_idx = -1

    def close_section() -> None:
        if cur_sec is not None:
            sec_records.append((cur_sec, sec_head_idx, list(sec_paras), sec_is_problem))
            body = "\n".join(text[paras[j].start : paras[j].end] for j in sec_paras)
            sections.append(Section(number=cur_sec, heading=sec_heading, text=body))

    block = Block(None, None, [])
    for i in range(body_start, close_start):
        p = paras[i]
        if p.role != "body":
            continue
        t = ntexts[i]
        m1 = _L1_RE.match(t)
        if m1 and cn_to_int(m1.group(1)) == expected_l1:
            close_section()
            if block.paras:
                blocks.append(block)
            cur_sec = m1.group(1)
            sec_head_idx = i
            expected_l1 = (cn_to_int(cur_sec) or 0) + 1
            rest_start = p.start + m1.start(2)
            hl = _heading_of(m1.group(2))
            sec_heading = text[rest_start : rest_start + hl].strip()
            sec_paras = []
            p.role, p.heading_level = "section_heading", 1
            heading_norm = m1.group(2)[:hl].strip().rstrip("。：；！")
            if PROBLEM_SECTION_RE.fullmatch(heading_norm):
                problem_sections.add(cur_sec)
                ptext = None
                sec_is_problem = True
            else:
                ptext = problem_text(heading_norm)
                sec_is_problem = ptext is not None
            cur_prob = ptext
            if ptext:
                prob_pos.append(p.start)
                problems.append(
                    Problem(
                        id=content_id(doc_id, cur_sec, ptext, prefix="pb-"),
                        section=cur_sec,
                        number=cur_sec,
                        text=ptext,
                    )
                )
            p.section, p.problem = cur_sec, cur_prob
            block = Block(cur_sec, cur_prob, [])
            if m1.group(2)[hl:].strip(" 。；：！"):
                block.paras.append(i)  # heading and body in one paragraph
                sec_paras.append(i)
            continue
        if t.startswith(("关于", "针对")):
            mu = _UNNUMBERED_RE.match(t)
            ptext = None
            standalone = len(t) <= 40 and "。" not in t[:-1]
            if standalone and not mu:
                ptext = problem_text(t)
            elif mu:
                standalone = False
                ptext = (
                    _PROBLEM_LEAD_RE.sub("", re.sub(r"(?:的)?问题$", "", mu.group(1))).strip('“”"') or None
                )
            if ptext:
                if block.paras:
                    blocks.append(block)
                cur_prob = ptext
                prob_pos.append(p.start)
                problems.append(
                    Problem(
                        id=content_id(doc_id, cur_sec or "", "", ptext, prefix="pb-"),
                        section=cur_sec,
                        number=None,
                        text=ptext,
                    )
                )
                p.section, p.problem = cur_sec, cur_prob
                block = Block(cur_sec, cur_prob, [])
                sec_paras.append(i)
                if standalone:
                    p.role = "problem"
                    continue
                block.paras.append(i)
                continue
        m2 = _L2_RE.match(t)
        if m2:
            hl = _heading_of(m2.group(2))
            ptext = problem_text(m2.group(2)[:hl])
            if ptext:
                if block.paras:
                    blocks.append(block)
                cur_prob = ptext
                prob_pos.append(p.start)
                problems.append(
                    Problem(
                        id=content_id(doc_id, cur_sec or "", m2.group(1), ptext, prefix="pb-"),
                        section=cur_sec,
                        number=m2.group(1),
                        text=ptext,
                    )
                )
                p.role, p.heading_level = "problem", 2
                p.section, p.problem = cur_sec, cur_prob
                block = Block(cur_sec, cur_prob, [])
                sec_paras.append(i)
                if m2.group(2)[hl:].strip(" 。；：！"):
                    block.paras.append(i)
                continue
            if len(t) <= _HEADING_MAX and not _HEAD_END_RE.search(t[:-1]):
                p.role = "section_heading"
                p.heading_level = 2
        p.section, p.problem = cur_sec, cur_prob
        block.paras.append(i)
        sec_paras.append(i)
    close_section()
    if block.paras:
        blocks.append(block)

    # ---------------------------------------------------------------- figures and measures
    all_figs: list[tuple[int, Figure]] = []
    if close_start > body_start:
        b0, b1 = paras[body_start].start, paras[close_start - 1].end
        all_figs = find_figures(norm[b0:b1], text[b0:b1], b0)
        skip = [
            (p.start, p.end)
            for p in paras[body_start:close_start]
            if p.role not in ("body", "problem", "section_heading")
        ]
        if skip:
            all_figs = [(pos, f) for pos, f in all_figs if not any(a <= pos < b for a, b in skip)]
    all_figs.sort(key=lambda x: x[0])
    fig_pos = [pos for pos, _ in all_figs]
    measures: list[Measure] = []
    for blk in blocks:
        in_problem_section = blk.section is not None and blk.section in problem_sections
        if in_problem_section and blk.problem is not None:
            continue  # details of a problem under 存在的问题: neither problems nor measures
        for ms in find_measures(norm, paras, blk):
            mtext = _join(text, paras, ms.paras, ms.start, ms.end)
            mnorm = norm[ms.start : min(ms.end, paras[ms.paras[0]].end)] if ms.paras else ""
            tnorm = measure_title(mnorm, ms.ordinal)
            k = mnorm.find(tnorm) if tnorm else -1
            mtitle = mtext[k : k + len(tnorm)] if k >= 0 else tnorm
            if in_problem_section:
                # 二、存在的主要问题 一是…；二是…: the items are problems, not measures
                if not mtitle:
                    continue
                number = problem_number(ms.ordinal)
                prob_pos.append(ms.start)
                problems.append(
                    Problem(
                        id=content_id(doc_id, blk.section or "", number, mtitle, prefix="pb-"),
                        section=blk.section,
                        number=number,
                        text=mtitle,
                    )
                )
                for j in ms.paras:
                    if paras[j].problem is None:
                        paras[j].problem = mtitle
                    if paras[j].role == "body":
                        paras[j].role = "problem"  # indexed through its problems, not as a paragraph
                continue
            lo = bisect.bisect_left(fig_pos, ms.start)
            hi = bisect.bisect_left(fig_pos, ms.end)
            figs = tuple(f for _, f in all_figs[lo:hi])
            mid = content_id(doc_id, str(len(measures)), mtext, prefix="m-")
            measures.append(
                Measure(
                    id=mid,
                    section=ms.section,
                    problem=ms.problem,
                    ordinal=text[ms.start : ms.start + len(ms.ordinal)],
                    title=mtitle,
                    text=mtext,
                    figures=figs,
                )
            )
            for j in ms.paras:
                paras[j].measure_ids.append(mid)

    # sections that are themselves measures ("一、放开参保户籍限制。取消…") when nothing inside is enumerated
    with_measures = {m.section for m in measures}
    positions = []
    for num, hidx, body_idx, is_prob in sec_records:
        if num in with_measures or is_prob or hidx < 0:
            continue
        heading_norm = ntexts[hidx]
        if _META_HEADING_RE.search(heading_norm[: len(num) + 1 + _heading_of(heading_norm[len(num) + 1 :])]):
            continue
        idxs = [hidx, *[j for j in body_idx if j != hidx]]
        rest = heading_norm[len(num) + 1 :]
        if len(idxs) == 1 and not rest[_heading_of(rest) :].strip(" 。；：！"):
            continue
        mtext = "\n".join(text[paras[j].start : paras[j].end] for j in idxs)
        start, end = paras[hidx].start, paras[idxs[-1]].end
        stitle = next((sec.heading for sec in sections if sec.number == num), "").rstrip("。；：！")
        lo = bisect.bisect_left(fig_pos, start)
        hi = bisect.bisect_left(fig_pos, end)
        mid = content_id(doc_id, str(len(measures)), mtext, prefix="m-")
        measures.append(
            Measure(
                id=mid,
                section=num,
                problem=None,
                ordinal=text[start : start + len(num) + 1],
                title=stitle,
                text=mtext,
                figures=tuple(f for _, f in all_figs[lo:hi]),
            )
        )
        for j in idxs:
            paras[j].measure_ids.append(mid)
    if positions or len({m.section for m in measures}) > 1:
        order = {mid: k for k, mid in enumerate(mid for p in paras for mid in p.measure_ids)}
        measures.sort(key=lambda m: order.get(m.id, 0))

    if problem_sections and len(problems) > 1:
        problems = [pb for _, _, pb in sorted(zip(prob_pos, range(len(problems)), problems, strict=True))]

    paragraphs = tuple(
        Paragraph(
            id=content_id(doc_id, str(i), text[p.start : p.end], prefix="p-"),
            index=i,
            role=p.role,
            section=p.section,
            problem=p.problem,
            text=text[p.start : p.end],
            measures=tuple(p.measure_ids),
        )
        for i, p in enumerate(paras)
    )
    meta_out: dict[str, object] = {"page": dict(ct.meta)} if ct.meta else {}
    if ct.dropped:
        meta_out["dropped_lines"] = ct.dropped
    return ReplyDocument(
        id=doc_id,
        title=title,
        kind=kind,
        assembly=assembly,
        session=session,
        proposal_number=proposal_number,
        proposal_title=proposal_title,
        addressee=addressee,
        lead_agency=lead,
        co_agencies=co,
        replying_agency=replying_agency,
        document_number=document_number,
        date=date,
        handling_class=handling_class,
        contact=contact,
        sections=tuple(sections),
        problems=tuple(problems),
        measures=tuple(measures),
        figures=tuple(f for _, f in all_figs),
        paragraphs=paragraphs,
        text=text,
        source=source_name,
        meta=meta_out,
    )


def _join(text: str, paras: list[Para], idx: list[int], start: int, end: int) -> str:
    parts = []
    for j in idx:
        s, e = max(paras[j].start, start), min(paras[j].end, end)
        if e > s:
            parts.append(text[s:e].strip())
    return "\n".join(x for x in parts if x)
