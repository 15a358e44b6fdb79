"""The body of a reply: paragraphs, their roles, sections 一、, problems （一）, and measures 一是/1./（1）/①.

Everything here works on *spans* of the cleaned text: patterns run on the matching form (same length), the
returned texts are cut from the original.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass, field

from govnlp.parsing.vocabulary import (
    ACK_RE,
    CIRCLED,
    CLOSING_START,
    CN_NUM,
    CN_YEAR_DIGITS,
    DATE_AR,
    DATE_CN,
    DATE_ONLY_RE,
    ENUM_START,
    SIGNATURE_SUFFIX,
    TRAILING_DATE_RE,
    YEAR,
    cn_to_int,
)

__all__ = [
    "CN_NUM",
    "PROBLEM_SECTION_RE",
    "Block",
    "MeasureSpan",
    "Para",
    "assign_roles",
    "cn_to_int",
    "find_measures",
    "problem_number",
    "problem_text",
    "split_paragraphs",
]

# ---------------------------------------------------------------- paragraph splitting

# whitespace inside a line that separates two paragraphs
# what may follow a whitespace that separates two paragraphs (matched at the position after the space)
_AFTER_WS_RE = re.compile(rf"{ENUM_START}|{CLOSING_START}|{DATE_AR}|{DATE_CN}")
_SENT_END = set("。！？；：!?")
_TITLE_ENDS = {"答复", "复函", "的函", "意见", "回复"}
_AFTER_WS_FIRST = set(CN_NUM + "0123456789（" + CIRCLED + "联感衷再谢最此特抄附")
# a 一、 heading run into the previous sentence: "…。二、…" (the sentence end opens the pattern, so the regex
# engine skips ahead to the few sentence ends instead of trying every 一 of the text)
_INLINE_L1_RE = re.compile(rf"[。：！；]([{CN_NUM}]{{1,3}})、")
_SALUTATION_PREFIX_RE = re.compile(
    r"^(?:尊敬的)?(?:(?:网友|市民|群众|同志|先生|女士|UU\d+)[^：。！？，]{0,24}?|[^：。！？，]{1,30}?(?:网友|代表|委员|同志|先生|女士|[”\"]))："
    r"|^(?:网友)?“(?:UU)?[^”。，]{1,30}”(?![：:，！\s]|您好|你好)"
)


def _space_runs(seg: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each run of spaces (lines hold no other whitespace after cleaning)."""
    out = []
    i = seg.find(" ")
    n = len(seg)
    while i >= 0:
        j = i + 1
        while j < n and seg[j] == " ":
            j += 1
        out.append((i, j))
        i = seg.find(" ", j)
    return out


def _find_all(seg: str, token: str) -> list[int]:
    out = []
    i = seg.find(token)
    while i >= 0:
        out.append(i)
        i = seg.find(token, i + 1)
    return out


_SPACE_RE = re.compile(r"\s+")
_HEADING_START_RE = re.compile(rf"^(?:[{CN_NUM}]{{1,3}}、|（[{CN_NUM}]{{1,3}}）)")
_HEAD_SENT_END_RE = re.compile(r"[。！？：]")
_HEADING_AT_RE = re.compile(rf"[{CN_NUM}]{{1,3}}、|（[{CN_NUM}]{{1,3}}）")  # _HEADING_START_RE at a position


@dataclass
class Para:
    """A paragraph span with its analysis (internal; becomes :class:`govnlp.documents.Paragraph`)."""

    start: int
    end: int
    role: str = "body"
    section: str | None = None
    problem: str | None = None
    heading_level: int = 0  # 1: 一、 section heading, 2: （一） heading
    measure_ids: list[str] = field(default_factory=list)


