"""Strip what carries no content from government replies before they are embedded or indexed.

Replies to citizens' messages and to deputies' proposals wrap their substance in formulas: a salutation
naming the writer (``网友“UU008…”您好！``, ``尊敬的…代表：``), an acknowledgement (``您的留言已收悉。现将有关
情况答复如下：``), a thanks or closing formula (``感谢您对我们工作的关心``, ``欢迎继续监督``), contact lines
(``联系人``, ``联系电话：0731-…``), a signature and a date. Retrieval on raw replies partly rewards matching
this boilerplate, so :func:`clean_for_index` removes it from the text that is *indexed*; the index keeps the
original text in its record.

The patterns are written for this library (no corpus text is copied). Everything here is a pure function.

Example:
    >>> clean_for_index("网友“UU0081234”您好！您的留言已收悉。现将有关情况回复如下：该路段已增设信号灯。"
    ...                 "感谢您对我们工作的支持！2018年9月1日")
    '该路段已增设信号灯。'
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["MIN_CONTENT_CHARS", "clean_for_index", "clean_many", "normalize_whitespace"]

# --- whitespace and escapes --------------------------------------------------------------------------
_EXCEL_CR = re.compile(r"_x000[dD]_")
# An ASCII "?" in these replies is nearly always a lost NBSP or full-width space; so is a stray ASCII quote.
_LOST_CHARS = re.compile(r"[?]+|^\s*\"|\"\s*$")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2002\u2003\u2009\u200b\u3000]+")
_NEWLINES = re.compile(r"\s*\n\s*")

# --- anywhere in the text -------------------------------------------------------------------------------
# Pseudonymised user ids (“UU0081234”) and masked personal data (*****, xx).
_USER_ID = re.compile(r"[“\"「]?\s*UU\d{3,}\s*[”\"」]?")
_MASKED = re.compile(r"\*{3,}|[xX×]{2,}(?![a-zA-Z])")
# A contact clause: label, optional colon, numbers (masked or not). Removed with its brackets.
_CONTACT_PERSON = re.compile(r"[（(]?\s*联系人\s*[:：为是]?\s*[^\s，,。；;:：()（）]{1,8}\s*[)）]?")
_CONTACT_CLAUSE = re.compile(
    r"[（(]?\s*(?:联系人|联系电话|联系方式|咨询电话|办公电话|举报电话|监督电话|服务热线|咨询热线|热线电话|热线|电话|手机|传真|邮箱)"
    r"\s*[:：为是]?\s*(?:[\d\-—－–~、，,/\s()（）]{5,}|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+)\s*[)）]?"
)
# A bare phone number: 0731-84001234, 0000-00000000, 13800001234, (0731)8400123.
_PHONE = re.compile(
    r"(?<![\dA-Za-z])(?:[（(]?0\d{2,3}[)）]?\s*[-—－–]?\s*)?\d{7,8}(?!\d)|(?<!\d)1[3-9]\d{9}(?!\d)|0{3,4}-0{4,}"
)

# --- the opening ----------------------------------------------------------------------------------------
_SENT_END = "。！!？?；;"
# A salutation up to 您好/你好 within the first characters: 网友“UU008”您好！ / 尊敬的网友：您好，
# Thanks or apologies at the start: 首先感谢您对我们工作的关注！ / 给您带来的不便，深表歉意。
_LEAD_THANKS = re.compile(
    r"^(?:首先|非常|衷心|十分)?\s*(?:我们)?\s*(?:非常|衷心)?(?:感谢|谢谢)[^。！!？?]{0,50}[。！!？?]\s*"
)
_HELLO = re.compile(r"^[^。！!？?]{0,30}?(?:您好|你好|大家好)\s*[！!。，,：:；;、]*\s*")
# A salutation ending with a colon: 尊敬的王某代表： / 网友： / UU008网友： / 广大网友：
_ADDRESS = re.compile(
    r"^(?:尊敬的|亲爱的|广大)?[^。！!？?，,：:\s]{0,20}?"
    r"(?:网友|网民|市民|朋友|同志|先生|女士|代表|委员|用户|同学|家长|老师|群众)(?:们)?\s*[：:，,]\s*"
)
# An agency heading its reply: ××局回复： / 答复：
_AGENCY_SAYS = re.compile(r"^[^。！!？?，,：:]{0,30}?(?:回复|答复|回函|复函)\s*[：:]\s*")
# Acknowledgement sentences: the reply has been received / forwarded / is answered as follows.
_ACK_WORDS = re.compile(
    r"收悉|获悉|阅悉|已收到|收到(?:您|你|网友|网民|该|此|来信|留言|反映)|来信|留言|如下|高度重视|已转|转交|交办|"
    r"调查核处|核处|答复|回复|反馈如下|认真研究|研究办理"
)
_ACK_MAX = 160  # an acknowledgement longer than this is content
_FIRST_SENTENCE = re.compile(r"^(.*?(?:(?:如下|以下)\s*(?:回复|答复)?\s*[：:;；。，,]?|[。！!？?；;：:]|$))")
_ACK_ENDING = re.compile(
    r"(?:(?:如下|以下)\s*(?:回复|答复)?|深表歉意|表示歉意|收悉|获悉|阅悉|调查处理|调查核处|核查处理|研究办理)\s*[：:;；。，,！!]?\s*$"
)
_ACK_CLAUSE_WORDS = re.compile(
    _ACK_WORDS.pattern + r"|反映的|反映了|关于(?:您|你)|(?:您|你)(?:所)?(?:反映|提出|咨询|来信)"
)
_CLAUSE_SPLIT = re.compile(r"(?<=[，,])")
_GENERIC = re.compile(
    r"^(?:您|你|网友|上述|以上|有关|相关|所|此|该)*(?:反映|提出|咨询)?(?:的)?(?:相关|有关)?$"
)
_PLATFORM = re.compile(r"问政|平台|信箱|热线|网站|栏目|留言板")
_QUOTED = re.compile(r"[“\"《「]([^”\"》」]{4,60})[”\"》」]")
# A problem restated inside an acknowledgement: 你反映的……问题 / 关于……的建议
_RESTATED = re.compile(
    r"(?:反映|提出|咨询|提交|提)(?:了)?(?:的)?([^的，,。；;“”\"《》][^，,。；;“”\"《》]{3,60}?)(?:的)?(?:问题|情况|事项|建议|诉求)|"
    r"关于([^，,。；;“”\"《》]{4,60}?)(?:的)?(?:问题|建议|提案|议案|情况|留言|来信|咨询|诉求)"
)
_DATE = (
    r"(?:\d{2,4}\s*[年./\-]\s*\d{1,2}\s*[月./\-]\s*\d{1,2}\s*[日号]?|\d{4}\s*年\s*\d{1,2}\s*月|"
    r"[〇一二三四五六七八九零○ｏoО]{4}年[一二三四五六七八九十]{1,2}月[一二三四五六七八九十]{1,3}日)"
)
_LEAD_DATE = re.compile(r"^\s*" + _DATE + r"\s*[，,。:：]?\s*")

# --- the closing ----------------------------------------------------------------------------------------
_TAIL_DATE = re.compile(r"[\s?？,，]*(?:" + _DATE + r"|\d{1,2}月\d{1,2}日)[\s?？.。]*$")
_TAIL_JUNK = re.compile(r"[\s?？、，,；;:：\-—]+$")
_CLOSING_WORDS = re.compile(
    r"^(?:\s*(?:再次|最后|同时|此外)?[，,]?\s*)(?:感谢|谢谢|多谢|欢迎|敬请|恳请|请您|请你|祝您|祝你|特此|此复|专此|以上|"
    r"如有|如您|如你|如果您|如果你|若您|若你|如对|若对|如需|若有|如还|如仍|给您|给你|对您|对你|再次感谢|衷心感谢)"
)
_CLOSING_ANY = re.compile(
    r"感谢您|感谢你|谢谢您|谢谢你|感谢网友|感谢广大|欢迎(?:您|你|继续|广大)|敬请谅解|请谅解|表示歉意|深表歉意|理解和支持|理解与支持|"
    r"支持与理解|关心和支持|关心与支持|关注和支持|关注与支持|监督和支持|监督与支持|支持、理解与监督|特此回复|特此答复|此复|"
    r"谅解|身体健康|工作顺利|生活愉快|家庭幸福|万事如意|新年快乐|生活如意|事事顺心|祝好|拨打|致电|来电咨询|咨询了解|详询"
)
_CLOSING_MAX = 90  # a closing sentence longer than this is kept (it probably carries content)
_INNER_THANKS = re.compile(
    r"[，,]\s*(?:再次|同时)?(?:(?:感谢|谢谢)(?:您|你|网友|广大|各位|大家|社会各界)|欢迎(?:您|你|继续|广大))[^。！!？?]*[。！!？?]?\s*$"
)
_ORG_SUFFIX = re.compile(
    r"(?:局|委|办|办公室|政府|大队|支队|中队|中心|公司|街道|街道办事处|镇|乡|院|所|处|科|室|部|会|站|队|厅|集团|管委会|分局|学校)$"
)
#: Below this many characters of content, a reply is treated as formulas only and cleaned lightly.
MIN_CONTENT_CHARS = 12
_SENTENCE_SPLIT = re.compile(r"(?<=[。！!？?；;\n ])")


def normalize_whitespace(text: str) -> str:
    """Remove Excel ``_x000D_`` escapes and collapse runs of spaces (NBSP, full-width) and newlines.

    Line breaks are kept as single ``\\n`` between non-empty lines.
    """
    t = _EXCEL_CR.sub("\n", text)
    t = _LOST_CHARS.sub(" ", t)
    t = _SPACES.sub(" ", t)
    t = _NEWLINES.sub("\n", t)
    return t.strip()


def _strip_opening(t: str) -> str:
    kept_quotes: list[str] = []
    for _ in range(8):
        before = t
        t = t.lstrip(" \n，,。:：！!、；;)）？")
        t = _LEAD_DATE.sub("", t, count=1)
        t = _HELLO.sub("", t, count=1)
        t = _ADDRESS.sub("", t, count=1)
        t = _AGENCY_SAYS.sub("", t, count=1)
        t = _LEAD_THANKS.sub("", t, count=1)
        m = _FIRST_SENTENCE.match(t)
        if m is not None and m.group(1):
            sentence = m.group(1)
            if len(sentence) <= _ACK_MAX and _ACK_WORDS.search(sentence):
                if _ACK_ENDING.search(sentence):
                    removed = sentence
                else:
                    # strip only the leading clauses that acknowledge; the rest of the sentence is content
                    removed = ""
                    for clause in _CLAUSE_SPLIT.split(sentence):
                        if not _ACK_CLAUSE_WORDS.search(clause):
                            break
                        removed += clause
                # the quoted title of the message or proposal is content: keep it
                quotes = [q for q in _QUOTED.findall(removed) if not q.startswith("UU")]
                if not quotes:
                    quotes = [(a or b).removeprefix("关于") for a, b in _RESTATED.findall(removed)]
                kept_quotes.extend(q for q in quotes if not _PLATFORM.search(q) and not _GENERIC.match(q))
                t = t[len(removed) :]
        if t == before:
            break
    if kept_quotes:
        t = "；".join(kept_quotes) + "。" + t
    return t


def _is_closing_sentence(s: str) -> bool:
    core = s.strip()
    if not core:
        return True
    if len(core) > _CLOSING_MAX:
        return False
    return bool(_CLOSING_WORDS.match(core) or _CLOSING_ANY.search(core))


def _is_signature(s: str) -> bool:
    core = s.strip(" \n，,。")
    if not core:
        return True
    if any(ch in core for ch in "。！!？?；;，,：:、（）()“”《》"):
        return False
    return len(core) <= 40 and bool(_ORG_SUFFIX.search(core))


def _strip_closing(t: str) -> str:
    for _ in range(12):
        before = t
        t = _TAIL_DATE.sub("", t)
        t = _TAIL_JUNK.sub("", t)
        # the last line may be a signature without sentence punctuation
        head, sep, last_line = t.rpartition("\n")
        if sep and _is_signature(last_line):
            t = head
            continue
        parts = [p for p in _SENTENCE_SPLIT.split(t) if p]
        if not parts:
            break
        last = parts[-1]
        if _is_closing_sentence(last) or (_is_signature(last) and len(parts) > 1):
            t = "".join(parts[:-1])
        else:
            m = _INNER_THANKS.search(last)
            if m is not None and len(last) - m.start() <= _CLOSING_MAX:
                t = "".join(parts[:-1]) + last[: m.start()] + "。"
        if t == before:
            break
    return t


def clean_for_index(text: str) -> str:
    """Return the content of a reply without salutation, ids, formulas, contacts, signature and date.

    What is removed: Excel escapes and padding; user ids (``UU008…``) and masked data (``*****``); contact
    clauses and phone numbers; at the start, salutations (``网友…您好！``, ``尊敬的…代表：``, ``××局回复：``)
    and acknowledgement sentences (``来信收悉``, ``现将有关情况答复如下：``, ``已转××调查处理。``) while a
    quoted message or proposal title inside them is kept; at the end, dates, signatures (a short line
    ending in an agency suffix) and thanks or closing sentences (``感谢您对…的关心``, ``欢迎继续监督``,
    ``如有疑问请致电…``) up to 90 characters. Body text is never rewritten. A reply that is nothing but
    formulas (under :data:`MIN_CONTENT_CHARS` characters left) is cleaned lightly instead (ids, phone
    numbers, salutation and date only), because its forwarding note (``已转××镇核查``) is all it says.

    Args:
        text: one reply (or any answer text).

    Returns:
        The cleaned text (may be empty).

    Raises:
        TypeError: ``text`` is not a str.

    Example:
        >>> clean_for_index("尊敬的王某代表：您提出的建议收悉，现答复如下：我局将加强监管。联系人：李某，电话：0578-1234567")
        '我局将加强监管。'
    """
    if not isinstance(text, str):
        raise TypeError(f"clean_for_index() expects a str, got {type(text).__name__}")
    full = _clean_full(text)
    if len(full) >= MIN_CONTENT_CHARS:
        return full
    return _clean_light(text)


def _clean_light(text: str) -> str:
    """Ids, masks, phone numbers, the salutation and a trailing date only (for formula-only replies)."""
    t = normalize_whitespace(text)
    t = _PHONE.sub("", t)
    t = _USER_ID.sub("", t)
    t = _MASKED.sub("", t)
    t = _HELLO.sub("", t, count=1)
    t = _ADDRESS.sub("", t, count=1)
    t = _TAIL_DATE.sub("", t)
    return t.strip(" \n，,；;：:、")


def _clean_full(text: str) -> str:
    t = normalize_whitespace(text)
    t = _CONTACT_PERSON.sub("", t)
    t = _CONTACT_CLAUSE.sub("", t)
    t = _PHONE.sub("", t)
    t = _strip_opening(t)
    t = _strip_closing(t)
    t = _USER_ID.sub("", t)
    t = _MASKED.sub("", t)
    # contact lines may be followed by a signature; tidy again after removals
    t = _strip_closing(t)
    t = re.sub(r"[ ]{2,}", " ", t)
    t = re.sub(r"\n{2,}", "\n", t)
    return t.strip(" \n，,；;：:、")


def clean_many(texts: Sequence[str]) -> list[str]:
    """Apply :func:`clean_for_index` to each text.

    Raises:
        TypeError: ``texts`` is a bare str.
    """
    if isinstance(texts, (str, bytes)):
        raise TypeError("clean_many() expects a list of texts, got a single str; wrap it: clean_many([text])")
    return [clean_for_index(t) for t in texts]
