"""The main job end to end with a weight-free embedder: build, match, save/load, the demo index, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from govnlp.cli import main
from govnlp.errors import ConfigError, FormatError, ParseError
from govnlp.pipeline import MatchResult, Pipeline, demo_pipeline, load_sources, sample_paths

PROPOSAL = (
    "关于加强老旧小区物业管理的提案\n"
    "一、存在问题\n"
    "1.物业服务收费不透明，业主不清楚钱花在哪里。\n"
    "2.小区停车位严重不足，乱停乱放现象普遍。\n"
    "二、建议\n"
    "1.建议加强对物业服务企业的监管，推行收费公示。\n"
    "2.建议挖掘停车资源，推动机关单位停车场向社会开放。\n"
)


@pytest.fixture(scope="module")
def pipe() -> Pipeline:
    return Pipeline.build(sample_paths(), embedder="hash", show_progress_bar=False)


def test_samples_all_parse_with_measures() -> None:
    docs = load_sources(sample_paths())
    assert len(docs) == 10
    assert all(d.measures for d in docs if d.kind != "留言答复")
    assert {d.kind for d in docs} >= {"提案答复", "建议答复", "留言答复"}


def test_match_returns_problems_with_sourced_measures(pipe: Pipeline) -> None:
    result = pipe.match(PROPOSAL, k=3)
    assert isinstance(result, MatchResult)
    assert len(result.items) >= 2
    for item in result.items:
        assert 1 <= len(item.hits) <= 3
        assert [h.rank for h in item.hits] == list(range(1, len(item.hits) + 1))
        assert all(h.unit in ("measure", "paragraph", "document") for h in item.hits)
        assert all(h.reply_title or h.date for h in item.hits)  # a message reply has no title
        assert item.categories and 0.0 <= item.categories[0].score <= 1.0
    parking = next(i for i in result.items if "停车" in i.query.text)
    assert any("停车" in h.text for h in parking.hits)
    assert result.categories
    json.dumps(result.to_dict(), ensure_ascii=False)  # JSON-safe


def test_match_filters_apply(pipe: Pipeline) -> None:
    result = pipe.match("建议加强校园食品安全监管", k=5, filters={"year": {"gte": 2024}})
    hits = [h for i in result.items for h in i.hits]
    assert hits and all(h.date and h.date >= "2024" for h in hits)


def test_match_rejects_empty_text(pipe: Pipeline) -> None:
    with pytest.raises(ParseError):
        pipe.match("   ")


def test_save_load_round_trip(pipe: Pipeline, tmp_path: Path) -> None:
    pipe.save(tmp_path / "pipe")
    loaded = Pipeline.load(tmp_path / "pipe")
    a, b = pipe.match(PROPOSAL, k=3), loaded.match(PROPOSAL, k=3)
    assert [[h.id for h in i.hits] for i in a.items] == [[h.id for h in i.hits] for i in b.items]
    assert [c.label for c in a.categories] == [c.label for c in b.categories]


def test_load_rejects_other_folders(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(FormatError):
        Pipeline.load(tmp_path / "empty")


def test_build_needs_sources(tmp_path: Path) -> None:
    (tmp_path / "nothing").mkdir()
    with pytest.raises(ConfigError, match="no replies"):
        Pipeline.build([tmp_path / "nothing"], embedder="hash")
    with pytest.raises(TypeError):
        Pipeline.build(str(tmp_path), embedder="hash")  # type: ignore[arg-type]


def test_demo_pipeline_is_cached(tmp_path: Path) -> None:
    first = demo_pipeline("hash", cache=tmp_path / "demo", show_progress_bar=False)
    assert (tmp_path / "demo" / "manifest.json").is_file()
    second = demo_pipeline("hash", cache=tmp_path / "demo", show_progress_bar=False)
    assert len(first.index) == len(second.index) > 0


def test_cli_match_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GOVNLP_CACHE", str(tmp_path / "cache"))
    assert main(["--quiet", "match", PROPOSAL, "--embedder", "hash", "--k", "2", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["items"] and all(len(i["hits"]) == 2 for i in out["items"])


def test_cli_match_table_and_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GOVNLP_CACHE", str(tmp_path / "cache"))
    assert main(["--quiet", "match", "建议缓解中心城区停车难", "--embedder", "hash", "--k", "2"]) == 0
    out = capsys.readouterr().out
    assert "来源：" in out and "停车" in out
    assert main(["--quiet", "match", "停车", "--index", str(tmp_path / "missing")]) == 2
    assert "error" in capsys.readouterr().err


def test_loaded_pipeline_reloads_its_embedder_by_spec(tmp_path: Path) -> None:
    from govnlp.embedders import load_embedder

    built = Pipeline.build(sample_paths()[:3], embedder=load_embedder("hash"), classifier=None)
    built.save(tmp_path / "p")
    loaded = Pipeline.load(tmp_path / "p")  # no embedder given: the recorded spec is used
    query = "建议加强对物业服务企业的监管"
    assert [h.id for h in loaded.index.search(query, k=3, mode="dense")] == [
        h.id for h in built.index.search(query, k=3, mode="dense")
    ]


def test_build_indexes_a_repeated_reply_once(tmp_path: Path) -> None:
    text = sample_paths()[5].read_text(encoding="utf-8")
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(text, encoding="utf-8")
    once = Pipeline.build([tmp_path / "a.txt"], embedder="hash", classifier=None)
    twice = Pipeline.build([tmp_path], embedder="hash", classifier=None)
    assert len(twice.index) == len(once.index) > 0


def test_match_on_an_index_of_plain_records() -> None:
    from govnlp.search import SearchIndex

    records = [
        {"id": "r1", "text": "推行物业服务收费公示制度，查处违规收费", "year": 2023},
        {"id": "r2", "text": "新建临时停车场，新增停车泊位2650个", "year": 2024},
    ]
    pipe = Pipeline(SearchIndex.build(records, embedder="hash"), classifier=None)
    hits = pipe.match("建议缓解停车难问题", k=2).items[0].hits
    assert {h.id for h in hits} == {"r1", "r2"}
