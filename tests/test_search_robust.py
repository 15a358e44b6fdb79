"""SearchIndex under bad input and concurrent use: failed mutations change nothing, k is bounded,
filters coerce or refuse, damaged folders give FormatError, one writer and many readers are safe."""

from __future__ import annotations

import json
import math
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import govnlp.cli
from govnlp.cli import main
from govnlp.errors import ConfigError, FormatError, GovnlpError
from govnlp.search import SearchIndex

RECORDS = [
    {"id": f"r{i:03d}", "text": text, "year": 2018 + i % 6, "kind": ["提案答复", "建议答复"][i % 2]}
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
        ]
    )
]


@pytest.fixture
def index() -> SearchIndex:
    return SearchIndex.build(RECORDS, embedder="hash", index_type="exact")


def _snapshot(idx: SearchIndex) -> tuple[list[str], list[dict[str, object]], list[list[str]]]:
    hits = idx.search_batch(["老旧小区加装电梯", "食品安全"], k=5)
    return idx.ids(), [idx.get(i) for i in idx.ids()], [[h.id for h in hs] for hs in hits]


# -- failed mutations change nothing ---------------------------------------------------------------
def test_upsert_with_a_lone_surrogate_raises_and_keeps_the_old_record(index: SearchIndex) -> None:
    before = _snapshot(index)
    with pytest.raises(GovnlpError, match="surrogate"):
        index.upsert([{"id": "r004", "text": "新文本\udac0"}])
    assert index.get("r004")["text"] == RECORDS[4]["text"]
    assert _snapshot(index) == before
    with pytest.raises(GovnlpError, match="surrogate"):
        index.add([{"id": "r100", "text": "好的文本"}, {"id": "r101", "text": "坏\udac0"}])
    assert "r100" not in index and _snapshot(index) == before


def test_upsert_keeps_the_old_records_when_the_embedder_fails(index: SearchIndex) -> None:
    before = _snapshot(index)
    emb = index.embedder
    real = emb.encode

    def broken(texts: list[str], **kw: object) -> np.ndarray:
        if kw.get("kind") == "passage":
            raise RuntimeError("model crashed")
        return real(texts, **kw)  # type: ignore[arg-type]

    emb.encode = broken  # type: ignore[method-assign]
    try:
        with pytest.raises(RuntimeError, match="crashed"):
            index.upsert([{"id": "r004", "text": "新的措施：建设充电桩"}])
    finally:
        emb.encode = real  # type: ignore[method-assign]
    assert _snapshot(index) == before


def test_metadata_that_cannot_be_saved_is_refused_at_add(index: SearchIndex, tmp_path: Path) -> None:
    n = len(index)
    for bad in ({"year": float("nan")}, {"year": math.inf}, {"when": object()}, {"tags": {1, 2}}):
        with pytest.raises(ConfigError, match="cannot be saved as JSON"):
            index.add([{"id": "x1", "text": "新增一条记录", **bad}])
        assert len(index) == n and "x1" not in index
    index.add([{"id": "x1", "text": "新增一条记录", "year": 2024.0, "tags": ["a"], "extra": {"k": None}}])
    index.save(tmp_path / "idx")
    text = (tmp_path / "idx" / "records.jsonl").read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text
    assert SearchIndex.load(tmp_path / "idx").get("x1")["tags"] == ["a"]


# -- k ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_huge_k_is_bounded_by_the_index_size(index: SearchIndex, mode: str) -> None:
    t = time.perf_counter()
    hits = index.search("监管", k=10**9, mode=mode)
    assert time.perf_counter() - t < 2.0
    assert 0 < len(hits) <= len(index)
    assert len(index.search("监管", k=10**9, mode=mode, filters={"kind": "提案答复"})) <= 4


def test_k_accepts_numpy_integers_and_refuses_bool(index: SearchIndex) -> None:
    assert len(index.search("监管", k=np.int64(3))) == 3
    assert len(index.search("监管", k=np.int32(2), mode="dense")) == 2
    for bad in (True, False, 0, -1, 2.0, "3", np.float64(3)):
        with pytest.raises(ConfigError, match="k must be a positive int"):
            index.search("监管", k=bad)  # type: ignore[arg-type]


