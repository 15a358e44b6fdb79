"""Quantitative facts in a reply: percentages, counts, money, areas, durations.

Patterns run on the matching form (simplified characters, ASCII digits); the figure's ``text`` is the clause
around it cut from the original, so ``压减检查计划数39.3%`` stays as written.
"""

from __future__ import annotations

import re

from govnlp.documents import Figure, direct_constructor

__all__ = ["FIGURE_RE", "find_figures"]

_UNITS = (
    "个百分点",
    "百分点",
    "%",
    "‰",
    "倍",
    "平方公里",
    "平方米",
    "立方米",
    "公里",
    "千米",
    "公顷",
    "米",
    "亩",
    "吨",
    "千瓦",
    "兆瓦",
    "元",
    "万元",
    "亿元",
    "千元",
    "美元",
    "户次",
    "人次",
    "场次",
    "家次",
    "车次",
    "架次",
    "批次",
    "余次",
    "个月",
    "小时",
    "分钟",
    "工作日",
    "天",
    "周",
    "年",
    "个",
    "项",
    "件",
    "次",
    "名",
    "人",
    "户",
    "家",
    "条",
    "期",
    "份",
    "座",
    "所",
    "辆",
    "台",
    "套",
    "处",
    "间",
    "张",
    "本",
    "批",
    "篇",
    "场",
    "宗",
    "起",
    "床",
    "盏",
    "棵",
    "株",
    "只",
    "头",
    "位",
    "支",
    "块",
    "类",
    "种",
    "轮",
    "册",
    "栋",
    "幢",
    "村",
    "镇",
    "校",
    "班",
)
_UNIT_ALT = "|".join(sorted({re.escape(u) for u in _UNITS}, key=len, reverse=True))
# Every repetition is bounded and a number cannot start right after a digit, so matching is linear in the
# text: unbounded ``\d+`` / ``\s*`` runs made a long digit run (``"1" * 8000``) or blank run quadratic.
# A figure has at most 20 digits before the point, 6 thousands groups, 20 decimals, 2 blanks between parts.
_DIGITS = "[0-9]{1,20}(?:，[0-9]{3}(?![0-9])){0,6}(?:\\.[0-9]{1,20})?"
_GAP = "\\s{0,2}"
_NUMBER_RE = re.compile(f"(?<![0-9]){_DIGITS}")
_AFTER_RE = re.compile(rf"{_GAP}(余|多)?{_GAP}(万|亿|千|百)?{_GAP}({_UNIT_ALT})?")
# The same as ``(?<![0-9])({_DIGITS})…``, written to open with a plain character class so that the regex
# engine skips ahead to the next digit in C (a leading lookbehind made it try every position of the text):
# ``(?<![0-9]{2})`` right after the first digit says that the character before that digit is no digit.
_WITH_UNIT_RE = re.compile(
    rf"([0-9](?<![0-9]{{2}})[0-9]{{0,19}}(?:，[0-9]{{3}}(?![0-9])){{0,6}}(?:\.[0-9]{{1,20}})?)"
    rf"{_GAP}(余|多)?{_GAP}(?:(万|亿|千|百){_GAP}({_UNIT_ALT})?|({_UNIT_ALT}))"
)
_UNIT_FIRST = set("余多万亿千百 ") | {u[0] for u in _UNITS}
#: number (with thousands separators or decimals), optional 余/多, optional 万/亿, unit
FIGURE_RE = re.compile(
    rf"(?<![\d.〔])([0-9]{{1,3}}(?:，[0-9]{{3}}){{1,6}}(?![0-9])|[0-9]{{1,20}}(?:\.[0-9]{{1,20}})?)"
    rf"{_GAP}(余|多)?{_GAP}(万|亿|千|百)?{_GAP}({_UNIT_ALT})?"
)
_new_figure = direct_constructor(Figure)
_CLAUSE_START = set('，。；：、！？,;:（）()《》“”"\n ')
_MAX_CONTEXT = 24
_BAD_BEFORE = set(".〔第")
_DATE_UNITS = {"年", "个月", "天", "周"}
# up to the last delimiter before the figure (matched in a short window before it; linear, unlike "[^…]*$")
_LAST_DELIM_RE = re.compile(".*[" + re.escape("".join(sorted(_CLAUSE_START))) + "]", re.S)


def find_figures(norm: str, orig: str, offset: int = 0) -> list[tuple[int, Figure]]:
    """Find figures in ``norm`` (the matching form of ``orig``; same length).

    Args:
        norm: matching-form text.
        orig: the original text the figure's ``text`` is cut from.
        offset: added to the returned positions.

    Returns:
        ``[(position, Figure)]`` in text order. Dates (2024年7月11日), years, document numbers (〔2024〕22号),
        ordinals (第14号) and bare numbers without a unit are left out.

    Example:
        >>> [f.text for _, f in find_figures("压减检查计划数39.3%", "压减检查计划数39.3%")]
        ['压减检查计划数39.3%']
    """
    out: list[tuple[int, Figure]] = []
    n = len(norm)
    last_delim = _LAST_DELIM_RE.match
    for m in _WITH_UNIT_RE.finditer(norm):
        start, end = m.span()
        before = norm[start - 1] if start > 0 else " "
        if before in _BAD_BEFORE or (before.isascii() and before.isalpha()):
            continue
        number, _approx, mult, unit1, unit2 = m.groups()
        unit = unit1 or unit2
        after = norm[end] if end < n else " "
        if (after in "月日号" or after == "-" or after == "~") and (
            unit is None or unit in _DATE_UNITS or after == "号"
        ):
            continue
        if unit == "年" and (len(number) == 4 or after in "度底初末内前后以"):
            continue
        try:
            value = float(number.replace("，", ""))
        except ValueError:  # pragma: no cover - the pattern only matches numbers
            continue
        # the clause around the figure: back to the previous delimiter
        lo = max(0, start - _MAX_CONTEXT)
        md = last_delim(norm, lo, start)
        s = md.end() if md else lo
        out.append(
            (
                offset + start,
                _new_figure(value=value, unit=(mult or "") + (unit or ""), text=orig[s:end].strip()),
            )
        )
    return out
