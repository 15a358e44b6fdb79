"""``parse_proposal``: a proposal, suggestion or citizen message -> problems and suggestions to search with.

The other side of a reply: 案由 (cause), the problems it describes and the suggestions it makes. Items come
from the text's own enumerations (一是, 1., （一）, ①, 建议：…); without one, the text is split into
sentences and each reads as a problem or a suggestion by its wording. Every item is a short text
(about 15-120 characters) ready to be used as a search query against past measures.
"""

from __future__ import annotations

import re

from govnlp.documents import ProposalDocument, ProposalItem, content_id
from govnlp.errors import ParseError
from govnlp.parsing.normalise import clean_text, matching_form
from govnlp.parsing.structure import CN_NUM, cn_to_int

__all__ = ["parse_proposal"]

MIN_ITEM = 15
MAX_ITEM = 120

_ENUM_RE = re.compile(
    rf"(?:^|(?<=[。；：！？，\s]))("
    rf"[{CN_NUM}]{{1,2}}是|[{CN_NUM}]{{1,2}}、|（[{CN_NUM}]{{1,2}}）|\d{{1,2}}[.、](?![\d%])|（\d{{1,2}}）|[①-⑳]|第[{CN_NUM}]{{1,2}}[，、：]"
    rf")"
)
_CAUSE_RE = re.compile(r"(?:案\s*由|事\s*由|主\s*题|标\s*题|题\s*目)\s*[：:]\s*([^\n]{2,200})")
_SUGGEST_WORDS = re.compile(
    r"建议|应当|应该|需要|亟需|希望|请求|恳请|要求|呼吁|加快|加强|加大|推进|推动|完善|建立|健全|出台|设立|增设|提高|落实|鼓励|支持|尽快|优化|规范"
)
_PROBLEM_WORDS = re.compile(
    r"问题|存在|不足|缺乏|缺少|难以|困难|滞后|不够|不高|不到位|不完善|不健全|薄弱|短板|隐患|严重|较差|较低|偏低|过高|混乱|难|乱|差|未能|没有|没|不方便|不便|太远|太难|无法|导致|影响|停工|担心|忧虑|裂缝|渗水|拖欠|噪音|扰民|污染|投诉|无果|纠纷|占用|违规|违法"
)
_SENT_RE = re.compile(r"[^。！？；!?\n]+[。！？；!?]?")


_LABEL_RE = re.compile(r"^(?:存在的?问题|主要问题|问题|现状|建议|意见|诉求|原因)\s*[：:]\s*")

#: Section labels of proposal forms that open a section mid-line ("调研情况：… 问题分析：… 具体建议：…"),
#: with the kind of section each opens: ``analysis`` (background prose), ``problem`` or ``suggestion``.
SECTION_LABELS: dict[str, str] = {
    "调研情况": "analysis",
    "基本情况": "analysis",
    "情况分析": "analysis",
    "背景": "analysis",
    "问题分析": "problem",
    "存在问题": "problem",
    "存在的问题": "problem",
    "主要问题": "problem",
    "原因分析": "analysis",
    "具体建议": "suggestion",
    "对策建议": "suggestion",
    "几点建议": "suggestion",
    "意见建议": "suggestion",
    "对策与建议": "suggestion",
    "对策和建议": "suggestion",
}
_SECTION_LABEL_RE = re.compile(
    "(?:^|(?<=[。！？；，\\s]))(" + "|".join(sorted(SECTION_LABELS, key=len, reverse=True)) + ")\\s*[：:]"
)


def _short(text: str) -> str:
    """Trim an item to a query: drop the ordinal, keep whole clauses up to MAX_ITEM characters."""
    t = re.sub(r"\s+", " ", text).strip(" ，、；。")
    t = _LABEL_RE.sub("", t)
    if len(t) <= MAX_ITEM:
        return t
    cut = max(t.rfind(p, 0, MAX_ITEM) for p in "。；！？")
    if cut >= MIN_ITEM:
        return t[: cut + 1].strip()
    cut = t.rfind("，", 0, MAX_ITEM)
    return (t[:cut] if cut >= MIN_ITEM else t[:MAX_ITEM]).strip(" ，")


