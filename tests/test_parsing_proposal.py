"""parse_proposal: cause, problems and suggestions from enumerations or sentences."""

from __future__ import annotations

import pytest

from govnlp import ParseError, parse_proposal

PROPOSAL = """关于加强老旧小区物业管理的建议
案由：加强老旧小区物业管理
一、存在的问题
（一）物业服务企业管理不规范，部分小区长期无人管理。
（二）停车收费标准不透明，群众反映强烈。
二、建议
1.加强对物业服务企业的监管考核，建立信用评价和退出机制。
2.规范停车收费标准，实行收费公示制度。
3.加大老旧小区改造资金投入，完善小区基础设施。
"""

MESSAGE = (
    "我是幸福小区的业主，小区门口的道路坑洼不平已经两年了，下雨天积水严重，老人小孩出行很不方便。"
    "多次向社区反映都没有结果。希望相关部门尽快修复道路，解决积水问题。"
)


def test_enumerated_proposal() -> None:
    p = parse_proposal(PROPOSAL)
    assert p.title == "关于加强老旧小区物业管理的建议"
    assert p.cause == "加强老旧小区物业管理"
    assert [x.text for x in p.problems] == [
        "物业服务企业管理不规范，部分小区长期无人管理",
        "停车收费标准不透明，群众反映强烈",
    ]
    assert [x.ordinal for x in p.suggestions] == ["1.", "2.", "3."]
    assert p.suggestions[0].text.startswith("加强对物业服务企业的监管考核")
    assert all(15 <= len(x.text) <= 120 for x in p.queries())


def test_message_without_enumeration() -> None:
    p = parse_proposal(MESSAGE)
    assert p.suggestions and "尽快修复道路" in p.suggestions[-1].text
    assert p.problems and any("积水" in x.text for x in p.problems)
    assert all(len(x.text) <= 120 for x in p.queries())


def test_long_comma_chain_is_split() -> None:
    text = "，".join(["小区附近的幼儿园一直没有开工建设"] * 20) + "。"
    p = parse_proposal(text)
    assert all(len(x.text) <= 120 for x in p.queries())


@pytest.mark.parametrize("bad", ["", "  ", None, b"x"])
def test_bad_input(bad: object) -> None:
    with pytest.raises(ParseError):
        parse_proposal(bad)  # type: ignore[arg-type]


# A proposal form written inline, as many proposal databases hold it: title apart, sections mid-line.
FORM = (
    "调研情况：近年来我省农村客运网络不断完善，但偏远山区群众出行仍不方便。"
    "问题分析：一是部分线路班次少，早晚时段无车可坐；二是农村客运企业经营亏损，车辆更新慢；"
    "三是站点设置不合理，候车亭年久失修。"
    "具体建议：一是优化农村客运线路，增加早晚高峰班次。二是加大财政补贴力度，支持企业更新车辆。"
    "三是统一规划建设农村候车亭，落实日常维护责任。"
)

PROBLEMS_COUNTERMEASURES = """关于加强中小学生心理健康教育的提案
当前，中小学生心理问题呈低龄化趋势，引起社会广泛关注。
存在问题：
（一）专职心理教师配备不足，多数学校由班主任兼任。
（二）心理健康课程课时难以保证，常被文化课挤占。
对策建议：
（一）按师生比配齐专职心理健康教师，纳入编制管理。
（二）将心理健康课程纳入课程表，保证每两周不少于一课时。
（三）建立学校、家庭、医疗机构联动的心理危机干预机制。
"""

SEVERAL_SUGGESTIONS = """关于推动老年助餐服务发展的建议
随着人口老龄化加深，独居和高龄老人吃饭难问题日益突出，现有助餐点覆盖面小、运营难以持续。
为此，提出几点建议：
1. 将老年助餐点建设纳入城市社区配套设施规划，做到每个社区至少一个。
2. 对助餐服务机构给予场地租金减免和运营补贴，鼓励社会力量参与。
3. 推广智慧助餐平台，实现刷卡就餐、补贴自动结算。
"""


def test_inline_form_sections_with_title_apart() -> None:
    p = parse_proposal(FORM, title="关于完善农村客运服务的建议")
    assert p.title == "关于完善农村客运服务的建议"
    assert p.analysis is not None and "偏远山区群众出行" in p.analysis
    assert [x.ordinal for x in p.problems] == ["一是", "二是", "三是"]
    assert p.problems[1].text.startswith("农村客运企业经营亏损")
    assert [x.ordinal for x in p.suggestions] == ["一是", "二是", "三是"]
    assert p.suggestions[2].text.startswith("统一规划建设农村候车亭")
    # the title is not an item and the analysis is in no item
    assert all("关于完善" not in x.text for x in p.queries())
    assert all("偏远山区" not in x.text for x in p.queries())
    assert "具体建议" not in (p.analysis or "")


def test_title_apart_changes_the_id_but_not_the_items() -> None:
    a = parse_proposal(FORM, title="关于完善农村客运服务的建议")
    b = parse_proposal(FORM, title="关于农村公交的建议")
    assert a.id != b.id and a.suggestions == b.suggestions


def test_problems_and_countermeasures_with_parenthesised_numbers() -> None:
    p = parse_proposal(PROBLEMS_COUNTERMEASURES)
    assert p.title == "关于加强中小学生心理健康教育的提案"
    assert [x.ordinal for x in p.problems] == ["（一）", "（二）"]
    assert [x.ordinal for x in p.suggestions] == ["（一）", "（二）", "（三）"]
    assert p.suggestions[0].text.startswith("按师生比配齐专职心理健康教师")


def test_several_suggestions_numbered() -> None:
    p = parse_proposal(SEVERAL_SUGGESTIONS)
    assert [x.ordinal for x in p.suggestions] == ["1.", "2.", "3."]
    assert p.suggestions[1].text.startswith("对助餐服务机构给予场地租金减免")
    assert not any("助餐服务机构" in x.text for x in p.problems)


def test_title_only() -> None:
    p = parse_proposal("", title="关于加强农村饮用水安全保障的建议")
    assert p.queries()


def test_round_trip_keeps_analysis() -> None:
    from govnlp.documents import ProposalDocument

    p = parse_proposal(FORM, title="关于完善农村客运服务的建议")
    assert ProposalDocument.from_dict(p.to_dict()) == p


@pytest.mark.corpus
def test_jiangsu_proposals_parse(corpora_dir) -> None:
    import json

    path = corpora_dir / "proposals" / "jiangsu_cppcc_2019.jsonl"
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    docs = [parse_proposal(r["text"], title=r["title"]) for r in rows]
    share = {
        "suggestions": sum(bool(d.suggestions) for d in docs) / len(docs),
        "problems": sum(bool(d.problems) for d in docs) / len(docs),
        "analysis": sum(bool(d.analysis) for d in docs) / len(docs),
    }
    # measured on the 436 proposals of 2019: suggestions 0.970, problems 0.917, analysis 0.986
    assert share["suggestions"] >= 0.95 and share["analysis"] >= 0.95 and share["problems"] >= 0.9, share
    assert all(d.title == r["title"].strip() for d, r in zip(docs, rows, strict=True))
