"""Header and footer fields of a reply: title, kind, assembly, session, numbers, agencies, date, class, contact.

All functions take matching-form text (simplified characters, full-width punctuation, ASCII digits) and
return values in that normalised form.
"""

from __future__ import annotations

import datetime as _dt
import re

from govnlp.documents import Contact
from govnlp.parsing.structure import SIGNATURE_RE
from govnlp.parsing.vocabulary import (
    AGENCY_END_CHARS,
    AGENCY_NAME,
    AGENCY_OK_CHARS,
    CN_NUM,
    CONTACT_UNIT_SUFFIX,
    DATE_AR,
    DATE_CN,
    DATE_NUMERIC,
    DATE_ONLY_RE,
    DATE_RES,
    MAY_HOLD_DATE_RE,
    OFFICE_SUFFIX,
    PAGE_DATE_KEYS,
    REPLIER_FIELD_KEYS,
    SIGNING_DATE_KEYS,
    SOURCE_AGENCY_KEYS,
    TRAILING_DATE_RE,
    YEAR,
    cn_to_int,
)

__all__ = [
    "find_addressee",
    "find_agencies",
    "find_assembly",
    "find_contact",
    "find_date",
    "find_document_number",
    "find_handling_class",
    "find_kind",
    "find_proposal_number",
    "find_proposal_title",
    "find_published",
    "find_replying_agency",
    "find_session",
    "find_source_agency",
    "find_title",
    "parse_date",
]

_NUMS = f"{CN_NUM}百零〇\\d"

# ---------------------------------------------------------------- title

_TITLE_WORD_RE = re.compile(
    r"答\s*复|复\s*函|回\s*复|办理意见|会办意见|协办意见|办理情况|办理结果|的函|建议办理单|提案办理单|办理单|办理报告|进展情况"
)
_TITLE_STRONG_RE = re.compile(r"答\s*复|复\s*函|的函|会办意见|协办意见|办理意见|回\s*复")
# a sentence, an acknowledgement, a cover letter, or a page's metadata row (发布日期 2021-07-02)
_TITLE_BAD_RE = re.compile(
    rf"[。！？]|收悉|如下：|^(?:关于)?(?:印发|转发)|索引号|公开目录|主题分类|发布(?:日期|时间|机构)|{DATE_NUMERIC}"
)


_FIND_TITLE_RE1 = re.compile(r"关于|对|第.{1,8}号|会议")
_FIND_TITLE_RE2 = re.compile(r"^(?:关于|对)")
_FIND_TITLE_RE3 = re.compile(r"《关于.+》|第.{1,8}号(?:建议|提案|议案)")


def find_title(lines: list[str]) -> str | None:
    """The reply's own title among the header lines (before the salutation).

    A title names the reply (…的答复, …的复函, …会办意见); a line cut before its last word is joined with the next
    (``…第6905号`` + ``建议的答复``). Without one, a header line naming the proposal (关于…的建议) is used.
    """
    cands: list[str] = []
    for i, line in enumerate(lines):
        t = line.strip()
        if (
            len(t) <= 120
            and not _TITLE_BAD_RE.search(t)
            and _TITLE_STRONG_RE.search(t)
            and _TITLE_HINT_RE.search(t)
        ):
            return _tidy_title(_with_agency_line(lines, i, t))
    for i, line in enumerate(lines):
        t = line.strip()
        if len(t) > 120 or _TITLE_BAD_RE.search(t):
            continue
        if _TITLE_WORD_RE.search(t) and _TITLE_HINT_RE.search(t):
            return _tidy_title(_with_agency_line(lines, i, t))
        if i + 1 < len(lines):
            nxt = lines[i + 1].strip()
            if len(nxt) <= 12 and _TITLE_WORD_RE.search(nxt) and _FIND_TITLE_RE1.search(t):
                return _tidy_title(t + nxt)
        if _FIND_TITLE_RE2.match(t) or _FIND_TITLE_RE3.search(t):
            cands.append(t)
    return _tidy_title(cands[0]) if cands else None


_TITLE_HINT_RE = re.compile(r"关于|对|第.{1,8}号|会议|建议|提案|议案")
_TITLE_OPEN_RE = re.compile(r"^(?:关于|对|就)")
_AGENCY_LINE_RE = re.compile(rf"^{AGENCY_NAME}$")


def _with_agency_line(lines: list[str], i: int, t: str) -> str:
    """A title split over two lines (``江州市人社局`` / ``对…提案的答复``) is joined: agency line + title."""
    if i > 0 and _TITLE_OPEN_RE.match(t):
        prev = lines[i - 1].strip()
        if _AGENCY_LINE_RE.match(prev) and len(prev) + len(t) <= 120:
            return prev + t
    return t


_TIDY_TITLE_RE1 = re.compile(r"^(?:标\s*题|题\s*目|名\s*称|信息名称|文件名称|内容概述|主\s*题)[：:\s]+")
_TIDY_TITLE_RE2 = re.compile(r"^〔[\u4e00-\u9fff]{2,8}〕\s*(?=关于|对)")
_TIDY_TITLE_RE3 = re.compile(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])(?=.{0,3}$)")
_TIDY_TITLE_RE4 = re.compile(r"答\s+复")
_TIDY_TITLE_RE5 = re.compile(r"\s*\.(?:pdf|docx?|html?)$")