def _lead(text: str) -> str:
    """The first sentence(s) of an item, at least MIN_ITEM characters when the item has them."""
    sents = _SENT_RE.findall(text)
    out = ""
    for s in sents:
        out += s
        if len(out.strip()) >= MIN_ITEM:
            break
    return _short(out or text)


def _enumerated(norm: str, orig: str) -> list[tuple[str, str]]:
    """``[(ordinal, text)]`` of the outermost enumeration forming a 1, 2, 3… sequence."""
    styles: dict[str, list[tuple[int, int, str, int]]] = {}
    for m in _ENUM_RE.finditer(norm):
        tok = m.group(1)
        core = re.sub(r"[是、（）.，：第]", "", tok)
        value = cn_to_int(core)
        if value is None:
            continue
        style = re.sub(r"[\d一二三四五六七八九十①-⑳]", "N", tok)
        if tok[0] in "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳":
            style = "circle"
        styles.setdefault(style, []).append((m.start(1), m.end(1), tok, value))
    best: list[tuple[int, int, str, int]] = []
    for items in styles.values():
        seq: list[tuple[int, int, str, int]] = []
        for it in items:
            if it[3] == len(seq) + 1:
                seq.append(it)
        if len(seq) >= 2 and (not best or seq[0][0] < best[0][0]):
            best = seq
    out = []
    for k, (s, e, _tok, _v) in enumerate(best):
        end = best[k + 1][0] if k + 1 < len(best) else len(norm)
        body = orig[e:end]
        # the last item ends at the first paragraph break
        if k + 1 == len(best):
            nl = body.find("\n")
            body = body[:nl] if nl > 0 else body
        out.append((orig[s:e], body))
    return out


def _items(kind: str, pairs: list[tuple[str | None, str]], seen: set[str]) -> list[ProposalItem]:
    out = []
    for ordinal, body in pairs:
        t = _lead(body)
        if len(t) < 4 or t in seen:
            continue
        seen.add(t)
        out.append(ProposalItem(id=content_id(kind, t, prefix="q-"), ordinal=ordinal, text=t))
    return out


