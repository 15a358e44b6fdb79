"""``govnlp index build`` and ``govnlp search`` on a temporary folder of hand-written replies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import govnlp.cli
from govnlp.cli import main
from govnlp.cli.index import parse_filters
from govnlp.errors import ConfigError

REPLIES = {
    "housing.txt": """市住房和城乡建设局关于市政协五届三次会议第21号提案的答复
丽政协〔2023〕21号
民盟市委会：
你们提出的《关于加强老旧小区物业服务管理的提案》收悉，现答复如下：
一、针对“老旧小区物业服务企业监管不到位”的问题
一是建立物业服务企业信用评价制度，将服务质量与招投标挂钩。二是推动成立业主委员会，指导业主依法选聘物业服务企业。
二、针对“加装电梯推进缓慢”的问题
一是简化既有住宅加装电梯审批流程，实行联合审查。二是对加装电梯给予每台20万元财政补助。
感谢你们对住房和城乡建设工作的关心和支持。
联系人：王某，联系电话：0578-2000000
市住房和城乡建设局
2023年6月20日
""",
    "transport.txt": """市交通运输局关于市人大七届二次会议第8号建议的答复
李某代表：
您提出的《关于优化城区公交线路的建议》收悉，现答复如下：
一是新增3条公交线路，覆盖城东新建小区。二是优化站点布局，在学校和医院周边增设站点。三是推广定制公交，方便群众出行。
感谢您对交通运输工作的关心。
市交通运输局
2022年5月10日
""",
    "market.txt": """市市场监督管理局关于市政协五届二次会议第35号提案的答复
九三学社市委会：
你们提出的《关于加强校园周边食品安全监管的提案》收悉，现答复如下：
一是开展校园周边食品店专项整治，检查经营户420家。二是推行首违不罚，对轻微违法行为以教育为主。三是加强食品安全抽检，抽检合格率达到98.5%。
感谢你们对市场监管工作的支持。
市市场监督管理局
2021年7月1日
""",
}


@pytest.fixture
def replies_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "replies"
    folder.mkdir()
    for name, text in REPLIES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(autouse=True)
def only_index_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    # test this module's commands through the real main() without depending on the other command modules
    monkeypatch.setattr(govnlp.cli, "_COMMAND_MODULES", ("index",))


def test_build_options_reach_the_index(replies_dir: Path, tmp_path: Path) -> None:
    """--lexical, --tokenizer and --clean/--no-clean are passed on; left out, the library defaults hold."""
    from govnlp.search import DEFAULT_CLEAN
    from govnlp.search.lexical import DEFAULT_LEXICAL

    def manifest(*extra: str) -> dict:
        out = tmp_path / f"idx{len(list(tmp_path.iterdir()))}"
        argv = ["-q", "index", "build", str(replies_dir), "--out", str(out), "--embedder", "hash", *extra]
        assert main(argv) == 0
        return json.loads((out / "manifest.json").read_text(encoding="utf-8"))

    m = manifest()
    assert m["lexical"]["kind"] == DEFAULT_LEXICAL and m["cleaning"]["clean"] is DEFAULT_CLEAN
    m = manifest("--lexical", "bm25", "--tokenizer", "bigram", "--clean")
    assert m["lexical"]["kind"] == "bm25" and m["lexical"]["tokenizer"] == "bigram"
    assert m["cleaning"]["clean"] is True
    assert manifest("--no-clean")["cleaning"]["clean"] is False
    with pytest.raises(SystemExit):
        main(
            ["-q", "index", "build", str(replies_dir), "--out", str(tmp_path / "z"), "--clean", "--no-clean"]
        )


def test_build_and_search_reply_files(
    replies_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "idx"
    assert main(["-q", "index", "build", str(replies_dir), "--out", str(out), "--embedder", "hash"]) == 0
    assert (out / "manifest.json").is_file()
    assert "indexed" in capsys.readouterr().out
    assert main(["-q", "search", str(out), "加装电梯补助", "--k", "3", "--format", "jsonl"]) == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(hits) == 3 and [h["rank"] for h in hits] == [1, 2, 3]
    assert "电梯" in hits[0]["record"]["text"]
    assert hits[0]["record"]["unit"] in ("measure", "problem", "paragraph")
    assert not any("联系人" in h["record"]["text"] for h in hits)
    # filters: only the transport reply, dated 2022
    assert main(["-q", "search", str(out), "增设站点", "--filter", "year>=2022", "--filter", "year<2023",
                 "--format", "jsonl", "--k", "20"]) == 0  # fmt: skip
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert hits and all(h["record"]["year"] == 2022 for h in hits)
    assert main(["-q", "search", str(out), "食品安全", "--mode", "lexical"]) == 0
    table = capsys.readouterr().out
    assert "1." in table and "食品" in table


def test_build_from_jsonl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "records.jsonl"
    rows = [
        {"mid": "a1", "reply": "已对该路段增设信号灯。", "year": 2020},
        {"mid": "a2", "reply": "小区垃圾分类设施已完善。", "year": 2021},
        {"mid": "a3", "reply": "已督促物业公司维修电梯。", "year": 2022},
    ]
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "idx"
    argv = ["-q", "index", "build", str(src), "--out", str(out), "--embedder", "hash",
            "--text-field", "reply", "--id-field", "mid", "--index-type", "exact", "--tokenizer", "jieba"]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    assert main(["-q", "search", str(out), "电梯维修", "--k", "1", "--format", "jsonl"]) == 0
    hit = json.loads(capsys.readouterr().out)
    assert hit["id"] == "a3" and hit["record"]["year"] == 2022
    assert main(["-q", "search", str(out), "信号灯", "--filter", "mid=a1"]) == 2  # unknown filter key
    assert "unknown filter field" in capsys.readouterr().err
    assert main(["-q", "index", "build", str(src), "--out", str(tmp_path / "x"), "--embedder", "hash"]) == 2
    assert "text field 'text'" in capsys.readouterr().err
    assert main(["-q", "search", str(tmp_path / "nothing"), "x"]) == 2


def test_missing_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "index", "build", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_parse_filters() -> None:
    assert parse_filters(["kind=提案答复|建议答复", "year>=2020", "year<=2023"]) == {
        "kind": ["提案答复", "建议答复"],
        "year": {"gte": 2020, "lte": 2023},
    }
    assert parse_filters(["proposal_number=14"]) == {"proposal_number": [14, "14"]}
    assert parse_filters(["date>2023-01-01", "lead_agency=市交通运输局"]) == {
        "date": {"gt": "2023-01-01"},
        "lead_agency": "市交通运输局",
    }
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_filters(["year"])
    with pytest.raises(ConfigError):
        parse_filters(["year=2020", "year>=2019"])
