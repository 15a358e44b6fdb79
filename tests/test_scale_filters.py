"""govnlp filters -> Milvus expressions (pure translation; no Milvus needed).

That Milvus selects exactly the records govnlp's own filters select is checked against Milvus Lite in
tests/test_scale_milvus.py (marker ``scale``).
"""

from __future__ import annotations

import pytest

from govnlp.errors import ConfigError, GovnlpError
from govnlp.scale.milvus_filters import NOTHING, FilterTranslationError, milvus_filter

FIELDS = {
    "id": "str",
    "kind": "str",
    "date": "str",
    "year": "int",
    "score": "float",
    "open": "bool",
    "co_agencies": "str_list",
    "figures": "json",
    "标签": "str",
}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (None, ""),
        ({}, ""),
        ({"kind": "提案答复"}, 'kind == "提案答复"'),
        ({"kind": ["提案答复", "建议答复"]}, 'kind in ["提案答复", "建议答复"]'),
        ({"year": {"gte": 2020, "lte": 2023}}, "(year >= 2020 and year <= 2023)"),
        ({"date": {"gt": "2023-01-01"}}, '(date > "2023-01-01")'),
        ({"co_agencies": "市住建局"}, 'array_contains_any(co_agencies, ["市住建局"])'),
        ({"co_agencies": {"eq": "市住建局"}}, '(array_contains(co_agencies, "市住建局"))'),
        ({"co_agencies": {"in": ["甲", "乙"]}}, '(array_contains_any(co_agencies, ["甲", "乙"]))'),
        # the CLI turns proposal_number=14 into [14, "14"]: only the value of the field's type can match
        ({"year": [2020, "2020"]}, "year == 2020"),
        ({"kind": [1, "建议答复"]}, 'kind == "建议答复"'),
        ({"kind": 5}, NOTHING),
        ({"year": {"eq": "2020"}}, "(year == 2020)"),
        ({"score": {"lt": 0.5}}, "(score < 0.5)"),
        ({"open": True}, "open == true"),
        ({"kind": 'a"b\\c'}, 'kind == "a\\"b\\\\c"'),
        ({"kind": "提案答复", "year": {"gte": 2020}}, 'kind == "提案答复" and (year >= 2020)'),
    ],
)
def test_translations(filters: dict | None, expected: str) -> None:
    assert milvus_filter(filters, FIELDS) == expected


@pytest.mark.parametrize(
    ("filters", "match"),
    [
        ({"figures": {"eq": 1}}, "nested or mixed-type"),
        ({"year": {"gte": "2020"}}, "is a string but the field holds numbers"),
        ({"year": {"eq": "02020"}}, "is a string"),
        ({"date": {"gte": 2023}}, "is a number but the field holds text"),
        ({"co_agencies": {"gt": "市"}}, "list field"),
        ({"open": {"gt": False}}, "not supported"),
        ({"标签": "x"}, "ASCII identifiers"),
    ],
)
def test_untranslatable_filters_raise(filters: dict, match: str) -> None:
    with pytest.raises(FilterTranslationError, match=match) as err:
        milvus_filter(filters, FIELDS)
    assert isinstance(err.value, GovnlpError) and isinstance(err.value, ValueError)


def test_bad_filters_raise_like_govnlp() -> None:
    with pytest.raises(ConfigError, match="unknown filter field"):
        milvus_filter({"nope": 1}, FIELDS)
    with pytest.raises(ConfigError, match="unknown operator"):
        milvus_filter({"year": {"between": [1, 2]}}, FIELDS)
    with pytest.raises(ConfigError, match="must be a dict"):
        milvus_filter(["year"], FIELDS)  # type: ignore[arg-type]