def _tidy_title(t: str) -> str:
    t = _TIDY_TITLE_RE1.sub("", t)
    t = _TIDY_TITLE_RE2.sub("", t)  # a category tag: 〔人大建议〕关于…
    t = _TIDY_TITLE_RE3.sub("", t)
    t = _TIDY_TITLE_RE4.sub("答复", t)
    t = _TIDY_TITLE_RE5.sub("", t)
    return t.strip(" ：")


# ---------------------------------------------------------------- kind

_OTHER_RE = re.compile(r"(?:会办|协办|会签|参阅)意见|办理进展|进展情况|情况报告")
_TITLE_STRONG = (
    (re.compile(r"议案"), "议案答复"),
    (re.compile(r"政协|提案"), "提案答复"),
    (re.compile(r"人大"), "建议答复"),
    (re.compile(r"留言|网友|来信|信件|UU\d"), "留言答复"),
)
_TITLE_WEAK = (
    (re.compile(r"委员"), "提案答复"),
    (re.compile(r"建议|代表"), "建议答复"),
)
_SAL_KIND = (
    (re.compile(r"委员|政协|民革|民盟|民建|民进|农工|致公|九三|台盟|工商联|界别|小组"), "提案答复"),
    (re.compile(r"代表"), "建议答复"),
    (re.compile(r"网友|UU\d|您好|你好|市民|同志|先生|女士"), "留言答复"),
)
_AGENCY_SAL_RE = re.compile(rf"(?:{OFFICE_SUFFIX}|公司|街道|办事处)\s*[：:]?$")
_PARTY_RE = re.compile(
    r"政协|人大|工委|党|民革|民盟|民建|民进|农工|致公|九三|台盟|工商联|界别|小组|委员|代表"
)


_FIND_KIND_RE1 = re.compile(r"反映|咨询|投诉|诉求")


def find_kind(title: str | None, salutation: str | None, opening: str) -> str:
    """提案答复, 建议答复, 议案答复, 留言答复 or 其他.

    Signals in order: a 会办/协办 opinion or a progress report (其他); a reply addressed to another agency
    (其他); 议案/政协/提案/人大 in the title; the salutation (委员 -> 提案, 代表 -> 建议, 网友/您好 -> 留言);
    建议/代表 in the title; the acknowledgement (议案, 提案, 建议, 留言/来信/反映).
    """
    if title and _OTHER_RE.search(title):
        return "其他"
    if salutation and _AGENCY_SAL_RE.search(salutation.strip()) and not _PARTY_RE.search(salutation):
        return "其他"
    if title:
        for rx, kind in _TITLE_STRONG:
            if rx.search(title):
                return kind
    if opening and "议案" in opening and "建议" not in opening.replace("议案", ""):
        return "议案答复"
    if salutation:
        for rx, kind in _SAL_KIND:
            if rx.search(salutation):
                return kind
    if title:
        for rx, kind in _TITLE_WEAK:
            if rx.search(title):
                return kind
    if opening:
        for rx, kind in (*_TITLE_STRONG, *_TITLE_WEAK):
            if rx.search(opening):
                return kind
        if _FIND_KIND_RE1.search(opening):
            return "留言答复"
    return "其他"


# ---------------------------------------------------------------- assembly and session

_ASSEMBLY_RE = re.compile(
    rf"(全国|[省市州县区旗盟乡镇])?\s*(?:第?[{_NUMS}]{{1,4}}届)?\s*(全国)?(人民代表大会|人大|政协|政治协商会议)"
)
_SESSION_RE = re.compile(
    rf"(第?[{_NUMS}]{{1,4}}届)[^，。；\s《》]{{0,20}}?(第?[{_NUMS}]{{1,3}}次)(?:会议|全会|全体会议|大会)?"
)


_ASSEMBLY_HINT_RE = re.compile(r"人大|政协|人民代表大会|政治协商会议")


_FIND_ASSEMBLY_RE1 = re.compile(r"[\u4e00-\u9fff]{0,10}?([省市州县区旗])委员会")


def find_assembly(text: str) -> str | None:
    """Who raised the proposal: ``市政协``, ``县人大``, ``全国人大`` … (level + 人大/政协) or None.

    Example:
        >>> find_assembly("对县第十六届人民代表大会第四次会议第78号建议")
        '县人大'
    """
    if not _ASSEMBLY_HINT_RE.search(text):
        return None
    for m in _ASSEMBLY_RE.finditer(text):
        level = m.group(2) or m.group(1) or ""
        body = "政协" if m.group(3) in ("政协", "政治协商会议") else "人大"
        if m.group(3) == "政治协商会议" and not level:
            after = _FIND_ASSEMBLY_RE1.match(text[m.end() :])
            level = after.group(1) if after else ""
        if not level:
            # "七届人大" with the level further back: "安宁市七届人大" was caught above; "市政协" forms
            before = text[max(0, m.start() - 1) : m.start()]
            if before in "省市州县区旗":
                level = before
        return f"{level}{body}"
    return None


