"""govnlp train / tag / evaluate, run in-process on the fixture messages."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from govnlp.cli.classify import register
from govnlp.errors import GovnlpError


def cli(argv: list[str]) -> int:
    """The classify subcommands behind the same error handling as ``govnlp.cli.main``."""
    parser = argparse.ArgumentParser(prog="govnlp")
    parser.add_argument("--quiet", "-q", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except GovnlpError as exc:
        print(f"govnlp {args.command}: error: {exc}")
        return 2


@pytest.fixture(scope="module")
def trained(tmp_path_factory, fixtures_dir: Path) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("cli")
    rows = [
        json.loads(x)
        for x in (fixtures_dir / "classify_messages.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    data = tmp / "train.jsonl"
    data.write_text(
        "".join(
            json.dumps({"content": r["text"], "cat": r["label"]}, ensure_ascii=False) + "\n" for r in rows
        ),
        encoding="utf-8",
    )
    out = tmp / "model"
    code = cli(
        ["-q", "train", "--data", str(data), "--text-field", "content", "--label-field", "cat",
         "--method", "tfidf", "--taxonomy", "messages", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    return data, out


def test_registered() -> None:
    # the real parser of `govnlp` offers the classify module's commands (not just a name in a tuple)
    from govnlp.cli import build_parser

    parser = build_parser()
    for command in ("train", "tag", "evaluate"):
        with pytest.raises(SystemExit) as exc:
            parser.parse_args([command, "--help"])
        assert exc.value.code == 0, command
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["no-such-command"])
    assert exc.value.code == 2


def test_train_writes_a_loadable_folder(trained, capsys) -> None:
    _, out = trained
    assert (out / "manifest.json").is_file()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["method"] == "tfidf" and len(manifest["classes"]) == 4


def test_tag_texts_and_file(trained, tmp_path, capsys) -> None:
    data, out = trained
    assert (
        cli(["tag", str(out), "学校食堂饭菜太贵，学生吃不饱", "公交线路减少，出行不便", "--top-k", "2"]) == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and all("\t" in line for line in lines)
    assert cli(["tag", str(out), "--data", str(data), "--text-field", "content", "--format", "jsonl"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    assert len(rows) == 48
    assert all(r["predicted"] in manifest_classes(out) for r in rows)
    correct = sum(r["predicted"] == r["cat"] for r in rows)
    assert correct / len(rows) > 0.9  # training data
    assert cli(["tag", str(out), "小区", "--abstain-below", "1.0"]) == 0
    assert "(abstain)" in capsys.readouterr().out


def manifest_classes(out: Path) -> list[str]:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))["classes"]


def test_evaluate_prints_report_and_plot(trained, tmp_path, capsys) -> None:
    data, out = trained
    png = tmp_path / "cm.png"
    code = cli(
        ["evaluate", str(out), "--data", str(data), "--text-field", "content", "--label-field", "cat",
         "--format", "json", "--plot", str(png)]
    )  # fmt: skip
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 48 and report["accuracy"] > 0.9 and len(report["confusion"]) == 4
    assert png.is_file()


def test_clear_errors(trained, tmp_path, capsys) -> None:
    data, out = trained
    assert cli(["train", "--data", str(data), "--out", str(tmp_path / "m")]) == 2  # default fields missing
    msg = capsys.readouterr().out
    assert "content" in msg and "--text-field" in msg
    assert cli(["tag", str(out)]) == 2
    assert cli(["tag", str(tmp_path / "nothing"), "文本"]) == 2
    assert cli(["train", "--data", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "m")]) == 2
    assert cli(
        ["train", "--data", str(data), "--text-field", "content", "--label-field", "cat", "--taxonomy", "cppcc",
         "--out", str(tmp_path / "m")]
    ) == 2  # fmt: skip
    assert "not in taxonomy" in capsys.readouterr().out


def test_train_tag_evaluate_on_proposal_jsonl(tmp_path, capsys) -> None:
    from test_classify_proposals import ROWS

    data = tmp_path / "proposals.jsonl"
    data.write_text(
        "".join(
            json.dumps({"title": t, "text": b, "category": c}, ensure_ascii=False) + "\n" for t, b, c in ROWS
        ),
        encoding="utf-8",
    )
    out = tmp_path / "model"
    assert cli(["-q", "train", "--data", str(data), "--out", str(out)]) == 0  # label field: category
    assert "12 texts, 3 classes" in capsys.readouterr().out
    assert cli(["tag", str(out), "--data", str(data), "--format", "jsonl"]) == 0
    tagged = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(tagged) == 12 and all(r["predicted"] in {"农林水利", "教育事业", "社会事业"} for r in tagged)
    assert cli(["evaluate", str(out), "--data", str(data)]) == 0
    report = capsys.readouterr().out
    assert "macro-F1" in report and "coverage" in report
