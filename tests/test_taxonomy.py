"""Taxonomy: built-ins, CSV/JSON round trips, trees, validation errors."""

from __future__ import annotations

import pytest

from govnlp.classify import Category, Taxonomy, builtin_taxonomies
from govnlp.errors import TaxonomyError

MESSAGE_LABELS = {"城乡建设", "环境保护", "交通运输", "商贸旅游", "卫生计生", "教育文体", "劳动和社会保障"}


def test_builtins_are_listed_and_load() -> None:
    assert {"messages", "message_tree", "cppcc"} <= set(builtin_taxonomies())
    msgs = Taxonomy.load("messages")
    assert set(msgs.labels) == MESSAGE_LABELS
    assert msgs.depth == 1
    for c in msgs:
        assert c.description and len(c.keywords) >= 5


def test_message_tree_has_15_roots_and_three_levels() -> None:
    tree = Taxonomy.load("message_tree")
    roots = tree.labels_at_level(1)
    assert len(roots) == 15
    assert set(roots) >= MESSAGE_LABELS
    assert tree.depth == 3
    leaf = next(lab for lab in tree.labels if tree.level(lab) == 3)
    assert tree.ancestor(leaf, 1) in roots
    assert tree.path(leaf)[-1] == leaf
    assert all(tree[r].description for r in roots)


def test_cppcc_scheme() -> None:
    tax = Taxonomy.load("cppcc")
    assert tax.labels_at_level(1) == ("经济建设", "政治建设", "文化建设", "社会建设", "生态文明建设")
    for topic in (
        "营商环境",
        "行政执法",
        "教育",
        "医疗卫生",
        "社会保障",
        "交通",
        "城乡建设",
        "生态环境",
        "农业农村",
        "科技创新",
    ):
        assert topic in tax
        assert tax.level(topic) == 2
        assert tax[topic].description
    assert tax.ancestor("行政执法") == "政治建设"
    assert set(tax.children("生态文明建设")) >= {"生态环境"}


def test_validate_lists_unknown_labels_with_counts() -> None:
    tax = Taxonomy.load("messages")
    tax.validate(["城乡建设", "环境保护"])
    tax.validate([["城乡建设", "环境保护"], ["交通运输"]])  # multi-label rows
    with pytest.raises(TaxonomyError) as err:
        tax.validate(["城乡建设", "外星来客", "外星来客", "时间旅行"])
    msg = str(err.value)
    assert (
        "外星来客" in msg and "(2x)" in msg and "时间旅行" in msg and "城乡建设" in msg
    )  # known labels listed
    assert isinstance(err.value, ValueError)


def test_json_round_trip(tmp_path) -> None:
    tax = Taxonomy.load("cppcc")
    tax.to_json(tmp_path / "t.json")
    again = Taxonomy.from_json(tmp_path / "t.json")
    assert again == tax
    assert Taxonomy.from_dict(tax.to_dict()) == tax
    assert Taxonomy.load(str(tmp_path / "t.json")) == tax


def test_csv_label_layout(tmp_path) -> None:
    p = tmp_path / "tax.csv"
    p.write_text(
        "label,parent,description,keywords\n民生,,群众生活,\n教育,民生,学校和教师,学校、教师、学位\n交通,民生,,公交;道路\n",
        encoding="utf-8",
    )
    tax = Taxonomy.from_csv(p)
    assert tax.labels == ("民生", "教育", "交通")
    assert tax["教育"].keywords == ("学校", "教师", "学位")
    assert tax["交通"].keywords == ("公交", "道路")
    assert tax.children(None) == ("民生",)
    assert tax.name == "tax"


def test_csv_level_layout_makes_unique_path_labels(tmp_path) -> None:
    p = tmp_path / "tree.csv"
    p.write_text("level1,level2,level3\n甲,其他,一\n乙,其他,一\n甲,建设,二\n", encoding="utf-8")
    tax = Taxonomy.from_csv(p)
    assert tax.labels_at_level(1) == ("甲", "乙")
    assert "甲/其他" in tax and "乙/其他" in tax  # the same short name under two parents
    assert tax["甲/其他/一"].name == "一"
    assert tax.ancestor("乙/其他/一") == "乙"


def test_bad_taxonomies_are_refused(tmp_path) -> None:
    with pytest.raises(TaxonomyError, match="duplicate"):
        Taxonomy((Category("甲"), Category("甲")))
    with pytest.raises(TaxonomyError, match="parents"):
        Taxonomy((Category("甲", parent="乙"),))
    with pytest.raises(TaxonomyError, match="cycle"):
        Taxonomy((Category("甲", parent="乙"), Category("乙", parent="甲")))
    bad = tmp_path / "bad.csv"
    bad.write_text("name,comment\n甲,x\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match="expected 'label'"):
        Taxonomy.from_csv(bad)
    with pytest.raises(TaxonomyError, match="available"):
        Taxonomy.load("no-such-taxonomy")


def test_describe_and_restrict() -> None:
    tax = Taxonomy.load("messages")
    text = tax.describe("环境保护")
    assert text.startswith("环境保护：") and "关键词" in text
    assert "关键词" not in tax.describe("环境保护", keywords=False)
    small = tax.restrict(["交通运输", "城乡建设"])
    assert small.labels == ("城乡建设", "交通运输")  # taxonomy order kept