def find_session(text: str) -> str | None:
    """届次 as written, the organ's name left out: ``五届三次``, ``第十六届第四次``.

    Example:
        >>> find_session("市政协五届三次会议第14号提案")
        '五届三次'
    """
    if "届" not in text:
        return None
    m = _SESSION_RE.search(text)
    if not m:
        return None
    return m.group(1) + m.group(2)


# ---------------------------------------------------------------- numbers

_PNUM = r"([A-Za-z]{0,4}\d[\d\-]{0,9}|[A-Za-z]{1,4}-?\d{1,8})"
_PROPOSAL_NUMBER_RES = (
    re.compile(rf"(?:新编号|提案号|建议号|议案号|案号|编号|序号)\s*[：:]?\s*第?\s*{_PNUM}\s*号?"),
    re.compile(rf"第\s*{_PNUM}\s*号"),
    re.compile(rf"第\s*{_PNUM}\s*(?:件)?(?:提案|建议|议案|代表建议|政协提案)"),
    re.compile(rf"（\s*第?\s*{_PNUM}\s*号\s*）"),
    re.compile(rf"(?:提案|建议|议案)\s*{_PNUM}\s*号"),
    re.compile(rf"(?:会议|次)\s*{_PNUM}\s*号\s*(?:代表|委员)?(?:建议|提案|议案)"),  # …会议0919号建议
)


def find_proposal_number(title: str | None, head: str) -> str | None:
    """The proposal's number as written (``14``, ``0038``, ``2024087``, ``DH0271``), from the title first.

    Example:
        >>> find_proposal_number("关于对市政协五届三次会议第14号提案的答复", "")
        '14'
    """
    for text in (title or "", head):
        if not text:
            continue
        for rx in _PROPOSAL_NUMBER_RES:
            for m in rx.finditer(text):
                # not a document number 〔2024〕22号
                if "〕" in text[max(0, m.start() - 3) : m.start(1)]:
                    continue
                return m.group(1).rstrip("-")
    return None


_DOCNUM_RE = re.compile(
    r"([\u4e00-\u9fffA-Za-z]{1,16}?)\s*〔\s*((?:19|20)\d{2})\s*〕\s*([\u4e00-\u9fff]{0,3}?)\s*第?\s*"
    r"([A-Za-z]?\d{1,5}(?:-\d{1,4})?)?\s*号"
)
_DOCNUM_BAD_PREFIX = re.compile(r"^(?:根据|按照|依据|依照|参照|附件|文号|发文字号|字号|见|及|和|与|为|的|号)")
_NOT_DOCNUM_PREFIX = re.compile(r"^(?:委员|代表)?(?:提案|建议|议案)$")


def find_document_number(texts: list[str]) -> str | None:
    """The reply's own 文号 (brackets normalised to 〔〕): ``丽综执复〔2024〕22号``, ``厦市政园林〔2015〕函字71号``.

    ``texts`` are searched in order (metadata field, header lines, closing lines); a number cited after a
    document title (``《…》（…〔2019〕20号）``) or after 根据/按照 is someone else's document.
    """
    for text in texts:
        if "〔" not in text:
            continue  # the pattern needs the bracket; skip the (slow) scan
        for m in _DOCNUM_RE.finditer(text):
            prefix = m.group(1)
            while True:
                p2 = _DOCNUM_BAD_PREFIX.sub("", prefix)
                if p2 == prefix:
                    break
                prefix = p2
            if not prefix or _NOT_DOCNUM_PREFIX.match(prefix):
                continue
            before = text[max(0, m.start() - 3) : m.start()].replace(" ", "")
            if before.endswith(("《", "》（", "》")) or re.search(
                r"(?:根据|按照|依据|依照)[^，。]{0,30}$", text[: m.start()]
            ):
                continue
            if m.group(4) is None and not m.group(3):
                continue
            return f"{prefix}〔{m.group(2)}〕{m.group(3)}{m.group(4) or ''}号"
    return None


# ---------------------------------------------------------------- proposal title, addressee, agencies

_LABELED_TITLE_RE = re.compile(
    r"(?:题\s*目|标\s*题|事\s*由|案\s*由|提案名称|建议名称|建议题目|提案题目|内容)\s*[：:]\s*(\S.{2,80}?)\s*$",
    re.M,
)
_BOOK_RE = re.compile(r"《([^《》]{3,100})》")
_QUOTE_RE = re.compile(r"[“\"]((?:关于)?[^“”\"]{3,80}(?:建议|提案|议案|问题|意见))[”\"]")
_BARE_RE = re.compile(
    r"(?:提出的?|提交的?|所提|领衔的|关于)(关于[^，。；《》“”]{3,80}?(?:的)?(?:建议|提案|议案))(?:已)?(?:收悉|，|。|交|由|转|（)"
)
_NOT_PROPOSAL_TITLE = re.compile(
    r"(?:通知|方案|办法|规定|条例|法|意见|规划|计划|纲要|决定|细则|指南|标准|专报|报告|决议|公告|通报|函)$"
)


