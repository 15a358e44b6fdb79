"""MilvusIndex on Milvus Lite (a local .db file): same filters, same hits, same ids as SearchIndex.

Marker ``scale`` (needs ``pip install -e '.[scale]'``). Server mode (``uri="http://host:19530"``) runs the
same code path; it is not tested here (no Milvus server in CI).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from govnlp import SearchIndex
from govnlp.errors import ConfigError, EmbedderMismatchError, GovnlpError
from govnlp.scale._compat import compile_filters
from govnlp.scale.milvus_filters import milvus_filter
from scale_fixtures import AGENCIES, TOPICS, make_records

pytestmark = pytest.mark.scale
pytest.importorskip("pymilvus")

from govnlp.scale import MilvusIndex  # noqa: E402

FILTERS: list[dict[str, Any] | None] = [
    None,
    {"year": {"gte": 2020}},
    {"kind": ["提案答复", "建议答复"], "year": {"gte": 2018, "lte": 2022}},
    {"lead_agency": "市住建局"},
    {"co_agencies": "市教育局"},
    {"co_agencies": ["市教育局", "市卫生健康委"], "kind": "留言回复"},
    {"date": {"gte": "2019-06-01", "lt": "2021-01-01"}},
    {"year": [2017, "2017", 2023]},
]
QUERIES = [f"关于{t}的建议" for t in TOPICS] + ["老旧小区加装电梯补贴资金", "学校门口接送车辆拥堵"]


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return make_records(600, seed=7)


@pytest.fixture(scope="module")
def faiss_index(records: list[dict[str, Any]]) -> SearchIndex:
    return SearchIndex.build(records, embedder="hash", index_type="exact")


@pytest.fixture(scope="module")
def milvus(tmp_path_factory: pytest.TempPathFactory, faiss_index: SearchIndex) -> Iterator[MilvusIndex]:
    uri = str(tmp_path_factory.mktemp("milvus") / "govnlp.db")
    index = MilvusIndex.from_search_index(faiss_index, uri, "replies", index_type="HNSW")
    index.flush()
    yield index
    index.close()


def overlap(a: list[Any], b: list[Any]) -> float:
    if not a and not b:
        return 1.0
    return len({h.id for h in a} & {h.id for h in b}) / max(len(a), len(b))


def test_dense_top10_matches_faiss_with_filters(faiss_index: SearchIndex, milvus: MilvusIndex) -> None:
    assert len(milvus) == len(faiss_index) == 600
    scores = []
    for f in FILTERS:
        for q in QUERIES:
            a = faiss_index.search(q, k=10, mode="dense", filters=f)
            b = milvus.search(q, k=10, mode="dense", filters=f)
            assert len(b) == len(a)  # filters before ranking: k hits whenever k records match
            scores.append(overlap(a, b))
            for hit in b:
                assert hit.record == faiss_index.get(hit.id)  # the same record objects come back
                assert hit.dense_score == pytest.approx(
                    next((h.dense_score for h in a if h.id == hit.id), hit.dense_score), abs=1e-5
                )
    assert sum(scores) / len(scores) >= 0.95, sum(scores) / len(scores)


def test_filters_select_exactly_what_govnlp_selects(
    milvus: MilvusIndex, records: list[dict[str, Any]]
) -> None:
    fields = milvus._meta["fields"]  # type: ignore[index]
    for f in FILTERS[1:]:
        pred = compile_filters(f, fields)
        assert pred is not None
        expected = {r["id"] for r in records if pred(r)}
        rows = milvus._client.query(milvus.collection, filter=milvus_filter(f, fields), output_fields=["id"])
        assert {r["id"] for r in rows} == expected, f


def test_hits_are_search_index_hits(milvus: MilvusIndex, faiss_index: SearchIndex) -> None:
    for mode in ("dense", "lexical", "hybrid"):
        hits = milvus.search("既有住宅加装电梯", k=5, mode=mode, filters={"year": {"gte": 2019}})
        assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
        assert all(type(h).__name__ == "Hit" and h.record["year"] >= 2019 for h in hits)
        assert all(h.to_dict()["record"] == faiss_index.get(h.id) for h in hits)
        if mode != "lexical":
            assert all(h.dense_score is not None for h in hits)
        if mode != "dense":
            assert all(h.lexical_score is not None for h in hits)
    # BM25 with the jieba analyzer finds the Chinese words
    lex = milvus.search("加装电梯", k=5, mode="lexical")
    assert lex and all("加装电梯" in h.record["text"] for h in lex)
    batch = milvus.search_batch(QUERIES[:3], k=3, mode="dense")
    assert [[h.id for h in hs] for hs in batch] == [
        [h.id for h in milvus.search(q, k=3, mode="dense")] for q in QUERIES[:3]
    ]


def test_untranslatable_filters_raise_never_drop(milvus: MilvusIndex) -> None:
    for bad in ({"year": {"gte": "2020"}}, {"co_agencies": {"gt": "市"}}, {"date": {"lte": 2020}}):
        with pytest.raises(GovnlpError, match="filter on"):
            milvus.search("老旧小区", k=5, filters=bad)
    with pytest.raises(ConfigError, match="unknown filter field"):
        milvus.search("老旧小区", k=5, filters={"nope": 1})
    with pytest.raises(TypeError):
        milvus.search(["老旧小区"], k=5)  # type: ignore[arg-type]


def test_upsert_delete_reopen_keep_ids(tmp_path: Path) -> None:
    uri = str(tmp_path / "crud.db")
    recs = make_records(40, seed=11)
    mil = MilvusIndex.build(recs, uri, "crud", embedder="hash", index_type="FLAT")
    assert len(mil) == 40 and "rec-00003" in mil
    with pytest.raises(ConfigError, match="already in the collection"):
        mil.add(recs[:2])
    with pytest.raises(ConfigError, match="already exists"):
        MilvusIndex.build(recs, uri, "crud", embedder="hash")
    new = dict(recs[3], text="关于背街小巷路灯的问题，已安排维修队伍逐条排查。", year=2025)
    assert mil.upsert([new]) == ["rec-00003"]
    assert len(mil) == 40 and mil.get("rec-00003")["year"] == 2025
    hit = mil.search("背街小巷路灯维修", k=1, mode="dense")[0]
    assert hit.id == "rec-00003"
    assert mil.delete(["rec-00001", "rec-00002"]) == 2 and len(mil) == 38
    with pytest.raises(ConfigError, match="not in the collection"):
        mil.delete(["rec-00001"])
    assert mil.delete(["rec-00001"], missing="ignore") == 0
    mil.close()
    again = MilvusIndex(uri, "crud")  # the embedder and the field types come from the collection
    assert len(again) == 38 and again.search("背街小巷路灯维修", k=1, mode="dense")[0].id == "rec-00003"
    assert again.fields == sorted(["id", "year", "date", "kind", "lead_agency", "co_agencies"])
    with pytest.raises(EmbedderMismatchError):
        MilvusIndex(uri, "crud", embedder="tfidf")
    again.close()


def test_reply_documents_upsert_replaces_the_document(tmp_path: Path, fixtures_dir: Path) -> None:
    from govnlp import parse_reply

    docs = [parse_reply(p) for p in sorted((fixtures_dir / "replies").glob("*.txt"))[:3]]
    mil = MilvusIndex.build(docs, str(tmp_path / "docs.db"), embedder="hash", index_type="FLAT")
    n = len(mil)
    ref = SearchIndex.build(docs, embedder="hash")
    assert n == len(ref)
    assert mil.upsert(docs[:1]) and len(mil) == n
    hits = mil.search("答复", k=3, mode="dense", filters={"doc_id": docs[0].id})
    assert hits and all(h.record["doc_id"] == docs[0].id for h in hits)


def test_random_filters_against_govnlp(milvus: MilvusIndex, records: list[dict[str, Any]]) -> None:
    rng = random.Random(5)
    fields = milvus._meta["fields"]  # type: ignore[index]
    for _ in range(30):
        f: dict[str, Any] = {}
        if rng.random() < 0.6:
            f["year"] = {rng.choice(["gt", "gte", "lt", "lte", "eq"]): rng.randint(2015, 2025)}
        if rng.random() < 0.5:
            f["lead_agency"] = rng.sample(AGENCIES, rng.randint(1, 3))
        if rng.random() < 0.4:
            f["co_agencies"] = rng.choice(AGENCIES)
        if not f:
            continue
        pred = compile_filters(f, fields)
        assert pred is not None
        expected = {r["id"] for r in records if pred(r)}
        rows = milvus._client.query(milvus.collection, filter=milvus_filter(f, fields), output_fields=["id"])
        assert {r["id"] for r in rows} == expected, f