def parse_proposal(text: str, *, title: str | None = None) -> ProposalDocument:
    """Parse a proposal / suggestion / citizen message into its cause, problems and suggestions.

    Proposal forms such as ``调研情况：… 问题分析：… 具体建议：…`` (also 存在问题, 对策建议, 几点建议, on
    their own line or mid-line) are cut into sections: the background and analysis prose goes to
    ``analysis``, the problems and suggestions become items (from 1. 2. 3., （一）, 一是… enumerations, or
    sentence by sentence).

    Args:
        text: the proposal's text (a title line is optional).
        title: the title (案由) when it is kept apart from the text, as in most proposal databases; the
            text is then all body.

    Returns:
        A :class:`~govnlp.documents.ProposalDocument`; ``queries()`` gives the items to match against
        past measures.

    Raises:
        ParseError: ``text`` is not a str, or is empty.

    Example:
        >>> p = parse_proposal("关于加强老旧小区物业管理的建议\\n存在问题：物业服务企业管理不规范，乱收费现象突出。\\n建议：一是加强对物业服务企业的监管考核；二是规范停车收费标准并公示。")
        >>> [s.text for s in p.suggestions]
        ['加强对物业服务企业的监管考核', '规范停车收费标准并公示']
    """
    if not isinstance(text, str):
        raise ParseError(
            f"expected the proposal's text (str), found {type(text).__name__}. Pass the text itself."
        )
    if title is not None and not isinstance(title, str):
        raise ParseError(f"title must be a str or None, found {type(title).__name__}")
    if title is not None and title.strip() and not text.strip():
        text = title
        title = None
    if not text.strip():
        raise ParseError(
            "empty input: expected the text of a proposal, suggestion or message, found only whitespace."
        )
    given = title.strip() if title is not None and title.strip() else None
    ct = clean_text(text)
    orig = ct.text
    norm = matching_form(orig)
    lines = orig.split("\n")
    nlines = norm.split("\n")
    title = None
    if (
        given is None
        and nlines
        and nlines[0]
        and len(nlines[0]) <= 60
        and not re.search(r"[。！？]$", nlines[0])
        and len(nlines) > 1
    ):
        title = lines[0].strip()
    cause = None
    m = _CAUSE_RE.search(norm)
    if m:
        cause = orig[m.start(1) : m.end(1)].strip()
        if title is None and len(cause) <= 60:
            title = cause
    body_start = len(lines[0]) + 1 if title and title == lines[0].strip() else 0
    if given is not None:
        title = given
        body_start = 0
    seen: set[str] = set()
    problems: list[ProposalItem] = []
    suggestions: list[ProposalItem] = []
    analysis: list[str] = []
    segments = _labelled_segments(norm[body_start:], orig[body_start:])
    # in a text with problem or suggestion sections, unlabelled prose is background, not items
    sectioned = any(k in ("problem", "suggestion") for k, _, _ in segments)
    for kind, seg_norm, seg_orig in segments:
        if kind == "cause":
            continue
        if kind == "analysis" or (kind == "auto" and sectioned):
            analysis.append(seg_orig.strip())
            continue
        if kind == "problem":
            analysis.append(seg_orig.strip())
        pairs: list[tuple[str | None, str]] = list(_enumerated(seg_norm, seg_orig))
        if kind == "auto" and not pairs:
            # classify sentence by sentence, then merge short neighbours of the same kind
            labelled = [(_classify(x), x) for x in _sentences(seg_orig, merge=False)]
            for k, body in _merge_same(labelled):
                if k is None or _GENERIC_RE.search(matching_form(body)):
                    continue
                target = suggestions if k == "suggestion" else problems
                target.extend(_items(k[0], [(None, body)], seen))
            continue
        if not pairs:
            pairs = [(None, x) for x in _sentences(seg_orig)]
        for ordinal, body in pairs:
            k = _classify(body) if kind == "auto" else kind
            if k is None:
                continue
            target = suggestions if k == "suggestion" else problems
            target.extend(_items(k[0], [(ordinal, body)], seen))
    if cause is None and problems == [] and suggestions == [] and orig.strip():
        cause = _short(orig[body_start:] or orig)
    return ProposalDocument(
        id=content_id(orig, prefix="prop-") if given is None else content_id(given, orig, prefix="prop-"),
        title=title,
        cause=cause,
        problems=tuple(problems),
        suggestions=tuple(suggestions),
        text=orig,
        analysis="\n".join(a for a in analysis if a) or None,
    )


def _labelled_segments(norm: str, orig: str) -> list[tuple[str, str, str]]:
    """:func:`_segments` of each part between the section labels (调研情况：, 具体建议：…) of a form."""
    marks = list(_SECTION_LABEL_RE.finditer(norm))
    if not marks:
        return _segments(norm, orig)
    out: list[tuple[str, str, str]] = []
    if marks[0].start() > 0:
        out.extend(_segments(norm[: marks[0].start()], orig[: marks[0].start()]))
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(norm)
        kind = SECTION_LABELS[m.group(1)]
        for k, n, o in _segments(norm[m.end() : end], orig[m.end() : end]):
            out.append((kind if k == "auto" else k, n, o))
    return out


_HEAD_STRIP_RE = re.compile(rf"^(?:[{CN_NUM}]{{1,2}}、|（[{CN_NUM}]{{1,2}}）|\d{{1,2}}[.、]|[【〔])\s*")
_HEAD_PROBLEM_RE = re.compile(r"问题|现状|原因|不足|困难|情况|背景|分析")
_HEAD_SUGGEST_RE = re.compile(r"建议|对策|措施|办法|意见|思路|举措|路径")
_HEAD_CAUSE_RE = re.compile(r"^(?:案\s*由|标\s*题|题\s*目|提案人|领衔人|附议人|联系人|提出人)")
_INLINE_SUGGEST_RE = re.compile(
    r"(?:为此|因此|对此|据此|综上)?[，]?\s*(?:特|现)?(?:提出|提|建议如下|如下建议)[^。\n]{0,10}建议[：]|(?<![\u4e00-\u9fff])建议[：]|建议如下[：]?|(?<=[。！])建议(?=[\u4e00-\u9fff])"
)