# the words that frame a proposal's title: 提出的《…》, 《…》收悉, 第12号《…》, 《…》的答复
_BOOK_LEAD_RE = re.compile(r"(?:提出的?|提交的?|所提|领衔的?|关于|第\s*\S{1,12}\s*号|对)$")
_BOOK_TAIL_RE = re.compile(r"^(?:已|业已)?(?:收悉|的?(?:答复|复函|办理)|（?(?:提案|建议|议案))")
# 关于“X”的提案, 提出的“X”: X is the title
_QUOTED_TOPIC_RES = (
    re.compile(r"[“\"]([^“”\"]{3,80})[”\"]的?(?:提案|建议|议案)"),
    re.compile(r"(?:提出|提交|所提)的?[“\"]([^“”\"]{3,80})[”\"]"),
    re.compile(r"(?:号|的)(?:代表)?(?:建议|提案|议案)[“\"]([^“”\"]{3,80})[”\"]"),
)
# 《关于…的建议（第24号建议）收悉: the closing 》 forgotten
_OPEN_BOOK_RE = re.compile(r"《([^《》\n]{3,100}?(?:建议|提案|议案))(?=（|已?收悉)")
_WRAPPED_RE = re.compile(r"[《“][^《》“”]*[》”]")


def _unwrap(text: str) -> str:
    """Join a 《…》 or “…” that a line break cut in two (a title split across lines)."""
    if "\n" not in text:
        return text
    return _WRAPPED_RE.sub(lambda m: m.group(0).replace("\n", ""), text)


_FIND_PROPOSAL_TITLE_RE1 = re.compile(r"(?:建议|提案|议案)$")
_FIND_PROPOSAL_TITLE_RE2 = re.compile(r"提案|建议|议案|号|提出|收悉")


def find_proposal_title(head: str, meta: dict[str, str], title: str | None = None) -> str | None:
    """The title of the proposal answered, from the reply's opening (and its title).

    In order: a labelled field (题目：…, 案由：…; not the reply's own 标题：…的答复); a 《…》 framed as the
    proposal (提出的《…》, 《…》收悉, 第N号《…》, 关于《…》的答复) or ending in 建议/提案/议案; a 《…的建议
    whose 》 was forgotten; the quoted topic of 关于“X”的提案 or 提出的“X” (X); a quoted title ending in
    建议/提案; a bare 提出的关于…的建议. A 《…》 or “…” split across lines is joined.
    """
    head = _unwrap(head)
    if title and title not in head:
        head = f"{title}\n{head}"
    for ml in _LABELED_TITLE_RE.finditer(head):
        if not _TITLE_STRONG_RE.search(ml.group(1)):  # 标题：…的答复 is the reply's own title
            return ml.group(1).strip('《》“”" ')
    best: tuple[int, str] | None = None
    for mb in _BOOK_RE.finditer(head):
        t = mb.group(1).strip()
        framed = bool(
            _BOOK_LEAD_RE.search(head[max(0, mb.start() - 14) : mb.start()])
            or _BOOK_TAIL_RE.match(head[mb.end() : mb.end() + 8])
        )
        proposal_like = bool(_FIND_PROPOSAL_TITLE_RE1.search(t))
        if _NOT_PROPOSAL_TITLE.search(t) and not proposal_like and not framed:
            continue
        score = 2 * proposal_like + t.startswith("关于") + 2 * framed
        ctx = head[max(0, mb.start() - 12) : mb.start()] + head[mb.end() : mb.end() + 12]
        if not framed and _FIND_PROPOSAL_TITLE_RE2.search(ctx):
            score += 2
        if best is None or score > best[0]:
            best = (score, t)
    if best is not None and best[0] >= 2:
        return best[1]
    m = _OPEN_BOOK_RE.search(head)
    if m:
        return m.group(1)
    for rx in _QUOTED_TOPIC_RES:
        m = rx.search(head)
        if m:
            return m.group(1).strip()
    m = _QUOTE_RE.search(head)
    if m:
        return m.group(1)
    m = _BARE_RE.search(head)
    if m:
        return m.group(1).replace("\n", "")
    return best[1] if best else None


_ADDRESSEE_RE = re.compile(r"^(?:尊敬的)?\s*(.+?)\s*(?:[：:，,！!]\s*)?(?:您好|你好)?[：:！!，,]?\s*$")


_FIND_ADDRESSEE_RE1 = re.compile(r"(?<=[！!：:])")
_FIND_ADDRESSEE_RE2 = re.compile(r"您好|你好")
_FIND_ADDRESSEE_RE3 = re.compile(r"\s*(?:您好|你好)[！!：:，,。]?$")
_FIND_ADDRESSEE_RE4 = re.compile(r"^尊敬的")


def find_addressee(salutation: str | None) -> str | None:
    """The proposer(s) from the salutation line, as written: ``民进市委会``, ``韩忠国等代表``, ``网友“UU008…”``."""
    if not salutation:
        return None
    s = salutation.strip()
    s = _FIND_ADDRESSEE_RE1.split(s, maxsplit=1)[0] if _FIND_ADDRESSEE_RE2.search(s) else s
    s = _FIND_ADDRESSEE_RE3.sub("", s).strip()
    m = _ADDRESSEE_RE.match(s)
    out = (m.group(1) if m else s).strip(" ：:，,！!")
    out = _FIND_ADDRESSEE_RE4.sub("", out).strip()
    return out or None


