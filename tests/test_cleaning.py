"""Tests of govnlp.cleaning on replies written for these tests (not corpus text)."""

from __future__ import annotations

import pytest

from govnlp.cleaning import clean_for_index, clean_many, normalize_whitespace

BODY = "经核查，该路口已于上月增设人行横道信号灯，交警部门将加强高峰时段的巡逻管控。"


@pytest.mark.parametrize(
    "opening",
    [
        "网友“UU0081234”您好！您的留言已收悉。现将有关情况回复如下：",
        "网友“UU008567” 您好！来信收悉。现回复如下：",
        "尊敬的网友：您好，您反映的问题已收悉，经认真调查核实，现将有关情况答复如下：",
        "“UU0082001”： 您好！首先感谢您对我们工作的关注！对于您反映的问题，现作如下回复：",
        "某某区交通运输局回复：",
        "网友：您反映的问题已转某某县调查核处。2018年5月10日“UU0082227”：您好！",
        "\n\t\u3000\u3000网友您好，",
    ],
)
def test_openings_are_stripped(opening: str) -> None:
    assert clean_for_index(opening + BODY) == BODY


@pytest.mark.parametrize(
    "closing",
    [
        "感谢您对我们工作的支持、理解与监督！2018年9月1日",
        "感谢您的留言。\n某某县交通运输局\n2017年3月2日",
        "如有疑问，请致电0731-84001234咨询。特此回复。",
        "欢迎您继续关注和监督我们的工作！\n二〇一九年二月十五日",
        "联系人：王某，联系电话：13800001234。",
        "谢谢您对我们工作的关心、理解和支持！您还可以拨打本局办公室电话0000-00000000，咨询了解有关具体情况。",
        "再次感谢你的支持和建议！元旦将至，顺祝新年快乐，生活如意！",
        "_x000D_\n感谢您的理解和支持！ ? ? ? 2016.05.10",
    ],
)
def test_closings_are_stripped(closing: str) -> None:
    assert clean_for_index(BODY + closing) == BODY


def test_quoted_title_in_acknowledgement_is_kept() -> None:
    text = "“UU0081001”您好！您反映的“关于某小区停车难的问题”已收悉，现回复如下：" + BODY
    assert clean_for_index(text) == "关于某小区停车难的问题。" + BODY


def test_restated_problem_in_acknowledgement_is_kept() -> None:
    text = "张某某代表：您提出的关于加强农村公路养护管理的建议收悉，现答复如下：" + BODY
    assert clean_for_index(text) == "加强农村公路养护管理。" + BODY
    text = "“UU0081376”你好，留言已阅！你反映的城区缺少公共停车场的问题，我们已收到，" + BODY
    assert clean_for_index(text) == "城区缺少公共停车场。" + BODY


def test_content_after_acknowledgement_clause_is_kept() -> None:
    text = "您反映的问题已收悉，该事项不属于本局职责范围，建议向住房保障部门咨询。2018年1月2日"
    assert clean_for_index(text) == "该事项不属于本局职责范围，建议向住房保障部门咨询。"


def test_body_text_is_not_rewritten() -> None:
    body = (
        "一、关于老旧小区改造。今年已将该小区纳入改造计划，改造内容包括雨污分流、屋面防水和消防设施。\n"
        "二、关于物业管理。街道将指导小区成立业主委员会，依法选聘物业服务企业，感谢居民对改造方案提出的意见已被采纳的部分为绿化布局。"
    )
    assert clean_for_index(body) == body


def test_long_closing_like_sentence_is_kept() -> None:
    long_last = "下一步，我们将会同住建、城管等部门加强对建筑工地夜间施工的巡查，对未办理夜间施工许可的工地依法处罚，并将处理结果向周边居民公开，欢迎群众监督。"
    assert len(long_last) > 60
    assert clean_for_index(BODY + long_last).endswith("欢迎群众监督。")


def test_ids_masks_and_phone_numbers_are_removed_anywhere() -> None:
    text = "经查，当事人王某（身份证号*****************）已于当日补办手续，办理窗口电话0731-84001234。本局将跟踪督办后续事项，确保补偿款发放到位。"
    out = clean_for_index(text)
    assert "*" not in out and "84001234" not in out
    assert out.startswith("经查，当事人王某")


def test_formula_only_reply_is_cleaned_lightly() -> None:
    # nothing but formulas: the forwarding note is all the reply says, so only ids, salutation and date go
    assert clean_for_index("网友：您好！留言已收悉") == "留言已收悉"
    text = "“UU0081331”您好！您反映的问题已转某某镇核查、办复，感谢您的留言。2018年6月25日"
    assert clean_for_index(text) == "您反映的问题已转某某镇核查、办复，感谢您的留言。"


def test_idempotent_and_types() -> None:
    text = "网友“UU0081234”您好！您的留言已收悉。现将有关情况回复如下：" + BODY + "感谢您的支持！2018年9月1日"
    once = clean_for_index(text)
    assert clean_for_index(once) == once
    assert clean_for_index("") == ""
    with pytest.raises(TypeError):
        clean_for_index(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        clean_many("一条回复")
    assert clean_many([text, ""]) == [once, ""]


def test_normalize_whitespace() -> None:
    assert normalize_whitespace("\n\t\u3000甲_x000D_\n\n乙\u00a0 丙 ") == "甲\n乙 丙"
