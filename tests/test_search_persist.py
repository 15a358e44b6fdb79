"""SearchIndex.save / load: round trip, atomic replace, checked counts, versions and embedders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from govnlp.embedders import load_embedder
from govnlp.errors import ConfigError, EmbedderMismatchError, FormatError
from govnlp.search import SearchIndex

RECORDS = [
    {"id": f"r{i}", "text": text, "year": 2018 + i % 6, "kind": ["提案答复", "建议答复"][i % 2]}
    for i, text in enumerate(
        [
            "推进老旧小区改造，支持既有住宅加装电梯。",
            "加强物业服务企业监管，建立业主委员会指导机制。",
            "优化营商环境，推行首违不罚和包容审慎监管。",
            "开展跨部门联合监管，压减检查计划数39.3%。",
            "增设公交线路，优化公共交通站点布局。",
            "治理占道经营和流动摊贩，规范城市管理。",
            "加强食品安全抽检，整治校园周边食品店。",
            "推进生活垃圾分类，完善餐厨垃圾收运体系。",
            "12345热线受理群众诉求，按时办结。",
            "建设电动自行车充电桩，消除消防安全隐患。",
        ]
    )
]
QUERIES = ["老旧小区物业服务", "联合监管 检查", "垃圾分类", "充电桩 消防"]


def _results(index: SearchIndex) -> list[list[tuple[str, float, float | None, float | None]]]:
    out = []
    for mode in ("hybrid", "dense", "lexical"):
        for filters in (None, {"year": {"gte": 2020}}):
            for hits in index.search_batch(QUERIES, k=5, mode=mode, filters=filters):
                out.append([(h.id, h.score, h.dense_score, h.lexical_score) for h in hits])
    return out


@pytest.mark.parametrize("index_type", ["exact", "hnsw", "ivf", "numpy"])
def test_round_trip_gives_identical_results(tmp_path: Path, index_type: str) -> None:
    index = SearchIndex.build(RECORDS, embedder="hash", index_type=index_type, tokenizer="jieba", clean=True)
    index.delete(["r3"])
    index.save(tmp_path / "idx")
    loaded = SearchIndex.load(tmp_path / "idx")
    assert loaded.ids() == index.ids() and len(loaded) == 9
    assert _results(loaded) == _results(index)
    assert loaded.get("r1") == index.get("r1")
    m = json.loads((tmp_path / "idx" / "manifest.json").read_text(encoding="utf-8"))
    assert m["format"] == "govnlp.search_index" and m["format_version"] == 1
    assert m["counts"] == {"records": 9, "vectors": 9, "lexical": 9}
    assert m["embedder"]["name"] == load_embedder("hash").name and m["embedder"]["spec"] == "hash"
    assert m["lexical"]["tokenizer"] == "jieba" and m["cleaning"]["clean"] is True
    assert m["fusion"]["method"] == loaded.fusion["method"]
    # the loaded index keeps working: add after load continues the labels
    loaded.add([{"id": "new", "text": "新建停车位，缓解停车难。"}])
    assert loaded.search("停车难", k=1)[0].id == "new"
    assert not list(tmp_path.glob("*.pkl")) and not list((tmp_path / "idx").rglob("*.pkl"))


def test_load_is_lazy_about_the_embedder(tmp_path: Path) -> None:
    SearchIndex.build(RECORDS, embedder="hash").save(tmp_path / "idx")
    loaded = SearchIndex.load(tmp_path / "idx")
    loaded.search("垃圾分类", mode="lexical")
    assert loaded._embedder is None  # a lexical search loads no model
    loaded.search("垃圾分类", mode="dense")
    assert loaded._embedder is not None


def test_embedder_mismatch_names_both(tmp_path: Path) -> None:
    SearchIndex.build(RECORDS, embedder="hash").save(tmp_path / "idx")
    other = load_embedder("hash", dim=64)
    with pytest.raises(EmbedderMismatchError) as err:
        SearchIndex.load(tmp_path / "idx", embedder=other)
    assert load_embedder("hash").name in str(err.value) and other.name in str(err.value)
    same = SearchIndex.load(tmp_path / "idx", embedder=load_embedder("hash"))
    assert len(same) == len(RECORDS)
    # a spec recorded in the manifest that now resolves to another model is refused on first use
    m = json.loads((tmp_path / "idx" / "manifest.json").read_text(encoding="utf-8"))
    m["embedder"]["fingerprint"] = "0" * 64
    (tmp_path / "idx" / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    lazy = SearchIndex.load(tmp_path / "idx")
    with pytest.raises(EmbedderMismatchError):
        lazy.search("垃圾分类", mode="dense")


def test_interrupted_save_keeps_the_previous_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "idx"
    first = SearchIndex.build(RECORDS[:4], embedder="hash")
    first.save(path)
    before = {p.name: p.read_bytes() for p in path.rglob("*") if p.is_file()}
    bigger = SearchIndex.build(RECORDS, embedder="hash")

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full (simulated)")

    monkeypatch.setattr("govnlp.storage.write_jsonl", boom)  # fails after the vectors and lexical files
    with pytest.raises(OSError, match="simulated"):
        bigger.save(path)
    monkeypatch.undo()
    after = {p.name: p.read_bytes() for p in path.rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in tmp_path.iterdir()] == ["idx"]  # no half-written folder left beside it
    assert len(SearchIndex.load(path)) == 4


def test_half_folder_without_manifest_does_not_load(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    SearchIndex.build(RECORDS, embedder="hash").save(path)
    (path / "manifest.json").unlink()
    with pytest.raises(FormatError, match="manifest"):
        SearchIndex.load(path)
    with pytest.raises(FormatError, match="not a folder"):
        SearchIndex.load(tmp_path / "missing")


def test_mismatched_counts_and_versions(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    SearchIndex.build(RECORDS, embedder="hash").save(path)
    mpath = path / "manifest.json"
    good = mpath.read_text(encoding="utf-8")
    m = json.loads(good)
    m["counts"]["records"] = 11
    mpath.write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(FormatError, match="inconsistent"):
        SearchIndex.load(path)
    m = json.loads(good)
    m["format_version"] = 2
    mpath.write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(FormatError, match="version"):
        SearchIndex.load(path)
    m = json.loads(good)
    m["format"] = "govnlp.classifier"
    mpath.write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(FormatError, match=r"govnlp\.search_index"):
        SearchIndex.load(path)
    mpath.write_text(good, encoding="utf-8")
    lines = (path / "records.jsonl").read_text(encoding="utf-8").splitlines()
    (path / "records.jsonl").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    with pytest.raises(FormatError, match="inconsistent"):
        SearchIndex.load(path)


def test_labels_checked_across_files(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    SearchIndex.build(RECORDS, embedder="hash", index_type="numpy").save(path)
    labels = np.load(path / "labels.npy")
    np.save(path / "labels.npy", labels + 100)
    with pytest.raises(FormatError, match="other labels"):
        SearchIndex.load(path)


def test_save_overwrites_and_empty_index(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    SearchIndex.build(RECORDS, embedder="hash").save(path)
    SearchIndex.build(RECORDS[:2], embedder="hash").save(path)
    assert len(SearchIndex.load(path)) == 2
    SearchIndex(embedder="hash").save(tmp_path / "empty")
    empty = SearchIndex.load(tmp_path / "empty")
    assert len(empty) == 0 and empty.search("x") == []
    empty.add(RECORDS[:3])
    assert len(empty.search("老旧小区", k=3)) == 3


def test_embedder_objects_and_specs_survive_a_resave(tmp_path: Path) -> None:
    emb = load_embedder("hash", dim=64)  # an object: not reloadable by name
    SearchIndex.build(RECORDS, embedder=emb).save(tmp_path / "obj")
    lexical_only = SearchIndex.load(tmp_path / "obj")
    assert lexical_only.search("垃圾分类", mode="lexical")  # no embedder needed
    with pytest.raises(ConfigError, match="embedder="):
        lexical_only.search("垃圾分类", mode="dense")
    ok = SearchIndex.load(tmp_path / "obj", embedder=emb)
    assert ok.search("垃圾分类", k=1, mode="dense")[0].id == "r7"
    # a spec-built index loaded with an explicit embedder keeps its spec for the next save
    SearchIndex.build(RECORDS, embedder="hash").save(tmp_path / "spec")
    again = SearchIndex.load(tmp_path / "spec", embedder=load_embedder("hash"))
    again.save(tmp_path / "spec2")
    m = json.loads((tmp_path / "spec2" / "manifest.json").read_text(encoding="utf-8"))
    assert m["embedder"]["spec"] == "hash" and m["embedder"]["reloadable"] is True
    assert SearchIndex.load(tmp_path / "spec2").search("垃圾分类", k=1, mode="dense")[0].id == "r7"


V1 = Path(__file__).parent / "fixtures" / "search_index_v1"


@pytest.mark.parametrize("name", ["default", "bm25-numpy", "tfidf-hnsw"])
def test_folders_saved_before_the_search_package_load_and_answer_the_same(name: str, tmp_path: Path) -> None:
    # made by tests/fixtures/search_index_v1/make_fixture.py with govnlp as of commit 151d20a (search.py,
    # lexical.py and index/persist.py); the results were recorded by that code
    expected = json.loads((V1 / "expected.json").read_text(encoding="utf-8"))
    index = SearchIndex.load(V1 / name)
    for mode, runs in expected["results"][name].items():
        got = index.search_batch(expected["queries"], k=3, mode=mode)
        assert [[h.id for h in hs] for hs in got] == [[i for i, _ in run] for run in runs]
        scores = [h.score for hs in got for h in hs]
        assert scores == pytest.approx([s for run in runs for _, s in run], abs=2e-5)
    # and saving it again writes the same format
    index.save(tmp_path / "again")
    m_old = json.loads((V1 / name / "manifest.json").read_text(encoding="utf-8"))
    m_new = json.loads((tmp_path / "again" / "manifest.json").read_text(encoding="utf-8"))
    keys = ("format", "format_version", "embedder", "counts", "index", "index_type", "fusion", "lexical")
    keys += ("cleaning", "next_label", "batch_size", "files")
    assert {k: m_new[k] for k in keys} == {k: m_old[k] for k in keys}