_LEAD_RES = (
    re.compile(r"主办(?:单位|部门)\s*(?:[：:]|为|是)\s*([^\s，。；：]{2,40})"),
    re.compile(r"(?:由|[，。；：、\s]|^)([^，。；：、\s《》（）]{2,30}?)(?:负责)?主办"),
)
_CO_RES = (
    re.compile(r"(?:会办|协办|配合|参办)(?:单位|部门)\s*[：:]\s*([^\s。；：]{2,120})"),
    re.compile(
        r"(?:^|[，。；：\s])([^，。；：\s《》]{2,120}?)(?:负责)?(?:会办|协办|参办|配合办理)(?![意单部])"
    ),
)
_CO_HINT_RE = re.compile(r"会办|协办|配合|参办")
_AGENCY_OK = re.compile(rf"[{AGENCY_OK_CHARS}]$")


# "该提案由…", "本建议已交由…", "您的提案由…": the words before the agency in "…由X主办"
_HANDLED_BY_RE = re.compile(
    r"^(?:[该本此这上]|您的?|你的?|(?:代表|委员)的?)?(?:件|份|个|条)?"
    r"(?:提案|建议|议案|意见|案|件|留言|来信|问题|事项)?(?:已|经研究|现|经)?(?:交|转|确定|明确|商定)?由"
)
# 和/及/与 join two agencies only when both sides are agencies: 住房和城乡建设局 is one
_JOIN_RE = re.compile(r"和|及|与")
_AGENCY_END_RE = re.compile(rf"[{AGENCY_END_CHARS}]$")


_CLEAN_AGENCY_RE1 = re.compile(r"^(?:由|为|是|并由|和|及|与|、)+")
_CLEAN_AGENCY_RE2 = re.compile(r"^.*?领办[，、]?")


def _clean_agency(a: str) -> str | None:
    a = _CLEAN_AGENCY_RE1.sub("", a.strip(" ，、"))
    if "领办" in a:
        a = _CLEAN_AGENCY_RE2.sub("", a)
    m = _HANDLED_BY_RE.match(a)
    if m:
        a = a[m.end() :]
    return a if 2 <= len(a) <= 40 and _AGENCY_OK.search(a) else None


_SPLIT_AGENCIES_RE1 = re.compile(r"[、，,]|以及")


def _split_agencies(text: str) -> list[str]:
    """``"县住房和城乡建设局、县财政局和县民政局"`` -> three names; 和/及/与 inside a name do not split it."""
    out: list[str] = []
    for part in _SPLIT_AGENCIES_RE1.split(text):
        last = 0
        for m in _JOIN_RE.finditer(part):
            # cut only after a complete name: 市财政局|和|市民政局, never 住房|和|城乡建设局
            if (
                m.start() - last >= 2
                and _AGENCY_END_RE.search(part, 0, m.start())
                and len(part) - m.end() >= 2
            ):
                out.append(part[last : m.start()])
                last = m.end()
        out.append(part[last:])
    return out


def find_agencies(head: str) -> tuple[str | None, tuple[str, ...]]:
    """主办 and 会办/协办 agencies named in the header or the opening (``由X主办，Y、Z会办``).

    The words before the agency (该提案由…, 本提案由…) are not part of it; 和/及/与 inside a name
    (住房和城乡建设局, 人力资源和社会保障局) do not split it.

    Example:
        >>> find_agencies("本提案由县农业农村局主办，县住房和城乡建设局、县生态环境分局协办。")
        ('县农业农村局', ('县住房和城乡建设局', '县生态环境分局'))
    """
    lead = None
    co: list[str] = []
    if "主办" not in head and not _CO_HINT_RE.search(head):
        return None, ()
    for rx in _LEAD_RES:
        m = rx.search(head)
        if m:
            lead = _clean_agency(m.group(1))
            if lead:
                break
    for rx in _CO_RES:
        m = rx.search(head)
        if m:
            for part in _split_agencies(m.group(1)):
                a = _clean_agency(part)
                if a and a != lead and a not in co:
                    co.append(a)
            if co:
                break
    return lead, tuple(co)


_TITLE_PREFIX_RE = re.compile(rf"^({AGENCY_NAME})\s*(?:关于|对|就|办理)")
_LONE_AGENCY_RE = re.compile(rf"^({AGENCY_NAME})$")
_CONTACT_US_RE = re.compile(rf"请(?:与|和|向)({AGENCY_NAME})(?:联系|反映)")
_YEAR_PREFIX_RE = re.compile(rf"^{YEAR}\s*年度?\s*")
_LABELED_AGENCY_RE = re.compile(
    rf"^(?:主办|承办|答复|办理|办复)(?:单位|部门|机关)\s*[：:]\s*({AGENCY_NAME})$"
)
_TITLE_SUFFIX_AGENCY_RE = re.compile(rf"(?:答复|复函|回复|的函)（({AGENCY_NAME})）$")
_GENERIC_OFFICE_RE = re.compile(r"^(?:[县区市]?(?:政府|人大|政协)办(?:公室)?|政府办公室)$|承办$")


_STRIP_PAREN_RE1 = re.compile(r"（[^（）]*）$")


def _strip_paren(v: str) -> str:
    return _STRIP_PAREN_RE1.sub("", v)


