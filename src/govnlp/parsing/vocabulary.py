"""The text conventions of Chinese government replies, in one place: numbers, numbering markers, dates,
agency names, page-metadata fields and the formulas that open and close a reply.

Every pattern here runs on the *matching form* of a text (:func:`govnlp.parsing.normalise.matching_form`:
simplified characters, full-width punctuation, ASCII digits, 〇 for the circle zero). The parsing modules
build their own patterns from these pieces; nothing here knows about paragraphs or documents.
"""

from __future__ import annotations

import re

__all__ = [
    "ACK_RE",
    "AGENCY_END_CHARS",
    "AGENCY_NAME",
    "AGENCY_NAME_SUFFIX",
    "AGENCY_OK_CHARS",
    "CIRCLED",
    "CLOSING_RE",
    "CLOSING_START",
    "CN_NUM",
    "CN_YEAR_DIGITS",
    "CONTACT_UNIT_SUFFIX",
    "DATE_AR",
    "DATE_CN",
    "DATE_NUMERIC",
    "DATE_ONLY_RE",
    "DATE_RES",
    "ENUM_START",
    "L1_RE",
    "L2_RE",
    "MAY_HOLD_DATE_RE",
    "OFFICE_SUFFIX",
    "PAGE_DATE_KEYS",
    "REPLIER_FIELD_KEYS",
    "SELF_AGENCY_RE",
    "SIGNATURE_SUFFIX",
    "SIGNING_DATE_KEYS",
    "SOURCE_AGENCY_KEYS",
    "SUPPORTED_SUFFIXES",
    "TRAILING_DATE_RE",
    "YEAR",
    "cn_to_int",
]

#: The file types :func:`govnlp.parse_reply` reads (by suffix).
SUPPORTED_SUFFIXES = (".txt", ".html", ".htm", ".docx", ".pdf")

# ---------------------------------------------------------------- numbers and numbering markers

#: Chinese numerals used in enumerators (一、 （二） 三是).
CN_NUM = "一二三四五六七八九十"
#: Circled numbers used as enumerators (①).
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_CN_DIGIT = {c: i for i, c in enumerate("零一二三四五六七八九")}
_CN_DIGIT["〇"] = 0


def cn_to_int(s: str) -> int | None:
    """``"十二"`` -> 12, ``"3"`` -> 3, ``"③"`` -> 3; None when not a number.

    Example:
        >>> cn_to_int("二十一")
        21
    """
    if not s:
        return None
    if len(s) == 1 and s in CIRCLED:
        return CIRCLED.index(s) + 1
    if s.isascii() and s.isdigit():
        return int(s)
    total, cur = 0, 0
    for ch in s:
        if ch in _CN_DIGIT:
            cur = _CN_DIGIT[ch]
        elif ch == "十":
            total += (cur or 1) * 10
            cur = 0
        elif ch == "百":
            total += (cur or 1) * 100
            cur = 0
        else:
            return None
    return total + cur


#: Where an enumerated item starts: 一、 （一） 一是 1. （1） ①.
ENUM_START = rf"(?:[{CN_NUM}]{{1,3}}[、，.]|（[{CN_NUM}]{{1,3}}）|[{CN_NUM}]{{1,3}}是|\d{{1,2}}[.、](?!\d)|（\d{{1,2}}）|[{CIRCLED}])"
#: A first-level heading ``一、…``: group 1 the numeral, group 2 the rest.
L1_RE = re.compile(rf"^([{CN_NUM}]{{1,3}})[、，.]\s*(.*)$", re.S)
#: A second-level heading ``（一）…``: group 1 the numeral, group 2 the rest.
L2_RE = re.compile(rf"^（([{CN_NUM}]{{1,3}})）\s*(.*)$", re.S)

# ---------------------------------------------------------------- dates

YEAR = r"(?:19|20)\d{2}"
#: Digits of a year written in Chinese numerals; scanned pages mix in ASCII zeros (二00七年).
CN_YEAR_DIGITS = "一二三四五六七八九〇零0"
#: 2024年7月11日
DATE_AR = rf"{YEAR}\s*年\s*\d{{1,2}}\s*月\s*\d{{1,2}}\s*日"
#: 二〇二四年七月十一日, 二00七年七月十七日
DATE_CN = rf"[{CN_YEAR_DIGITS}]{{4}}\s*年\s*[{CN_NUM}]{{1,3}}\s*月\s*[{CN_NUM}]{{1,3}}\s*日"
#: 2024-07-11, 2024.7.11, 2024/07/11
DATE_NUMERIC = rf"{YEAR}[-./]\d{{1,2}}[-./]\d{{1,2}}"
_DATE_COMPACT = rf"{YEAR}[01]\d[0-3]\d"

