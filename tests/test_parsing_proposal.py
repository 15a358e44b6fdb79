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