_FIND_REPLYING_AGENCY_RE1 = re.compile(r"^(?:抄|送|附件|联系|电话|地址)")
_FIND_REPLYING_AGENCY_RE2 = re.compile(r"(?:主办|承办|协办|会办)$")
_FIND_REPLYING_AGENCY_RE3 = re.compile(r"^(?:关于|对|就)")
_FIND_REPLYING_AGENCY_RE4 = re.compile(rf"{CONTACT_UNIT_SUFFIX}$")


def find_replying_agency(
    closing: list[str],
    title: str | None,
    meta: dict[str, str],
    contact: Contact | None = None,
    header: list[str] | None = None,
    tail: str = "",
) -> str | None:
    """Who signs the reply, from the strongest evidence to the weakest; None rather than the page's publisher.

    The signature line in the closing; the title's issuer (X关于…, also after a year: 2019年X对…), or a lone
    agency line above the title; the agency in brackets after the title (…的答复（水利局）); a
    承办单位/答复单位/主办单位：X line of the reply; "请与X联系" near the end; a 承办单位 field; the contact's
    unit. Page metadata (发布机构, 来源, 公开主体) alone is not the replier: see :func:`find_source_agency`.
    """
    header = header or []
    for line in reversed(closing):
        t = line.strip()
        if len(t) > 60 or _FIND_REPLYING_AGENCY_RE1.match(t):
            continue
        m = SIGNATURE_RE.match(t)
        if m and not _FIND_REPLYING_AGENCY_RE2.search(m.group(1)):
            return m.group(1)
    if title:
        m = _TITLE_PREFIX_RE.match(_YEAR_PREFIX_RE.sub("", title))
        if m:
            return m.group(1)
    for i, line in enumerate(header):
        m = _LONE_AGENCY_RE.match(line.strip())
        if m and i + 1 < len(header) and _FIND_REPLYING_AGENCY_RE3.match(header[i + 1].strip()):
            return m.group(1)
    if title:
        # "对…第3号建议的答复（水利局）"
        m = _TITLE_SUFFIX_AGENCY_RE.search(title)
        if m:
            return m.group(1)
    for line in [*header, *reversed(closing)]:
        # "承办单位：某区建设和管理委员会" in the reply (a whole line: not a site footer with 版权所有)
        m = _LABELED_AGENCY_RE.match(line.strip())
        if m and not _GENERIC_OFFICE_RE.search(m.group(1)):
            return m.group(1)
    for i, line in enumerate(header[:-1]):
        # a form with the field name on one line and the agency on the next: 承办单位 / 某县市场监督管理局
        m = _LONE_AGENCY_RE.match(header[i + 1].strip())
        if m and line.strip(" ：:") in REPLIER_FIELD_KEYS:
            return m.group(1)
    m = _CONTACT_US_RE.search(tail)
    if m:
        return m.group(1)
    for key in REPLIER_FIELD_KEYS:
        v = meta.get(key)
        if v and _agency_like(v) and not _GENERIC_OFFICE_RE.search(v):
            return v
    if contact and contact.department and _FIND_REPLYING_AGENCY_RE4.search(contact.department):
        return contact.department
    return None


def _agency_like(v: str) -> bool:
    return 2 <= len(v) <= 40 and bool(_AGENCY_OK.search(_strip_paren(v)))


_SOURCE_LINE_RE = re.compile(r"(?:^|\s)(?:发布机构|信息来源|文章来源|来源)\s*[：:]\s*([^\s：:]{2,40})")


def find_source_agency(meta: dict[str, str], lines: list[str]) -> str | None:
    """Who published the page: its 发布机构/公开主体/发文机关/制定机关/来源 field, or a ``来源：X`` in a header
    or footer line; only a name that ends like an agency (not 本站, not a newspaper without one)."""
    for key in SOURCE_AGENCY_KEYS:
        v = meta.get(key, "").strip()
        if v and _agency_like(v):
            return v
    for line in lines:
        if len(line) <= 120 and ("来源" in line or "发布机构" in line):
            m = _SOURCE_LINE_RE.search(line)
            if m and _agency_like(m.group(1)):
                return m.group(1)
    return None


# ---------------------------------------------------------------- date


def parse_date(text: str, last: bool = True) -> str | None:
    """The last (or first) valid date in ``text`` as ISO ``YYYY-MM-DD``; Arabic or Chinese numerals.

    Example:
        >>> parse_date("二〇二四年七月十一日")
        '2024-07-11'
    """
    found: list[tuple[int, str]] = []
    has_year, has_sep = "年" in text, "-" in text or "." in text or "/" in text
    # the patterns that can match at all: 年 for the written forms, a separator for 2024-07-11, 8 digits alone
    usable = (has_year, has_year, has_sep, len(text.strip()) == 8)
    for rx, use in zip(DATE_RES, usable, strict=True):
        if not use:
            continue
        for m in rx.finditer(text):
            y, mo, d = m.group(1), m.group(2), m.group(3)
            if not y.isdigit():
                y = "".join(str(cn_to_int(c) or 0) for c in y)
            try:
                iso = _dt.date(int(y), int(cn_to_int(mo) or 0), int(cn_to_int(d) or 0)).isoformat()
            except ValueError:
                continue
            found.append((m.start(), iso))
    if not found:
        return None
    found.sort()
    return found[-1][1] if last else found[0][1]


