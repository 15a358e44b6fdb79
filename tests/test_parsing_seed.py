"""Golden test: the real seed reply must parse to exactly the values in the issue's table."""

from __future__ import annotations

from pathlib import Path

import pytest

from govnlp import parse_reply
from govnlp.documents import ReplyDocument


@pytest.fixture(scope="module")
def seed(fixtures_dir: Path) -> ReplyDocument:
    return parse_reply(fixtures_dir / "seed_reply.txt")


def test_seed_header(seed: ReplyDocument) -> None:
    assert seed.title == "丽水市综合行政执法局关于对市政协五届三次会议第14号提案的答复"
    assert seed.kind == "提案答复"
    assert seed.assembly == "市政协"
    assert seed.session == "五届三次"
    assert seed.proposal_number == "14"
    assert seed.proposal_title == "关于优化营商环境 提升经营主体满意度的建议"
    assert seed.addressee == "民进市委会"
    assert seed.lead_agency == "市综合执法局"
    assert seed.co_agencies == ("市经信局", "市应急管理局", "市市场监管局")
    assert seed.replying_agency == "丽水市综合行政执法局"
    assert seed.document_number == "丽综执复〔2024〕22号"
    assert seed.date == "2024-07-11"
    assert seed.handling_class is None
    assert seed.contact is not None
    assert (seed.contact.name, seed.contact.phone, seed.contact.department) == (
        "何伟慧",
        "2781260",
        "市综合行政执法局改革推进处",
    )


def test_seed_structure(seed: ReplyDocument) -> None:
    assert [s.number for s in seed.sections] == ["一", "二", "三"]
    assert seed.sections[0].heading.startswith("完善机制")
    assert [p.text for p in seed.problems] == [
        "小微企业难以承受跨部门联合监管",
        "双随机监管尚未真正给企业减负",
        "企业信用监管缺少柔性化",
        "行政执法队伍建设亟待加强",
    ]
    assert all(p.section == "二" for p in seed.problems)
    assert len(seed.measures) == 20
    by_block: dict[tuple[str | None, str | None], int] = {}
    for m in seed.measures:
        by_block[(m.section, m.problem)] = by_block.get((m.section, m.problem), 0) + 1
    assert by_block[("一", None)] == 3
    assert by_block[("三", None)] == 5
    assert [by_block[("二", p.text)] for p in seed.problems] == [3, 3, 3, 3]
    first = seed.measures[3]
    assert first.ordinal == "一是" and first.title == "高标准统筹执法检查计划"
    assert first.problem == "小微企业难以承受跨部门联合监管"
    assert any(f.value == 39.3 and f.unit == "%" and f.text == "压减检查计划数39.3%" for f in first.figures)
    assert any(f.value == 39.3 and f.unit == "%" and f.text == "压减检查计划数39.3%" for f in seed.figures)
    assert seed.measures[-1].ordinal == "五是" and seed.measures[-1].title == "监督协调提标扩面"


def test_seed_paragraph_roles(seed: ReplyDocument) -> None:
    roles = [p.role for p in seed.paragraphs]
    assert roles[0] == "opening"  # title
    assert roles.count("section_heading") == 3
    assert roles.count("problem") == 4
    texts = {p.role: [] for p in seed.paragraphs}  # type: dict[str, list[str]]
    for p in seed.paragraphs:
        texts[p.role].append(p.text)
    assert any("民进市委会" in t for t in texts["opening"])
    assert any("答复如下" in t for t in texts["opening"])
    assert any("再次感谢" in t for t in texts["closing"])
    assert any(t.startswith("2024年7月11日") for t in texts["closing"])
    assert any("联系人" in t for t in texts["contact"])
    assert not any("感谢" in t and "再次" in t for t in texts["body"])
    # every measure is referenced by the paragraphs that hold it
    held = {mid for p in seed.paragraphs for mid in p.measures}
    assert held == {m.id for m in seed.measures}
    # debris is gone from the text, the original characters are kept
    assert "打印本页" not in seed.text and "|" not in seed.text


def test_seed_ids_are_stable(fixtures_dir: Path) -> None:
    a = parse_reply(fixtures_dir / "seed_reply.txt")
    b = parse_reply((fixtures_dir / "seed_reply.txt").read_text(encoding="utf-8"))
    assert a.id == b.id
    assert [m.id for m in a.measures] == [m.id for m in b.measures]
    assert [p.id for p in a.paragraphs] == [p.id for p in b.paragraphs]
    assert len({m.id for m in a.measures}) == len(a.measures)
    assert a.source is not None and b.source is None
