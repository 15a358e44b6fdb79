"""``govnlp parse``: JSON/JSONL output, stdin, errors to stderr with exit 2."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from govnlp.cli import main
from govnlp.documents import ReplyDocument


def test_parse_json(fixtures_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "parse", str(fixtures_dir / "seed_reply.txt")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["document_number"] == "丽综执复〔2024〕22号"
    assert len(ReplyDocument.from_dict(data).measures) == 20


def test_parse_jsonl_several(fixtures_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(fixtures_dir / "seed_reply.txt"), str(fixtures_dir / "replies" / "message_reply.txt")]
    assert main(["-q", "parse", *paths, "--format", "jsonl"]) == 0
    lines = capsys.readouterr().out.strip().split("\n")
    assert [json.loads(x)["kind"] for x in lines] == ["提案答复", "留言答复"]


def test_parse_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(
        "sys.stdin", io.StringIO("网友您好！您的留言已收悉。已转交相关部门处理。2018年1月9日")
    )
    assert main(["-q", "parse", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["date"] == "2018-01-09"


def test_parse_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "parse", str(tmp_path / "missing.txt")]) == 2
    err = capsys.readouterr().err
    assert "not found" in err
    bad = tmp_path / "x.rtf"
    bad.write_text("abc", encoding="utf-8")
    assert main(["-q", "parse", str(bad)]) == 2
    assert ".docx" in capsys.readouterr().err