def _split_line(norm: str, start: int, end: int) -> list[tuple[int, int]]:
    seg = norm[start:end]
    cuts = {0, len(seg)}
    spaces = _space_runs(seg)
    depth_book = depth_quote = 0
    last = 0
    track_book, track_quote = "《" in seg, "“" in seg
    for a, b in spaces:
        if track_book or track_quote:
            piece = seg[last:a]
            last = a
            if track_book:
                depth_book += piece.count("《") - piece.count("》")
            if track_quote:
                depth_quote += piece.count("“") - piece.count("”")
            if depth_book > 0 or depth_quote > 0:
                continue  # never split inside 《…》 or “…”
        if a >= 2 and seg[a - 2 : a] in _TITLE_ENDS and a <= 80:
            cuts.add(a)  # "…第094号建议的答复 张凤娥等代表："
            cuts.add(b)
            continue
        if seg[a - 1 : a] == "：" and a >= 2 and seg[a - 2].isdigit() and seg[b : b + 1].isdigit():
            continue  # a time, "22: 00"
        if (a > 0 and seg[a - 1] in _SENT_END) or (
            b < len(seg) and seg[b] in _AFTER_WS_FIRST and _AFTER_WS_RE.match(seg, b)
        ):
            cuts.add(a)
            cuts.add(b)
    for tok in ("您好", "你好", "如下："):
        for i in _find_all(seg, tok):
            j = i + len(tok)
            if tok != "如下：":
                if j >= len(seg) or seg[j] not in "！：，。":
                    continue
                j += 1
            if j < len(seg) and not seg[j].isspace():
                cuts.add(j)
    for tok in ("感谢", "谢谢", "此复", "特此"):
        for i in _find_all(seg, tok):
            if tok == "感谢" and i >= 2 and seg[i - 2 : i] in ("衷心", "再次"):
                i -= 2
            elif tok == "感谢" and seg[i + 2 : i + 3] not in ("您", "你"):
                continue
            if tok == "特此" and seg[i + 2 : i + 4] not in ("函复", "答复", "回复"):
                continue
            if i > 0 and seg[i - 1] in "。！":
                cuts.add(i)
    m0 = _SALUTATION_PREFIX_RE.match(seg)
    if m0 and m0.end() < len(seg):
        cuts.add(m0.end())
    if "、" in seg:
        for m in _INLINE_L1_RE.finditer(seg):
            cuts.add(m.start(1))
    if "日" in seg[-3:]:
        md = TRAILING_DATE_RE.search(seg, max(0, len(seg) - 20))
        if (
            md
            and md.start() > 0
            and not seg[md.start() - 1].isspace()
            and seg[md.start() - 1] not in "于至到在前后止（"
        ):
            cuts.add(md.start())
    # a heading followed by its body after a space: "一、完善机制，增强合力 优化法治化…"
    if spaces and ("、" in seg or "（" in seg):
        ordered_cuts = sorted(cuts)
        heads = {c for c in ordered_cuts if _HEADING_AT_RE.match(seg, c)}
        if heads:
            for sa, sb in spaces:
                prev_cut = ordered_cuts[bisect.bisect_right(ordered_cuts, sa) - 1]
                if (
                    prev_cut in heads
                    and sa - prev_cut <= 45
                    and not _HEAD_SENT_END_RE.search(seg, prev_cut, sa - 1)
                ):
                    cuts.add(sa)
                    cuts.add(sb)
    ordered = sorted(cuts)
    spans = []
    for a, b in itertools.pairwise(ordered):
        s, e = start + a, start + b
        while s < e and norm[s].isspace():
            s += 1
        while e > s and norm[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append((s, e))
    # a long heading paragraph: "一、关于幼儿园的问题。经核实…" -> heading + body
    out: list[tuple[int, int]] = []
    for s, e in spans:
        piece = norm[s:e]
        if len(piece) > 50 and _HEADING_START_RE.match(piece):
            me = _HEAD_SENT_END_RE.search(piece, 0, 50)
            if me and me.end() < len(piece) and piece[me.end() :].strip():
                cut = s + me.end()
                out.append((s, cut))
                rest = cut
                while rest < e and norm[rest].isspace():
                    rest += 1
                out.append((rest, e))
                continue
        out.append((s, e))
    return out


def split_paragraphs(norm: str) -> list[tuple[int, int]]:
    """Split the matching-form text into paragraph spans ``(start, end)``.

    Lines are paragraphs; a line is cut further where a scraped page ran paragraphs together: at
    whitespace after a sentence end, before an enumerator (一、 （一） 一是 1. （1） ①) or a closing
    formula (感谢…, 联系人), after 答复如下：, after a salutation 您好！, and before a trailing date.
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in norm.split("\n"):
        end = pos + len(line)
        if line.strip():
            spans.extend(_split_line(norm, pos, end))
        pos = end + 1
    return spans


# ---------------------------------------------------------------- roles

_SALUTATION_RE = re.compile(
    r"^(?:尊敬的)?[^。！？，]{1,60}?(?:委员|代表|同志|先生|女士|网友|会|党|组|团|室|局|委|办|公司|[”\"]|们|等)?\s*(?:您好|你好)?[：！!，]\s*(?:您好|你好)?[！!：，]?$"
    r"|^(?:尊敬的)?[^。！？]{0,40}?(?:您好|你好)[！!：，。]?|^(?:网友)?“[^”]{1,30}”$"
)
_SALUTATION_STRONG_RE = re.compile(
    r"(?:委员|代表|同志|先生|女士|网友|您好|你好|会|党派|团|局|委|厅|办|政府|办公室|中心|街道|办事处|公司|们|[”\"]|UU\d+)\s*[：！，]?$"
    r"|^尊敬的|您好|你好|^网友"
)
_NOT_SALUTATION_RE = re.compile(
    r"^(?:日期|时间|来源|标题|题目|事由|案由|主办|协办|会办|承办|代表姓名|新编号|编号|办理|领衔|附件|联系|类别|签发|领导署名)"
)
_APPENDIX_RE = re.compile(
    r"^附\s*[：:]|^附件\s*[\d一二三四五六七八九十]*\s*[：:]?\s*(?:原|代表|委员|建议|提案|议案|[《“])"
)
_CONTACT_RE = re.compile(
    r"联\s*系\s*人|联系电话|联系方式|联系单位|联系地址|邮政编码|邮\s*编[：:]|电\s*话[：:]"
)
SIGNATURE_RE = re.compile(
    rf"^([\u4e00-\u9fff（）]{{2,40}}?{SIGNATURE_SUFFIX}(?:（[\u4e00-\u9fff]{{2,20}}）)?)(?:（(?:盖章|印章|章)）)?\s*"
    rf"(?=$|{YEAR}\s*年|[{CN_YEAR_DIGITS}]{{4}}\s*年|{YEAR}[-./])"
)


# a salutation line whose colon was lost: a proposer (…代表, …委员) or a party body (农工党某市委员会)
_BARE_SALUTATION_RE = re.compile(
    r"^(?:尊敬的)?[^，。：；！？\s]{1,40}?(?:代表|委员|同志|先生|女士|网友)(?:们)?$"
    r"|^[^，。：；！？\s]{0,10}(?:民革|民盟|民建|民进|农工|致公|九三|台盟|工商联)[^，。：；！？\s]{0,16}(?:委员会|市委会|委会|支部)$"
)


# CLOSING_RE cut in two (the same test, about 3x faster on a paragraph): its ``^`` alternatives, tried at
# the start only, and the two that end the text, which open with a word the regex engine can skip ahead to
# (``CLOSING_RE.search`` tried every ``^`` alternative at every position of the paragraph)
_CLOSING_AT_START_RE = re.compile(
    r"(?:最后|再次|衷心|非常|诚挚|真诚)?[，,]?\s*(?:再次|衷心|真诚)?(?:感谢|谢谢|欢迎)"
    r"|(?:此复|特此|专此)|(?:抄\s*送|抄\s*报|送|抄\s*发)[：:]|附件|（此件|（此文件|（本件"
    r"|以上(?:意见|答复|情况|办理意见)|(?:领导署名|签发人|签发|审核|核稿人|经办人)[：:]|公开(?:属性|方式|类型)"
    r"|(?:主动公开|依申请公开|不予公开)"
)
_CLOSING_AT_END_RE = re.compile(
    r"(?:继续|一如既往|多提|今后).{0,20}(?:关心|关注|支持|监督|意见|建议)[！!。]?$|供参考[。！]?$"
)
_PUBLICATION_NOTE_RE = re.compile(r"^[（(]?(?:此件|此文件|本件)?(?:公开发布|主动公开|不予公开|依申请公开)")


def _is_closing(text: str) -> bool:
    if DATE_ONLY_RE.match(text):
        return True
    if len(text) <= 120 and (_CLOSING_AT_START_RE.match(text) or _CLOSING_AT_END_RE.search(text)):
        return True  # CLOSING_RE.search(text)
    if len(text) <= 60 and SIGNATURE_RE.match(text) and "：" not in text:
        return True
    return bool(len(text) <= 30 and _PUBLICATION_NOTE_RE.match(text))


_ASSIGN_ROLES_RE1 = re.compile(rf"^[{CN_NUM}]是")


def assign_roles(norm: str, paras: list[Para]) -> tuple[int, int, int, int]:
    """Give each paragraph its role; return (salutation, acknowledgement, first body, first closing) indexes.

    The salutation and acknowledgement are -1 when absent.

    Header lines before the salutation and the salutation/acknowledgement are ``opening``; the tail of thanks,
    signature, date, 抄送 is ``closing``; contact lines are ``contact``; the rest is ``body`` (headings are
    refined by :func:`find_structure`).
    """
    n = len(paras)
    texts = [norm[p.start : p.end] for p in paras]
    # salutation / acknowledgement in the first part of the document
    limit = max(6, min(n, 25))
    sal = -1
    for i in range(min(n, limit)):
        t = texts[i]
        if (
            len(t) <= 70
            and _SALUTATION_RE.match(t)
            and not _NOT_SALUTATION_RE.match(t)
            and _SALUTATION_STRONG_RE.search(t)
        ):
            sal = i
            break
    ack = -1
    for i in range(sal + 1 if sal >= 0 else 0, min(n, (sal + 4) if sal >= 0 else limit)):
        if ACK_RE.search(texts[i]) and not _HEADING_START_RE.match(texts[i]):
            ack = i
            break
        if sal >= 0 and i > sal + 1:
            break
    if sal >= 0 and ack >= 0 and ack < sal:
        ack = -1
    if sal < 0 and ack > 0 and _BARE_SALUTATION_RE.match(texts[ack - 1]):
        sal = ack - 1  # a salutation without its colon: "周某代表" / "农工党某市委员会" above 收悉
    if sal >= 0 or ack >= 0:
        body_start = max(sal, ack) + 1
        # the salutation may carry the acknowledgement inline ("网友您好！留言已收悉，现回复如下：")
    else:
        # no salutation: leading short header-like lines (title, 文号) are opening
        body_start = 0
        while body_start < min(n, 4):
            t = texts[body_start]
            if (
                len(t) <= 80
                and "。" not in t
                and not _HEADING_START_RE.match(t)
                and not _ASSIGN_ROLES_RE1.match(t)
            ):
                body_start += 1
            else:
                break
    # closing zone from the end; trailing appendix (附：…) and up to 3 short stray lines are skipped
    close_start = n
    for j in range(max(body_start, n - 12), n):
        if _APPENDIX_RE.match(texts[j]) and j > body_start:
            for k in range(j, n):
                paras[k].role = "closing"
            close_start = j
            break
    i = close_start - 1
    pending: list[int] = []
    while i > body_start or (i == body_start and i < n):
        t = texts[i]
        if _CONTACT_RE.search(t) and len(t) <= 150:
            paras[i].role = "contact"
        elif _is_closing(t):
            paras[i].role = "closing"
        elif len(pending) < 3 and len(t) <= 60 and i > body_start:
            pending.append(i)
            i -= 1
            continue
        else:
            break
        for k in pending:
            paras[k].role = "closing"
        pending = []
        close_start = i
        i -= 1
    for j in range(min(body_start, n)):
        paras[j].role = "contact" if _CONTACT_RE.search(texts[j]) and j > sal >= 0 else "opening"
    for j in range(body_start, close_start):
        t = texts[j]
        if _CONTACT_RE.match(t) and len(t) <= 100:
            paras[j].role = "contact"
        else:
            paras[j].role = "body"
    return sal, ack, body_start, close_start


# ---------------------------------------------------------------- sections and problems

_PROBLEM_RES = (
    re.compile(r"针对.{0,12}?[“\"‘]([^”\"’]{2,60})[”\"’].{0,8}?(?:的)?(?:问题|建议|情况|方面)?"),
    re.compile(r"关于.{0,12}?[“\"‘]([^”\"’]{2,60})[”\"’].{0,6}?(?:的)?(?:问题|建议|情况)"),
    re.compile(r"(?:针对|关于)(?:代表|委员|您|你)?(?:提出|反映|所提|提到)?的?(.{2,50}?)(?:的)?问题"),
    re.compile(r"^(.{2,50}?)(?:的)?问题$"),
)
_GENERIC_PROBLEM = re.compile(
    r"^(?:建议中反映|建议|提案|议案|代表|委员|您|你|所提|提出|反映|关于|相关|有关|以上|上述|几个|存在)+(?:的|中)?$"
)


#: a section heading that announces a list of problems (二、存在的主要问题 / 当前面临的困难 / 问题与不足)
PROBLEM_SECTION_RE = re.compile(
    r"(?:当前|目前|现阶段|工作中|实际工作中|推进中|[我全本][市县区省州镇乡])?(?:仍然?|还|依然)?(?:存在|面临|遇到)?的?"
    r"(?:主要|突出|几个|一些)?(?:问题|困难|不足|短板|难点|瓶颈)"
    r"(?:[和与及、](?:问题|困难|不足|短板|难点|挑战|瓶颈|原因))?"
)
_PROBLEM_ORD_RE = re.compile(rf"[{CN_NUM}]{{1,3}}|\d{{1,2}}|[{CIRCLED}]")


def problem_number(ordinal: str) -> str:
    """The number in an item's ordinal: ``一是`` -> ``一``, ``（2）`` -> ``2``, ``第三`` -> ``三``."""
    m = _PROBLEM_ORD_RE.search(ordinal)
    return m.group(0) if m else ordinal


PROBLEM_LEAD_RE = re.compile(r"^(?:(?:您|你|代表|委员)(?:们)?)?所?(?:反映|提出|提到|咨询|所提)的?")


def problem_text(heading: str) -> str | None:
    """The problem a heading restates, or None: ``针对"小微企业难以承受跨部门联合监管"的问题`` -> the quoted part.

    Example:
        >>> problem_text("针对“企业信用监管缺少柔性化”的问题")
        '企业信用监管缺少柔性化'
    """
    h = heading.strip().rstrip("。：；！")
    if len(h) > 70 or PROBLEM_SECTION_RE.fullmatch(h):
        return None
    for i, rx in enumerate(_PROBLEM_RES):
        m = rx.search(h)
        if m:
            text = m.group(1).strip(' “”"‘’')
            text = PROBLEM_LEAD_RE.sub("", text) or text
            if i >= 2 and (_GENERIC_PROBLEM.match(text) or len(text) < 2):
                continue
            return text
    return None


# ---------------------------------------------------------------- measures

# (pattern, trigger substring or None, characters allowed right before the marker or None for "start only")
_MEASURE_RES: dict[str, tuple[re.Pattern[str], str | None, str | None]] = {
    # each pattern opens with a single character class (not a repeat) so the regex engine can skip ahead
    "shi": (re.compile(rf"([{CN_NUM}][{CN_NUM}]{{0,2}})是"), "是", "。；：！？，\n "),
    "paren_cn": (re.compile(rf"（([{CN_NUM}]{{1,3}})）"), "（", None),
    "dot": (re.compile(r"([0-9][0-9]?)[.、](?:(?=(?:19|20)\d{2}年)|(?![\d%]))"), None, "。；：！？\n "),
    "paren_num": (re.compile(r"（(\d{1,2})）"), "（", "。；：！？，\n "),
    "circle": (re.compile(rf"([{CIRCLED}])"), None, "。；：！？，\n "),
    "di": (re.compile(rf"(第[{CN_NUM}]{{1,3}})[，、：]"), "第", "。；：！？\n "),
}
_MIN_LEN = {"shi": 1, "paren_cn": 1, "dot": 2, "paren_num": 2, "circle": 2, "di": 2}
_HAS_CIRCLED_RE = re.compile(f"[{CIRCLED}]")


@dataclass
class Block:
    """A run of body paragraphs under one heading (section and/or problem)."""

    section: str | None
    problem: str | None
    paras: list[int]


@dataclass
class MeasureSpan:
    """A measure found in a block: span, ordinal as written, and where it sits."""

    start: int
    end: int
    ordinal: str
    section: str | None
    problem: str | None
    paras: list[int]


def _marker_value(style: str, token: str) -> int | None:
    if style == "di":
        return cn_to_int(token[1:])
    return cn_to_int(token)


def find_measures(norm: str, paras: list[Para], block: Block) -> list[MeasureSpan]:
    """Find the measures of one block: the outermost enumeration style that forms a 1, 2, 3… sequence."""
    found: dict[str, list[tuple[int, int, str, int, bool]]] = {}
    for pi in block.paras:
        p = paras[pi]
        text = norm[p.start : p.end]
        for style, (rx, trigger, before) in _MEASURE_RES.items():
            if trigger is not None and trigger not in text:
                continue
            if style == "dot" and "." not in text and "、" not in text:
                continue
            if style == "circle" and not _HAS_CIRCLED_RE.search(text):
                continue
            if before is None:
                m0 = rx.match(text)
                ms = [m0] if m0 else []
            else:
                ms = [m for m in rx.finditer(text) if m.start() == 0 or text[m.start() - 1] in before]
            for m in ms:
                if style == "shi" and m.start() > 0 and text[m.start() - 1] in CN_NUM:
                    continue
                value = _marker_value(style, m.group(1))
                if value is None:
                    continue
                found.setdefault(style, []).append(
                    (p.start + m.start(), pi, text[m.start() : m.end()], value, m.start() == 0)
                )
    best: list[tuple[int, int, str, int, bool]] = []
    best_pos = None
    for style, items in found.items():
        seq: list[tuple[int, int, str, int, bool]] = []
        expected = 1
        for it in sorted(items):
            if it[3] == expected:
                seq.append(it)
                expected += 1
            elif it[3] == 1 and seq:
                seq.append(it)
                expected = 2
        if len(seq) < _MIN_LEN[style]:
            continue
        pos = seq[0][0]
        if best_pos is None or pos < best_pos:
            best, best_pos = seq, pos
    if not best:
        return []
    block_end_para = block.paras[-1]
    out: list[MeasureSpan] = []
    for k, (pos, pi, ordinal, _value, at_start) in enumerate(best):
        if k + 1 < len(best):
            nxt_pos, nxt_pi = best[k + 1][0], best[k + 1][1]
            end = paras[pi].end if not at_start and nxt_pi != pi else nxt_pos
            last_pi = nxt_pi if end == nxt_pos else pi
        else:
            if at_start:
                end = paras[block_end_para].end
                last_pi = block_end_para
            else:
                end = paras[pi].end
                last_pi = pi
        while end > pos and norm[end - 1] in " \n；，":
            end -= 1
        # block.paras is in text order: slice it (a scan of the whole block per measure was quadratic)
        lo, hi = bisect.bisect_left(block.paras, pi), bisect.bisect_right(block.paras, last_pi)
        covered = [j for j in block.paras[lo:hi] if paras[j].start < end]
        out.append(
            MeasureSpan(
                pos,
                end,
                (ordinal if ordinal[-1] in ".、" and ordinal[0].isdigit() else ordinal.rstrip("，、：. ")),
                block.section,
                block.problem,
                covered,
            )
        )
    return out


_TITLE_END_RE = re.compile(r"[。；！？：]")


def measure_title(text: str, ordinal: str) -> str:
    """The lead clause of a measure: after the ordinal, up to the first sentence end (about 60 chars at most).

    Example:
        >>> measure_title("一是高标准统筹执法检查计划。制定《年度计划》", "一是")
        '高标准统筹执法检查计划'
    """
    body = text[len(ordinal) :].lstrip("，、：.． ") if text.startswith(ordinal) else text
    m = _TITLE_END_RE.search(body)
    title = body[: m.start()] if m else body
    if len(title) > 60:
        comma = title.find("，", 4)
        title = title[:comma] if 0 < comma <= 60 else title[:60]
    return title.strip()
