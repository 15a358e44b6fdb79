"""govnlp route train / govnlp route DIR TEXT, and routing beside the measures in Pipeline.match."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from govnlp.cli import main
from govnlp.pipeline import Pipeline, format_result, sample_paths
from govnlp.routing import AgencyRouter

ROWS = [
    {
        "id": "a1",
        "title": "关于优化城区公交线路的建议",
        "lead_agency": "市交通运输局",
        "co_agencies": ["市财政局"],
    },
    {"id": "a2", "title": "关于增设公交站点的建议", "lead_agency": "市交通运输局", "co_agencies": []},
    {"id": "a3", "title": "关于新建城东小学的建议", "lead_agency": "市教育局", "co_agencies": ["市住建局"]},
    {
        "id": "a4",
        "title": "关于提高乡村教师待遇的建议",
        "lead_agency": "市教育局",
        "co_agencies": ["市财政局"],
    },
    {
        "id": "a5",
        "title": "关于发展居家养老服务的建议",
        "lead_agency": "市民政局",
        "co_agencies": ["市财政局"],
    },
]


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    path = tmp_path / "assignments.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS), encoding="utf-8")
    return path


def test_route_train_then_recommend(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "router"
    assert (
        main(["--quiet", "route", "train", "--data", str(data), "--out", str(out), "--embedder", "hash"]) == 0
    )
    assert "trained on 5 proposals" in capsys.readouterr().out
    assert main(["--quiet", "route", str(out), "关于增加公交班次的建议", "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["lead"][0]["agency"] == "市交通运输局"
    assert got["lead"][0]["evidence"][0] in {"a1", "a2"}
    assert {"agency", "score", "evidence"} <= set(got["co"][0])
    assert main(["--quiet", "route", str(out), "关于小学教师的建议", "--k", "2"]) == 0
    text = capsys.readouterr().out
    assert "主办" in text and "1. 市教育局" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["route", "train", "--out", "x"], "needs --data"),
        (["route", "train", "--data", "nowhere.jsonl", "--out", "x"], "does not exist"),
        (["route", "no_such_router", "关于公交的建议"], "no_such_router"),
    ],
)
def test_route_errors_are_one_line_exit_2(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["--quiet", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_route_train_names_a_bad_row(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        data.read_text(encoding="utf-8") + '{"id": "x", "title": "关于道路的建议"}\n', encoding="utf-8"
    )
    assert (
        main(
            [
                "--quiet",
                "route",
                "train",
                "--data",
                str(bad),
                "--out",
                str(tmp_path / "r"),
                "--embedder",
                "none",
            ]
        )
        == 2
    )
    assert "row 6" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_pipeline_match_shows_routing_with_evidence(tmp_path: Path) -> None:
    pipe = Pipeline.build(sample_paths(), embedder="hash", classifier=None, show_progress_bar=False)
    assert isinstance(pipe.router, AgencyRouter)  # learnt from the sample replies' agencies
    result = pipe.match("关于加强老旧小区物业服务监管的建议", k=2)
    assert result.routing is not None
    assert "住房和城乡建设局" in result.routing.lead[0].agency
    assert result.routing.lead[0].evidence
    assert result.to_dict()["routing"]["lead"][0]["agency"] == result.routing.lead[0].agency
    assert "建议主办" in format_result(result)
    pipe.save(tmp_path / "pipe")
    again = Pipeline.load(tmp_path / "pipe")
    assert again.match("关于加强老旧小区物业服务监管的建议", k=2).routing == result.routing
    plain = Pipeline(pipe.index, classifier=None)
    assert plain.match("关于加强老旧小区物业服务监管的建议", k=2).routing is None