# a line that states when the page went up, not when the reply was signed
# (the words are only searched for when one of their first characters occurs, the forms when a colon does)
_PAGE_DATE_WORDS_RE = re.compile(
    r"(?:发布|更新|生成|生效|公开|公布|录入|上传|成文|修改|发文)(?:日期|时间|于)|发表|浏览|点击|访问|阅读|来源|字体|编辑"
)
_PAGE_DATE_FORM_RE = re.compile(r"^\W*(?:日期|时间)\s*[：:]|\d{1,2}\s*[：:]\s*\d{2}")


_PAGE_DATE_FIRST = frozenset("发更生公录上成修浏点访阅来字编")


def _is_page_date_line(line: str) -> bool:
    if not _PAGE_DATE_FIRST.isdisjoint(line) and _PAGE_DATE_WORDS_RE.search(line):
        return True
    return "：" in line and bool(_PAGE_DATE_FORM_RE.search(line))


# any labelled date (交办时间：…, 发布日期：…), a time of day, or the 版记's printing date (…2020年5月12日印发):
# not a 落款
_LABELLED_DATE_RE = re.compile(r"(?:时间|日期)\s*[：:]|\d{1,2}\s*[：:]\s*\d{2}|印发|印制")
_SIGNING_LABEL_RE = re.compile(r"^(?:答复|签发|办结|办复)(?:日期|时间)\s*[：:]")
_WRITTEN_DATE_RE = re.compile(rf"{DATE_AR}|{DATE_CN}")
_END_NUMERIC_DATE_RE = re.compile(rf"[。！!]\s*{DATE_NUMERIC}$")
_BRACKETED_DATE_RE = re.compile(rf"^[（(]\s*(?:{DATE_AR}|{DATE_CN})\s*[）)]$")


def _signing_date_in(line: str) -> str | None:
    """The date of a 落款 line: written out (2024年7月11日, 二〇二四年七月十一日) anywhere in a short line,
    or a numeric date (2024-7-11) alone or after a signature; never a labelled page date or a time of day."""
    if not MAY_HOLD_DATE_RE.search(line):
        return None
    if _SIGNING_LABEL_RE.match(line):
        return parse_date(line)
    if _is_page_date_line(line) or _LABELLED_DATE_RE.search(line):
        return None
    if _WRITTEN_DATE_RE.search(line) or DATE_ONLY_RE.match(line) or _END_NUMERIC_DATE_RE.search(line):
        return parse_date(line)
    m = SIGNATURE_RE.match(line)
    if m and DATE_ONLY_RE.match(line[m.end() :].strip()):
        return parse_date(line)
    return None


def find_date(
    closing: list[str],
    meta: dict[str, str],
    header: list[str],
    body: list[str] | None = None,
    last: list[str] | None = None,
) -> str | None:
    """The date of signing (the 落款), or None: never a page date.

    In order: the last signing date in the closing lines (after a signature, after 抄送, or a 答复日期 line);
    a 答复日期/签发日期 field; a date standing alone as the last such paragraph of the body (a closing the
    layout missed) or as the document's last paragraph (``last``: the last two paragraphs, the date alone
    or under a signature); a 答复时间：… line or a bracketed date under the title (（2024年7月11日）). Page dates (发布时间, 更新时间,
    生成日期, 成文日期 of a metadata table, a time of day) are left to :func:`find_published`.
    """
    for line in reversed(closing):
        if len(line) <= 60 or TRAILING_DATE_RE.search(line):
            d = _signing_date_in(line.strip())
            if d:
                return d
    for key in SIGNING_DATE_KEYS:
        if key in meta:
            d = parse_date(meta[key])
            if d:
                return d
    for line in reversed(body or []):
        t = line.strip()
        if DATE_ONLY_RE.match(t) and _WRITTEN_DATE_RE.search(t):
            return parse_date(t)
    if (
        last
        and DATE_ONLY_RE.match(last[-1].strip())
        and (len(last) == 1 or _WRITTEN_DATE_RE.search(last[-1]) or SIGNATURE_RE.match(last[-2].strip()))
    ):
        return parse_date(last[-1])
    for line in header:
        t = line.strip()
        if _BRACKETED_DATE_RE.match(t) or (_SIGNING_LABEL_RE.match(t) and len(t) <= 40):
            return parse_date(t)
    return None


def find_published(lines: list[str], meta: dict[str, str], signed: str | None = None) -> str | None:
    """The page's publication date (ISO), from its metadata: a 发布日期/发布时间/公开日期/更新时间/生成日期
    field (成文日期 only when none is given), else a header or footer line that carries a page date
    (``2021-07-02 09:23 来源：…``, ``更新时间：…``), else a bare numeric date line that is not the signing date.
    """
    for key in PAGE_DATE_KEYS:
        if key in meta:
            d = parse_date(meta[key], last=False)
            if d:
                return d
    lines = [x for x in lines if MAY_HOLD_DATE_RE.search(x)]
    for line in lines:
        if len(line) <= 80 and _is_page_date_line(line) and not _SIGNING_LABEL_RE.match(line):
            d = parse_date(line, last=False)
            if d:
                return d
    for line in lines:
        if DATE_ONLY_RE.match(line.strip()) and not _WRITTEN_DATE_RE.search(line):
            d = parse_date(line)
            if d and d != signed:
                return d
    return None


# ---------------------------------------------------------------- handling class