#: Date patterns with (year, month, day) groups, most explicit first.
DATE_RES = (
    re.compile(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"),
    re.compile(rf"([{CN_YEAR_DIGITS}]{{4}})\s*年\s*([{CN_NUM}]{{1,3}})\s*月\s*([{CN_NUM}]{{1,3}})\s*日"),
    re.compile(r"(?<!\d)((?:19|20)\d{2})[-./](\d{1,2})[-./](\d{1,2})(?!\d)"),
    re.compile(r"^\s*((?:19|20)\d{2})(\d{2})(\d{2})\s*$"),
)
#: A cheap test that a text may hold a date at all: two digits (2024-07-11) or 年 (一九九六年二月九日).
MAY_HOLD_DATE_RE = re.compile(r"[0-9年](?:(?<=[0-9])[0-9]|(?<=年))")
#: A paragraph that is only a date, possibly in brackets: （2024年7月11日）.
DATE_ONLY_RE = re.compile(rf"^[（(]?(?:{DATE_AR}|{DATE_CN}|{DATE_NUMERIC}|{_DATE_COMPACT})[）)]?$")
#: A date that ends a line (a signature run together with its date).
TRAILING_DATE_RE = re.compile(rf"(?:{DATE_AR}|{DATE_CN})\s*$")

# ---------------------------------------------------------------- agencies

#: Endings of a signing agency's name (the 落款), broad: 局, 委员会, 街道, 集团, 协会 …
SIGNATURE_SUFFIX = r"(?:局|委|厅|办|院|政府|委员会|办公室|中心|大队|支队|公司|部|处|所|站|馆|会|署|司|社|室|街道|办事处|乡|镇|集团|协会|团)"
#: Endings of an agency named in a title, a field or on a line of its own (narrower than a signature).
AGENCY_NAME_SUFFIX = r"(?:局|委|厅|办|院|政府|委员会|办公室|中心|大队|支队|公司|部|署|街道办事处|办事处|街道|分局|站|所|馆|镇|乡)"
#: A whole agency name (lazy): 江州市人力资源和社会保障局.
AGENCY_NAME = rf"[\u4e00-\u9fff（）]{{2,40}}?{AGENCY_NAME_SUFFIX}"
#: Endings of a government office (a department, not a party body or a company): 局, 委, 政府, 办公室 …
OFFICE_SUFFIX = r"(?:局|委|厅|办|政府|办公室|中心)"
#: Endings of a unit that runs a contact desk: an office or a (police) brigade.
CONTACT_UNIT_SUFFIX = rf"(?:{OFFICE_SUFFIX}|委员会|大队|支队)"
#: Last characters of an agency name, used to split 市财政局和市民政局 (but not 住房和城乡建设局).
AGENCY_END_CHARS = "局委厅办院府会室心队部处所站馆署司社团行"
#: Last characters accepted for an agency in a 主办/会办 clause (also towns and districts).
AGENCY_OK_CHARS = AGENCY_END_CHARS + "道镇乡区县市"
#: The replier speaking of itself: 我局, 本委.
SELF_AGENCY_RE = re.compile(r"(?:我|本)(?:局|委|厅|办|单位|部门|院|中心|府|室|公司)")

# ---------------------------------------------------------------- page metadata fields

#: Fields of the reply itself that state its date (a 答复日期 line of a reply form).
SIGNING_DATE_KEYS = ("答复日期", "签发日期", "办结日期", "办复日期")
#: Page dates, in order of preference for ``published``: they say when the page went up, not when the
#: reply was signed, and never become ``date``. 成文日期 (the date a gov.cn table says the document was
#: made) is also page metadata: it is the signing date on some pages and the date of upload on others, so
#: it is used for ``published`` only when no publication date is given, and kept in ``meta["page"]``.
PAGE_DATE_KEYS = (
    "发布日期",
    "发布时间",
    "公开日期",
    "公开时间",
    "公布日期",
    "发文日期",
    "生成日期",
    "更新日期",
    "更新时间",
    "日期",
    "时间",
    "成文日期",
    "成文时间",
    "生效日期",
    "施行日期",
)
#: Fields of a reply form that name the replier (strong, after the signature and the title).
REPLIER_FIELD_KEYS = ("承办单位", "答复单位", "办理单位", "办复单位")
#: Page metadata that names who put the page up: ``source_agency``, not the replier by itself.
SOURCE_AGENCY_KEYS = (
    "发布机构",
    "公开主体",
    "发文机关",
    "制定机关",
    "所属机构",
    "文章来源",
    "来源",
    "信息来源",
)

# ---------------------------------------------------------------- formulas

#: Words that start the closing part of a reply (contact, thanks, 此复, 抄送, 附件).
CLOSING_START = r"(?:联\s*系\s*人|联系电话|联系方式|联系单位|感谢|衷心感谢|再次感谢|谢谢|最后|此复|特此|抄\s*送|抄\s*报|附件|（此件|（此文件)"
#: The acknowledgement formula: 收悉, 现答复如下：…
ACK_RE = re.compile(
    r"收悉|如下[：:]|现(?:就|将|把)?.{0,16}(?:答复|回复|函复|复函|说明|报告)|首先.{0,8}感谢|已转.{0,6}(?:我|本)"
)
#: A closing paragraph: thanks, 此复/特此函复, 抄送, signer fields, publication notes.
CLOSING_RE = re.compile(
    r"^(?:最后|再次|衷心|非常|诚挚|真诚)?[，,]?\s*(?:再次|衷心|真诚)?(?:感谢|谢谢|欢迎)"
    r"|^(?:此复|特此|专此)|^(?:抄\s*送|抄\s*报|送|抄\s*发)[：:]|^附件|^（此件|^（此文件|^（本件"
    r"|(?:继续|一如既往|多提|今后).{0,20}(?:关心|关注|支持|监督|意见|建议)[！!。]?$"
    r"|^以上(?:意见|答复|情况|办理意见)|供参考[。！]?$|^(?:领导署名|签发人|签发|审核|核稿人|经办人)[：:]|^公开(?:属性|方式|类型)|^(?:主动公开|依申请公开|不予公开)"
)
