"""The shared text conventions (parsing/vocabulary.py) are defined once and used everywhere."""

from __future__ import annotations

import re

import pytest

from govnlp.parsing import vocabulary as V


def test_supported_suffixes_defined_once() -> None:
    from govnlp.cli.index import REPLY_SUFFIXES
    from govnlp.parsing import SUPPORTED_SUFFIXES
    from govnlp.parsing.reader import SUPPORTED_SUFFIXES as READER_SUFFIXES
    from govnlp.pipeline import _READABLE

    assert SUPPORTED_SUFFIXES is V.SUPPORTED_SUFFIXES
    assert READER_SUFFIXES is V.SUPPORTED_SUFFIXES
    assert REPLY_SUFFIXES is V.SUPPORTED_SUFFIXES
    assert set(V.SUPPORTED_SUFFIXES) == _READABLE


@pytest.mark.parametrize(
    ("text", "pattern", "matches"),
    [
        ("2024年7月11日", V.DATE_AR, True),
        ("2024 年 7 月 11 日", V.DATE_AR, True),
        ("二〇二四年七月十一日", V.DATE_CN, True),
        ("二00七年七月十七日", V.DATE_CN, True),
        ("2024-07-11", V.DATE_NUMERIC, True),
        ("24-07-11", V.DATE_NUMERIC, False),
        ("江州市人力资源和社会保障局", rf"^{V.AGENCY_NAME}$", True),
        ("江州市南岸街道", rf"^{V.AGENCY_NAME}$", True),
        ("关于加快老旧小区改造", rf"^{V.AGENCY_NAME}$", False),
    ],
)
def test_date_and_agency_pieces(text: str, pattern: str, matches: bool) -> None:
    assert bool(re.fullmatch(pattern, text)) is matches


def test_page_date_keys_are_metadata_keys() -> None:
    """Every page-date and signing-date field is one the cleaner lifts out of the text into ``meta``."""
    from govnlp.parsing.normalise import META_KEYS

    missing = [k for k in (*V.PAGE_DATE_KEYS, *V.SIGNING_DATE_KEYS) if k not in META_KEYS]
    assert missing == []


def test_numbers() -> None:
    assert [V.cn_to_int(x) for x in ("十二", "二十一", "3", "③", "x")] == [12, 21, 3, 3, None]
    assert V.L1_RE.match("三、加强监管").group(1) == "三"  # type: ignore[union-attr]
    assert V.L2_RE.match("（二）完善机制").group(1) == "二"  # type: ignore[union-attr]
