"""canonical_agency: one spelling per agency, conservatively; the rename and function tables."""

from __future__ import annotations

import pytest

from govnlp.errors import ConfigError
from govnlp.routing import add_renames, canonical_agency, function_words, renames
from govnlp.routing import names as names_module


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("市住建局", "市住房和城乡建设局"),
        ("市住房和城乡建设局", "市住房和城乡建设局"),
        ("市综合行政执法局（市城管局）", "市综合行政执法局"),
        ("市综合行政执法局(市城管局)", "市综合行政执法局"),
        ("市农合联执委会（市供销社)", "市农合联执委会"),
        ("慈溪市住建局", "市住房和城乡建设局"),  # place name dropped, level kept
        ("莲都区教育局", "区教育局"),
        ("县人力社保局", "县人力资源和社会保障局"),
        ("住建局", "住房和城乡建设局"),  # no level written: none guessed
        ("市市场监管局", "市市场监督管理局"),
        ("市场监管局", "市场监督管理局"),  # 市场 is not a level prefix
        ("市法院", "市人民法院"),
        ("市人民法院", "市人民法院"),  # not 人民人民法院
        ("市委办", "市委办公室"),
        ("市府办", "市人民政府办公室"),
        ("市财政地税局", "市财政地税局"),
        (" 市 教育局 ", "市教育局"),
        ("杭州湾新区管委会", "杭州湾新区管委会"),  # unknown stem: kept whole
        ("宗汉街道", "宗汉街道"),
        ("市城南改造建设指挥部", "市城南改造建设指挥部"),
    ],
)
def test_canonical_agency(name: str, expected: str) -> None:
    assert canonical_agency(name) == expected


def test_conservative_distinct_agencies_stay_distinct() -> None:
    distinct = [
        "市教育局",
        "区教育局",
        "市住建局",
        "市规划局",
        "市国土资源局",
        "市农业局",
        "市农办",
        "市卫生和计划生育局",
        "市文广局",
        "市旅游局",
        "市环保局",
        "市综合行政执法局",
        "市城管局",
        "市工商局",
        "市质监局",
        "市市场监管局",
        "市发改局",
        "市发改委",
        "市财政局",
        "市财政地税局",
    ]
    assert len({canonical_agency(n) for n in distinct}) == len(distinct)


def test_renames_only_when_asked() -> None:
    assert canonical_agency("市卫生和计划生育局") == "市卫生和计划生育局"
    assert canonical_agency("市卫生和计划生育局", renames=True) == "市卫生健康局"
    assert canonical_agency("市卫计局", renames=True) == "市卫生健康局"
    assert canonical_agency("市国土资源局", renames=True) == "市自然资源和规划局"
    assert canonical_agency("市环保局", renames=True) == "市生态环境局"
    assert canonical_agency("市农业局", renames=True) == "市农业农村局"
    assert canonical_agency("市文广局", renames=True) == "市文化和旅游局"
    assert canonical_agency("县卫生局", renames=True) == "县卫生健康局"  # a chain of two renames
    assert ("国土资源局", "自然资源和规划局", 2019) in renames()


def test_rename_table_can_be_extended(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(names_module, "_extra_renames", [])
    assert canonical_agency("市城乡规划局", renames=True) == "市城乡规划局"
    add_renames({"城乡规划局": "自然资源和规划局"})
    assert canonical_agency("市城乡规划局", renames=True) == "市自然资源和规划局"
    add_renames([("自然资源局", "自然资源和规划局", 2020)])
    assert canonical_agency("区自然资源局", renames=True) == "区自然资源和规划局"
    with pytest.raises(ConfigError, match="cycle"):
        add_renames({"自然资源和规划局": "城乡规划局"})
    with pytest.raises(ConfigError, match="two different"):
        add_renames({"教育局": ""})


def test_canonical_agency_rejects_non_str() -> None:
    with pytest.raises(TypeError):
        canonical_agency(None)  # type: ignore[arg-type]


def test_function_table_covers_common_agencies() -> None:
    table = function_words()
    assert "学校" in table["教育局"] and "公交" in table["交通运输局"]
    assert all(isinstance(w, str) and w for words in table.values() for w in words)