def test_cli_huge_k_prints_hits_not_a_traceback(
    index: SearchIndex, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(govnlp.cli, "_COMMAND_MODULES", ("index",))
    index.save(tmp_path / "idx")
    argv = ["-q", "search", str(tmp_path / "idx"), "监管", "--k", "1000000000", "--format", "jsonl"]
    assert main(argv) == 0
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    assert 0 < len(out.out.strip().splitlines()) <= len(index)


# -- queries ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_a_blank_query_has_no_hits(index: SearchIndex, mode: str) -> None:
    assert index.search("", mode=mode) == []
    assert index.search(" \n\u3000 ", mode=mode) == []
    batch = index.search_batch(["", "老旧小区"], k=3, mode=mode)
    assert batch[0] == [] and batch[1]


def test_a_query_with_a_lone_surrogate_is_a_config_error(index: SearchIndex) -> None:
    with pytest.raises(ConfigError, match="surrogate"):
        index.search("小区\udc80", mode="hybrid")


# -- filters ---------------------------------------------------------------------------------------
def test_a_string_equality_filter_coerces_like_a_range(index: SearchIndex) -> None:
    by_int = {h.id for h in index.search("监管", k=100, filters={"year": 2020})}
    assert by_int and {index.get(i)["year"] for i in by_int} == {2020}
    assert {h.id for h in index.search("监管", k=100, filters={"year": "2020"})} == by_int
    assert {h.id for h in index.search("监管", k=100, filters={"year": ["2020", "1999"]})} == by_int
    assert {h.id for h in index.search("监管", k=100, filters={"year": {"in": ["2020"]}})} == by_int
    assert {h.id for h in index.search("监管", k=100, filters={"year": {"eq": "2020"}})} == by_int
    ranged = {h.id for h in index.search("监管", k=100, filters={"year": {"gte": "2022"}})}
    assert ranged == {h.id for h in index.search("监管", k=100, filters={"year": {"gte": 2022}})}


@pytest.mark.parametrize(
    "flt",
    [
        {"year": float("nan")},
        {"year": None},
        {"year": {"gte": None}},
        {"year": {"lt": float("nan")}},
        {"year": [2020, None]},
        {"year": {"in": []}},
        {"year": {"gte": [2020]}},
    ],
)
def test_null_or_nan_filters_are_errors(index: SearchIndex, flt: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="filter on 'year'"):
        index.search("监管", filters=flt)


# -- damaged folders -------------------------------------------------------------------------------
@pytest.mark.parametrize("lexical", ["bm25", "bm25+tfidf"])
def test_a_truncated_lexical_matrix_is_a_format_error(tmp_path: Path, lexical: str) -> None:
    SearchIndex.build(RECORDS, embedder="hash", lexical=lexical).save(tmp_path / "idx")
    tf = next((tmp_path / "idx" / "lexical").rglob("tf.npz"))
    tf.write_bytes(tf.read_bytes()[: len(tf.read_bytes()) // 2])
    with pytest.raises(FormatError, match="lexical"):
        SearchIndex.load(tmp_path / "idx")


def test_invalid_utf8_in_records_is_a_format_error(tmp_path: Path) -> None:
    SearchIndex.build(RECORDS, embedder="hash").save(tmp_path / "idx")
    path = tmp_path / "idx" / "records.jsonl"
    path.write_bytes(path.read_bytes().replace("老旧".encode(), b"\xff\xfe", 1))
    with pytest.raises(FormatError, match=r"records\.jsonl"):
        SearchIndex.load(tmp_path / "idx")


# -- one writer, many readers ----------------------------------------------------------------------
def test_searches_while_another_thread_upserts_and_deletes(index: SearchIndex) -> None:
    errors: list[BaseException] = []
    stop = threading.Event()
    counts: list[int] = []

    def reader(seed: int) -> None:
        rng = np.random.default_rng(seed)
        n = 0
        try:
            while not stop.is_set():
                mode = ["hybrid", "dense", "lexical"][int(rng.integers(3))]
                flt = {"kind": "提案答复"} if rng.random() < 0.3 else None
                for h in index.search("监管 小区 垃圾", k=5, mode=mode, filters=flt):
                    assert h.record["id"] == h.id
                index.ids()
                n += 1
        except BaseException as exc:
            errors.append(exc)
        counts.append(n)

    def writer() -> None:
        try:
            for step in range(60):
                rid = f"w{step % 7}"
                index.upsert(
                    [{"id": rid, "text": f"新增措施第{step}条：加强监管，推进小区改造。", "year": 2024}]
                )
                index.upsert([{"id": "r004", "text": f"增设公交线路第{step}次调整。", "year": 2022}])
                if step % 3 == 2:
                    index.delete([f"w{(step + 3) % 7}"], missing="ignore")
        except BaseException as exc:
            errors.append(exc)
        finally:
            stop.set()

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(4)]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]
    assert sum(counts) > 0
    # the index is consistent afterwards: every record can be found by its own text
    for rid in index.ids():
        assert rid in {h.id for h in index.search(index.get(rid)["text"], k=len(index), mode="lexical")}
    assert json.loads(json.dumps(index.get("r004")))["year"] == 2022


def test_cli_build_from_a_jsonl_that_is_not_utf8_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(govnlp.cli, "_COMMAND_MODULES", ("index",))
    bad = tmp_path / "records.jsonl"
    bad.write_bytes('{"id": "a", "text": "老旧小区改造"}\n'.encode("gbk"))
    argv = ["-q", "index", "build", str(bad), "--out", str(tmp_path / "idx"), "--embedder", "hash"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "UTF-8" in err
    assert not (tmp_path / "idx").exists()


@pytest.mark.parametrize(
    "edit",
    [
        {"next_label": "abc"},
        {"batch_size": "many"},
        {"batch_size": 0},
        {"embedder": {"name": "hash", "dim": "x", "fingerprint": "f"}},
        {"embedder": None},
        {"index": "faiss"},
        {"index": {"backend": "faiss", "index_type": "bogus"}},
        {"index_type": "bogus"},
        {"fusion": {"method": "rrf", "alpha": 5}},
        {"lexical": {"kind": "bm25", "tokenizer": 7, "k1": 1.2, "b": 0.75}},
        {"counts": {"records": "x"}},
        {"cleaning": []},
    ],
    ids=lambda e: str(e)[:40],
)
def test_hand_edited_manifest_values_are_govnlp_errors(tmp_path: Path, edit: dict[str, object]) -> None:
    SearchIndex.build(RECORDS, embedder="hash", index_type="exact").save(tmp_path / "idx")
    path = tmp_path / "idx" / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**manifest, **edit}), encoding="utf-8")
    with pytest.raises(GovnlpError):
        SearchIndex.load(tmp_path / "idx").search("监管", k=3)


def test_a_hand_lowered_next_label_cannot_reuse_labels(tmp_path: Path) -> None:
    SearchIndex.build(RECORDS, embedder="hash").save(tmp_path / "idx")
    path = tmp_path / "idx" / "manifest.json"
    path.write_text(
        json.dumps({**json.loads(path.read_text(encoding="utf-8")), "next_label": 0}), encoding="utf-8"
    )
    index = SearchIndex.load(tmp_path / "idx")
    index.add([{"id": "new", "text": "新增：推进充电桩建设"}])
    assert index.search("充电桩", k=1, mode="lexical")[0].id == "new" and "r000" in index


def test_adding_nothing_loads_no_model(tmp_path: Path) -> None:
    SearchIndex.build(RECORDS, embedder="hash").save(tmp_path / "idx")
    index = SearchIndex.load(tmp_path / "idx")
    assert index.add([]) == [] and index.upsert([]) == []
    assert index.delete(["r001"]) == 1
    assert index._embedder is None  # a lexical-only session of a loaded index never loads the model
