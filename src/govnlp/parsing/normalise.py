"""Text clean-up: web debris, odd spaces, Excel escapes, pinyin residue, and a matching form.

Two layers:

* :func:`clean_text` changes the text itself (removes what is never content: ``_x000D_``, NBSP, zero-width
  characters, stray HTML tags, table pipes, pinyin residue such as ``關(guān)于``, footnote digits glued to
  the next sentence) and sorts lines into content, page metadata (索引号, 发布机构, 文号, 发布日期 …) and
  debris (breadcrumbs, 打印本页/关闭窗口, footers).
* :func:`matching_form` maps the cleaned text character by character (same length, so offsets carry over)
  to simplified characters, full-width punctuation, ASCII digits/letters and 〔〕 brackets. All patterns run
  on the matching form; the texts govnlp returns are cut from the cleaned original.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from pathlib import Path

from govnlp.parsing.vocabulary import AGENCY_NAME

__all__ = ["CleanText", "clean_text", "matching_form", "to_simplified"]

_SPACE_TABLE: dict[int, str | None] = {
    ord(c): " " for c in "\u00a0\u3000\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\t\x0b\x0c"
}
_SPACE_TABLE.update({ord(c): None for c in "\u200b\u200c\u200d\u2060\ufeff\u00ad"})

_ODD_SPACE_RE = re.compile("[" + "".join(chr(k) for k in _SPACE_TABLE) + "]")
_TAG_RE = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]{0,300})?/?>")
_ENTITY_RE = re.compile(r"&(?:#\d{1,6}|#x[0-9a-fA-F]{1,5}|[a-zA-Z]{2,8});")
_TONE = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
# pinyin that a conversion left after a character: 關(guān)于, 現（xiàn）在
_PINYIN_RE = re.compile(rf"(?<=[\u4e00-\u9fff])[(（](?=[a-zü]*[{_TONE}])[a-zü{_TONE}]{{1,7}}[)）]")
_TONE_CHAR_RE = re.compile(f"[{_TONE}]")  # rare in Chinese text: a fast first test
# an odd space or a tone mark: one scan of the text tells that neither needs work (the common case)
_ODD_OR_TONE_RE = re.compile("[" + "".join(chr(k) for k in _SPACE_TABLE) + _TONE + "]")
_PINYIN_HINT_RE = re.compile(rf"[(（](?=[a-zü]*[{_TONE}])")
_PIPES_RE = re.compile(r"\|[| ]*")
_SPACES_RE = re.compile(r"[ ]{2,}")
# a footnote number glued between a sentence end and the next sentence: "更安全。135市经信局"
_FOOTNOTE_HINT_RE = re.compile(r"[。！？；]\d")
_FOOTNOTE_RE = re.compile(
    r"([。！？；])\d{1,3}(?=[\u4e00-\u9fff])"
    r"(?![年月日号个项件次人名家户万亿元千百十条处所座台辆期批类种位届季度天小时分秒米公里亩吨倍岁家余多％%])"
)

_DEBRIS_WORDS = (
    "打印本页",
    "关闭窗口",
    "打印此页",
    "关闭本页",
    "【打印】",
    "【关闭】",
    "[打印]",
    "[关闭]",
    "版权所有",
    "ICP备",
    "ICP证",
    "公网安备",
    "网站标识码",
    "技术支持：",
    "技术支持:",
    "网站地图",
    "分享到",
    "扫一扫",
    "当前位置",
    "当前的位置",
    "您的位置",
    "所在位置",
    "上一篇",
    "下一篇",
    "返回顶部",
    "加入收藏",
    "设为首页",
    "下载文档",
    "人工客服",
    "仅部分预览",
    "二维码",
    "微信扫",
    "扫码",
    "无障碍",
    "本站",
    "打开微信",
    "手机版",
    "政务微博",
)
_DEBRIS_LINE_RE = re.compile(
    r"^(?:[•·●\-\s]*)(?:打印|关闭|首页|导航|展开|收起|菜单|更多|搜索|English|繁体|简体|无障碍浏览|相关推荐|相关阅读|相关文章|"
    r"相关链接|信息公开|政务公开|政务服务|互动交流|办事服务|网站首页|返回首页|返回|走进\S{1,6}|\S{2,20}(?:主办|承办)|分享|收藏|字体|字号|大|中|小|返回|详细查看|登录|注册|"
    r"登录\s*\|?\s*注册|\[?\s*打印\s*\]?\s*\[?\s*关闭\s*\]?|【\s*字体.*|字体[：:].*|文字大小.*|"
    r"浏览(?:量|次数)?[：:]\s*\d*|点击(?:数|量)?[：:]?\s*\d*|访问量.*|\d+|[>＞»›\-]+)$"
)
_DEBRIS_WORDS_RE = re.compile("|".join(re.escape(w) for w in _DEBRIS_WORDS))
_BREADCRUMB_RE = re.compile(r"首页\s*(?:[>＞»›]|&gt;)|(?:[>＞»›]\s*[\u4e00-\u9fff]{2,10}\s*){2,}")
_FOOTER_HOST_RE = re.compile(
    r"^主办(?:单位)?\s*[：:].*(?:人民政府|政府办公室|承办|版权|备案|联系方式|地址|网站)"
)

#: Keys of the metadata tables web pages carry above a reply.
META_KEYS = (
    "索引号",
    "发布机构",
    "发文机关",
    "发文字号",
    "文号",
    "发布日期",
    "成文日期",
    "成文时间",
    "发布时间",
    "答复日期",
    "生成日期",
    "日期",
    "时间",
    "来源",
    "信息来源",
    "公开方式",
    "公开范围",
    "公开属性",
    "组配分类",
    "主题分类",
    "体裁分类",
    "分类",
    "时效性",
    "有效性",
    "公文时效",
    "载体类型",
    "公开类型",
    "索取号",
    "所属类别",
    "浏览量",
    "浏览次数",
    "责任编辑",
    "文字大小",
    "关键词",
    "主题词",
    "信息名称",
    "制定机关",
    "公布日期",
    "施行日期",
    "作者",
    "编辑",
    "字号",
    "公开主体",
    "所属机构",
    "公开日期",
    "公开时间",
    "更新日期",
    "更新时间",
    "生效日期",
    "失效日期",
    "废止日期",
    "发文日期",
    "签发日期",
    "办结日期",
    "办复日期",
)
_META_KEY_SET = frozenset(META_KEYS)
# the characters a metadata line can start with (matching form): a key's first character, a bullet or bracket
_META_FIRST_CHARS = frozenset({k[0] for k in META_KEYS} | set("•·●-【〔[ "))
_QMARK_RUN_RE = re.compile(r"(?m)^[ \t]*\?{2,}[ \t]*")
_META_KEY_ALT = "|".join(sorted(META_KEYS, key=len, reverse=True))
_META_LINE_RE = re.compile(rf"^[•·●\-\s]*[【\[〔]?(?:{_META_KEY_ALT})[】\]〕]?\s*[：:]")
_META_ONLY_RE = re.compile(rf"^[•·●\-\s]*[【\[〔]?(?:{_META_KEY_ALT})[】\]〕]?\s*[：:]?\s*$")
_META_PAIR_RE = re.compile(
    rf"[【\[〔]?({_META_KEY_ALT})[】\]〕]?\s*[：:]\s*(.*?)\s*(?=(?:[【\[〔]?(?:{_META_KEY_ALT})[】\]〕]?\s*[：:])|$)"
)


# a value on the line under its key that is an agency name (委员会 holds 委员, which otherwise says content)
_AGENCY_VALUE_RE = re.compile(rf"^{AGENCY_NAME}$")
_NOT_META_VALUE_RE = re.compile(r"关于|答复|会议|建议|提案|代表|委员|复函|。|：")


def _build_table() -> dict[int, str]:
    table: dict[int, str] = {}
    path = Path(str(__import__("opencc").__file__)).parent / "dictionary" / "TSCharacters.txt"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:  # pragma: no cover - opencc always ships its dictionary
        lines = []
    for line in lines:
        key, _, values = line.partition("\t")
        first = values.split(" ")[0] if values else ""
        if len(key) == 1 and len(first) == 1 and first != key:
            table[ord(key)] = first
    return table


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[int, str], dict[int, str]]:
    ts = _build_table()
    match = dict(ts)
    pairs = {
        ",": "，",
        ":": "：",
        ";": "；",
        "(": "（",
        ")": "）",
        "!": "！",
        "?": "？",
        "．": ".",
        "[": "〔",
        "]": "〕",
        "【": "〔",
        "】": "〕",
        "﹝": "〔",
        "﹞": "〕",
        "［": "〔",
        "］": "〕",
        "＂": "“",
        "〝": "“",
        "〞": "”",
        "「": "“",
        "」": "”",
        "『": "“",
        "』": "”",
        "﹐": "，",
        "﹕": "：",
        "﹔": "；",
        "﹙": "（",
        "﹚": "）",
        "－": "-",
        "—": "-",
        "–": "-",
        "～": "~",
        "／": "/",
        "％": "%",
        "○": "〇",
        "Ｏ": "〇",
        "℃": "℃",
    }
    for a, b in pairs.items():
        match[ord(a)] = b
    for i in range(10):
        match[0xFF10 + i] = str(i)
    for i in range(26):
        match[0xFF21 + i] = chr(65 + i)
        match[0xFF41 + i] = chr(97 + i)
    return ts, match


# punctuation that most scraped replies carry: replaced directly; the rest is looked for with one search
_COMMON_PAIRS = ",:;()!?—"


@lru_cache(maxsize=1)
def _fast() -> tuple[
    re.Pattern[str], list[str], list[tuple[str, str]], re.Pattern[str], list[tuple[str, str]]
]:
    ts, match = _tables()
    trad = "".join(chr(k) for k in ts if k < 0x10000)
    trad_re = re.compile("[" + re.escape(trad) + "]")
    table = [chr(i) for i in range(0x10000)]
    for k, v in match.items():
        if k < 0x10000:
            table[k] = v
    pairs = [(chr(k), v) for k, v in match.items() if k not in ts]
    common = [(a, b) for a, b in pairs if a in _COMMON_PAIRS]
    rare = [(a, b) for a, b in pairs if a not in _COMMON_PAIRS]
    rare_re = re.compile("[" + re.escape("".join(a for a, _ in rare)) + "]")
    return trad_re, table, common, rare_re, rare


# 覆 is a simplified character too (覆盖): only the reply words written with it in traditional are mapped
_FU_RE = re.compile(r"[答函回批]\s*覆|覆\s*[函信]")


def matching_form(text: str) -> str:
    """Map ``text`` to the form patterns run on; same length as ``text`` (offsets carry over).

    Traditional characters are mapped only when the text has any (a fast check), so simplified text pays
    only for the punctuation and full-width mapping.

    Example:
        >>> matching_form("關於第72號提案(A類)")
        '关于第72号提案（A类）'
    """
    trad_re, table, common, rare_re, rare = _fast()
    if "覆" in text:
        text = _FU_RE.sub(lambda m: m.group(0).replace("覆", "复"), text)
    if trad_re.search(text):
        return text.translate(table)
    for a, b in common:
        if a in text:
            text = text.replace(a, b)
    if rare_re.search(text):
        for a, b in rare:
            if a in text:
                text = text.replace(a, b)
    return text


def to_simplified(text: str) -> str:
    """Traditional -> simplified, character by character (opencc's character table; fast, same length).

    Example:
        >>> to_simplified("答複")
        '答复'
    """
    return text.translate(_tables()[0])


class CleanText:
    """The cleaned lines of a document: content lines, page metadata and what was dropped."""

    __slots__ = ("dropped", "lines", "meta", "norm_lines")

    def __init__(
        self, lines: list[str], meta: dict[str, str], dropped: int, norm_lines: list[str] | None = None
    ) -> None:
        self.lines = lines
        self.meta = meta
        self.dropped = dropped
        self.norm_lines = norm_lines if norm_lines is not None else [matching_form(x) for x in lines]

    @property
    def norm(self) -> str:
        """The matching form of :attr:`text` (same length)."""
        return "\n".join(self.norm_lines)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _clean_chars(raw: str) -> str:
    text = raw.replace("_x000D_", "\n").replace("\r\n", "\n").replace("\r", "\n")
    odd_or_tone = _ODD_OR_TONE_RE.search(text) is not None
    if odd_or_tone and _ODD_SPACE_RE.search(text):
        text = text.translate(_SPACE_TABLE)
    if "<" in text:
        text = _TAG_RE.sub(" ", text)
    if "&" in text:
        text = _ENTITY_RE.sub(lambda m: html.unescape(m.group(0)), text).translate(_SPACE_TABLE)
        odd_or_tone = True  # an entity may have been a tone mark (&aacute;)
    if odd_or_tone and _TONE_CHAR_RE.search(text) and _PINYIN_HINT_RE.search(text):
        text = _PINYIN_RE.sub("", text)
    return text


def clean_text(raw: str) -> CleanText:
    """Clean ``raw`` and sort its lines into content, page metadata and debris.

    Args:
        raw: the text as read from a file or page.

    Returns:
        A :class:`CleanText`: ``lines`` (content, stripped, in order), ``meta`` (page metadata fields such
        as ``{"索引号": "…", "发布机构": "…"}``, simplified keys) and ``dropped`` (debris lines removed).

    Example:
        >>> clean_text("当前位置：首页 > 建议提案\\n王某代表：\\n打印本页 关闭窗口").lines
        ['王某代表：']
    """
    text = _clean_chars(raw)
    if "??" in text:
        text = _QMARK_RUN_RE.sub("", text)  # full-width spaces lost to a wrong encoding ("????昆区住建局")
    table_meta: dict[str, str] = {}
    table_rows: set[int] = set()
    if "|" in text:
        table_meta, table_rows = _pipe_table_meta(text)
        text = _PIPES_RE.sub(" ", text)
    if "  " in text:
        text = _SPACES_RE.sub(" ", text)
    norm_all = matching_form(text)
    lines: list[str] = []
    norm_lines: list[str] = []
    meta: dict[str, str] = {}
    dropped = 0
    pending_key: str | None = None
    for row, (raw_line, raw_m) in enumerate(zip(text.split("\n"), norm_all.split("\n"), strict=True)):
        line = raw_line.strip()
        if not line or row in table_rows:
            continue  # a key | value metadata row went to ``meta``
        m_line = raw_m.strip()
        if pending_key is not None:
            key = pending_key
            pending_key = None
            if (
                not _META_LINE_RE.match(m_line)
                and not _META_ONLY_RE.match(m_line)
                and len(line) <= 40
                and (not _NOT_META_VALUE_RE.search(m_line) or _AGENCY_VALUE_RE.match(m_line))
            ):
                meta.setdefault(key, line)
                continue
        may_be_meta = m_line[0] in _META_FIRST_CHARS  # a cheap test before the long key alternations
        only = _META_ONLY_RE.match(m_line) if may_be_meta else None
        if only:
            pending_key = only.group(0).strip(" •·●-【】[]〔〕：:")
            continue
        if may_be_meta and _META_LINE_RE.match(m_line) and len(line) <= 300:
            for m in _META_PAIR_RE.finditer(m_line):
                value = line[m.start(2) : m.end(2)].strip()
                if value:
                    meta.setdefault(m.group(1), value)
            continue
        if _is_debris(line, m_line):
            dropped += 1
            continue
        if _FOOTNOTE_HINT_RE.search(line):
            spans = [(m.start() + 1, m.end()) for m in _FOOTNOTE_RE.finditer(m_line)]
            for a, b in reversed(spans):
                line = line[:a] + line[b:]
                m_line = m_line[:a] + m_line[b:]
        lines.append(line)
        norm_lines.append(m_line)
    for key, value in table_meta.items():
        meta.setdefault(key, value)
    return CleanText(lines, meta, dropped, norm_lines)


def _pipe_table_meta(text: str) -> tuple[dict[str, str], set[int]]:
    """Metadata from a page's key | value table rows (``索引号 | … | 发布机构 | 某县文旅局 | …``), no colons,
    and the indexes of those rows (they are metadata, not content)."""
    meta: dict[str, str] = {}
    rows: set[int] = set()
    for row, line in enumerate(text.split("\n")):
        if len(line) > 400 or line.count("|") < 3:
            continue  # a metadata row is short
        cells = [c.strip() for c in line.split("|")]
        keys = [matching_form(c).replace(" ", "") if c and len(c) <= 8 else "" for c in cells]
        if sum(k in _META_KEY_SET for k in keys) < 2:
            continue  # a table row with at least two known keys is a metadata row
        rows.add(row)
        for i in range(len(cells) - 1):
            value = cells[i + 1]
            if keys[i] in _META_KEY_SET and value and keys[i + 1] not in _META_KEY_SET and len(value) <= 60:
                meta.setdefault(keys[i], value)
    return meta, rows


# a line without Chinese (short, or holding a letter), or an image file name; the ``^`` alternatives are
# matched at the start only and the file name is searched for only when the line holds a dot (one
# ``search`` of the whole alternation tried every alternative at every position of the line)
_NO_CJK_JUNK_RE = re.compile(r"[^\u4e00-\u9fff\d]{1,20}$|[^\u4e00-\u9fff]*[A-Za-z_][^\u4e00-\u9fff]*$", re.I)
_IMAGE_NAME_RE = re.compile(r"\.(?:png|jpe?g|gif|bmp|svg|webp)$", re.I)
_PHONE_DIGITS_RE = re.compile(r"\d{7,}")


def _is_debris(line: str, m_line: str) -> bool:
    if len(line) > 200:
        return False
    if (
        _NO_CJK_JUNK_RE.match(m_line) or ("." in m_line and _IMAGE_NAME_RE.search(m_line))
    ) and not _PHONE_DIGITS_RE.search(m_line):
        return True
    if len(line) <= 40 and _DEBRIS_LINE_RE.match(m_line):
        return True
    if _FOOTER_HOST_RE.match(m_line):
        return True
    if _DEBRIS_WORDS_RE.search(m_line):  # any of _DEBRIS_WORDS, in one scan
        # a long content line that merely mentions a word stays
        return len(line) <= 80 or "。" not in m_line
    return "。" not in m_line and _BREADCRUMB_RE.search(m_line) is not None