_CLASS_RES = (
    re.compile(
        r"(?:办理结果类别|办理结果|办复类别|答复类别|办理类别|结果类别|答复类型|办理类型|类别|类型|分类)\s*[：:为]?\s*[“\"（]?([ABC])(?![A-Za-z\d])"
    ),
    re.compile(r"(?<![A-Za-z\d])([ABC])\s*类(?!别|型|地区|企业|地|项目|区)"),
    re.compile(r"[（〔]\s*([ABC])\s*[）〕]"),
)
_CLASS_WORDS = (
    (re.compile(r"(?:办理结果|办复类别|类别)\s*[：:]\s*(?:已经?解决|解决或采纳|已采纳|采纳)"), "A"),
    (re.compile(r"(?:办理结果|办复类别|类别)\s*[：:]\s*(?:正在解决|列入计划|计划解决|逐步解决)"), "B"),
    (
        re.compile(
            r"(?:办理结果|办复类别|类别)\s*[：:]\s*(?:留作参考|因条件限制|暂不能解决|无法解决|不能解决)"
        ),
        "C",
    ),
)


def find_handling_class(texts: list[str]) -> str | None:
    """A, B or C (办理结果类别) when stated: ``类别：A类``, ``办理结果：B``, ``…35号B类``, ``（C类）``."""
    for text in texts:
        # every pattern of _CLASS_RES holds a letter A, B or C; every pattern of _CLASS_WORDS 结果 or 类别
        if "A" in text or "B" in text or "C" in text:
            for rx in _CLASS_RES:
                m = rx.search(text)
                if m:
                    return m.group(1)
        if "结果" in text or "类别" in text:
            for rx, cls in _CLASS_WORDS:
                if rx.search(text):
                    return cls
    return None


# ---------------------------------------------------------------- contact

_NAME_RE = re.compile(
    r"联\s*系\s*人\s*(?:姓名)?\s*(?:及(?:联系)?电话|及联系方式)?\s*[：:]?\s*([\u4e00-\u9fff]{2,4}?)(?=[\s，,、；;：:（(）)]|联系|电话|手机|$|\d)"
)
_PHONE_RE = re.compile(
    r"(?:联系电话|电\s*话|手\s*机|联系方式|联系人[^：:]{0,6})?\s*[：:]?\s*(1[3-9]\d{9}|(?:[（(]?0\d{2,3}[）)]?\s*[-－]?\s*)?\d{7,8}(?:[-－转]\d{1,5})?|\d{3,4}-\d{7,8})(?!\d)"
)
_DEPT_LABEL_RE = re.compile(
    r"(?:联系单位|单\s*位|处\s*室|承办处室|承办单位|联系部门|科\s*室)\s*[：:]\s*([^\s，。；：]{2,40})"
)
_DEPT_RE = re.compile(
    r"([\u4e00-\u9fff（）]{2,30}(?:处|科|室|局|中心|办|股|站|队|所|委|厅|院|部|会))(?=\s|$|，|联系|电话)"
)


def _balance_parens(v: str) -> str:
    """Drop closing brackets that close nothing: ``市住建局物业管理处）`` (from a wrapped contact line)."""
    while v and v[-1] in "）)" and v.count("（") + v.count("(") < v.count("）") + v.count(")"):
        v = v[:-1]
    return v


# find_contact's tests, by what they decide
_HAS_CONTACT_RE = re.compile(r"联\s*系|电\s*话|手\s*机")  # the lines hold contact details at all
_LABEL_AS_NAME_RE = re.compile(r"电话|方式|单位|地址")  # a "name" that is the next label (联系人：电话…)
_YEAR_RE = re.compile(r"(?:19|20)\d{2}$")  # a "phone" that is a year
_PHONE_LABEL_RE = re.compile(r"联系|电\s*话|手\s*机")  # a label within 30 characters before a phone
_SPACES_RE = re.compile(r"\s+")
_LABEL_AS_DEPT_RE = re.compile(r"联系|电话|邮编|地址")  # a "department" that is a label


def find_contact(lines: list[str]) -> Contact | None:
    """``{name, phone, department}`` from the contact lines (联系人：何伟慧 市…处 联系电话：2781260)."""
    text = " ".join(lines)
    if not _HAS_CONTACT_RE.search(text):
        return None
    name = phone = dept = None
    m = _NAME_RE.search(text)
    if m and not _LABEL_AS_NAME_RE.match(m.group(1)):
        name = m.group(1)
    for m in _PHONE_RE.finditer(text):
        cand = m.group(1)
        if _YEAR_RE.match(cand):
            continue
        if _PHONE_LABEL_RE.search(text[max(0, m.start() - 30) : m.end()]):
            phone = _SPACES_RE.sub("", cand)
            break
    m = _DEPT_LABEL_RE.search(text)
    if m:
        dept = _balance_parens(m.group(1))
    else:
        # a unit named between the name and the phone, or after them
        rest = text
        if name:
            rest = text[text.find(name) + len(name) :]
        for m in _DEPT_RE.finditer(rest):
            cand = m.group(1)
            if not _LABEL_AS_DEPT_RE.search(cand):
                dept = cand
                break
    if not (name or phone or dept):
        return None
    return Contact(name=name, phone=phone, department=dept)