def _segments(norm: str, orig: str) -> list[tuple[str, str, str]]:
    """Cut the text into ``(kind, norm, orig)`` parts: problem, suggestion, cause or auto (no heading)."""
    out: list[tuple[str, str, str]] = []
    kind = "auto"
    pos = 0
    seg_start = 0
    for line in norm.split("\n"):
        end = pos + len(line)
        head = _HEAD_STRIP_RE.sub("", line.strip()).rstrip("：:〕】 ")
        new_kind = None
        if _HEAD_CAUSE_RE.match(line.strip()):
            new_kind = "cause"
        elif 0 < len(head) <= 24 and "。" not in head:
            if _HEAD_SUGGEST_RE.search(head):
                new_kind = "suggestion"
            elif _HEAD_PROBLEM_RE.search(head):
                new_kind = "problem"
        if new_kind is not None:
            if pos > seg_start:
                out.append((kind, norm[seg_start:pos], orig[seg_start:pos]))
            kind = new_kind
            # a labelled line "建议：加强…" keeps its content
            colon = max(line.find("："), line.find(":"))
            seg_start = pos + colon + 1 if new_kind != "cause" and 0 <= colon < len(line) - 1 else end
            if new_kind == "cause":
                out.append(("cause", norm[pos:end], orig[pos:end]))
            pos = end + 1
            continue
        m = _INLINE_SUGGEST_RE.search(line)
        if m and kind in ("auto", "problem"):
            cut = pos + m.start()
            if cut > seg_start:
                out.append((kind if kind != "auto" else "auto", norm[seg_start:cut], orig[seg_start:cut]))
            kind = "suggestion"
            seg_start = pos + m.end()
        pos = end + 1
    if len(norm) > seg_start:
        out.append((kind, norm[seg_start:], orig[seg_start:]))
    return [(k, n, o) for k, n, o in out if n.strip()]


_GENERIC_RE = re.compile(
    r"^(?:希望|请|恳请|望)?(?:有关|相关)?(?:部门|领导|政府)?(?:重视|关注|解决|处理|调查|回复|核实)[。！!]*$|^谢谢|^感谢"
)


def _classify(body: str) -> str | None:
    nb = matching_form(body)
    if _SUGGEST_WORDS.search(nb) and re.search(
        r"建议|希望|请求|恳请|要求|呼吁|应|尽快|能否|是否可以|加强|加快|加大", nb
    ):
        return "suggestion"
    if _PROBLEM_WORDS.search(nb):
        return "problem"
    return None


def _merge_same(labelled: list[tuple[str | None, str]]) -> list[tuple[str | None, str]]:
    """Join a short sentence to its neighbour of the same kind so that items reach MIN_ITEM characters."""
    out: list[tuple[str | None, str]] = []
    for k, text in labelled:
        short = out and (len(out[-1][1]) < MIN_ITEM or len(text) < MIN_ITEM)
        if short and out[-1][0] == k and len(out[-1][1]) + len(text) <= MAX_ITEM:
            out[-1] = (k, out[-1][1] + text)
            continue
        out.append((k, text))
    return out


def _sentences(text: str, merge: bool = True) -> list[str]:
    """Sentences (long ones cut at commas), merged to at least MIN_ITEM characters unless ``merge`` is False."""
    out: list[str] = []
    buf = ""
    pieces: list[str] = []
    for s in _SENT_RE.findall(text):
        s = s.strip()
        while len(s) > MAX_ITEM:
            cut = s.rfind("，", MIN_ITEM, MAX_ITEM)
            cut = cut if cut > 0 else MAX_ITEM
            pieces.append(s[: cut + 1])
            s = s[cut + 1 :].strip()
        if s:
            pieces.append(s)
    if not merge:
        return pieces
    for s in pieces:
        buf += s
        if len(buf) >= MIN_ITEM:
            out.append(buf)
            buf = ""
    if buf:
        if out and len(buf) < MIN_ITEM:
            out[-1] += buf
        else:
            out.append(buf)
    return out
