"""encode_dataset in one process (engine="local"): shards, resuming, inputs, the SearchIndex it makes.

The Ray engine is checked against this one in tests/test_scale_ray.py (marker ``scale``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from govnlp import SearchIndex, load_embedder
from govnlp.errors import ConfigError, FormatError
from govnlp.scale import encode_dataset, load_encoded
from govnlp.scale.encode import index_text, read_records
from scale_fixtures import make_records


def test_vectors_equal_single_process_encoding(tmp_path: Path) -> None:
    recs = make_records(120)
    enc = encode_dataset(recs, tmp_path / "enc", embedder="hash", engine="local", shard_size=50, clean=True)
    assert len(enc) == 120 and enc.manifest["shards"] == 3 and enc.shards_written == [0, 1, 2]
    assert enc.ids() == [r["id"] for r in recs]
    texts = [index_text(r["text"], clean=True) for r in recs]
    assert enc.index_texts() == texts
    assert texts[0] != recs[0]["text"] or "您好" not in recs[0]["text"]  # cleaning ran
    expected = load_embedder("hash").encode(texts)
    np.testing.assert_array_equal(enc.vectors(), expected)
    assert [r["year"] for r in enc.records()] == [r["year"] for r in recs]


def test_resume_computes_only_missing_shards(tmp_path: Path) -> None:
    recs = make_records(130)
    out = tmp_path / "enc"
    first = encode_dataset(recs, out, embedder="hash", engine="local", shard_size=40)
    before = first.vectors()
    # a crash after shards 0 and 2: shards 1 and 3 are missing, the manifest was never written
    (out / "shards" / "shard-00001.parquet").unlink()
    (out / "shards" / "shard-00003.parquet").unlink()
    (out / "manifest.json").unlink()
    with pytest.raises(FormatError, match="unfinished"):
        load_encoded(out)
    mtime = (out / "shards" / "shard-00000.parquet").stat().st_mtime_ns
    again = encode_dataset(recs, out, embedder="hash", engine="local", shard_size=40)
    assert again.shards_written == [1, 3]
    assert (out / "shards" / "shard-00000.parquet").stat().st_mtime_ns == mtime
    np.testing.assert_array_equal(again.vectors(), before)
    # nothing left to do
    assert encode_dataset(recs, out, embedder="hash", engine="local", shard_size=40).shards_written == []


def test_a_corrupt_shard_is_recomputed(tmp_path: Path) -> None:
    recs = make_records(60)
    out = tmp_path / "enc"
    encode_dataset(recs, out, embedder="hash", engine="local", shard_size=25)
    (out / "shards" / "shard-00001.parquet").write_bytes(b"not parquet")
    again = encode_dataset(recs, out, embedder="hash", engine="local", shard_size=25)
    assert again.shards_written == [1]
    assert again.ids() == [r["id"] for r in recs]


def test_resume_refuses_other_inputs_or_embedder(tmp_path: Path) -> None:
    recs = make_records(30)
    out = tmp_path / "enc"
    encode_dataset(recs, out, embedder="hash", engine="local", shard_size=10)
    with pytest.raises(ConfigError, match="digest"):
        encode_dataset(recs[:-1], out, embedder="hash", engine="local", shard_size=10)
    with pytest.raises(ConfigError, match="embedder"):
        encode_dataset(recs, out, embedder="tfidf", engine="local", shard_size=10)
    with pytest.raises(ConfigError, match="shard_size"):
        encode_dataset(recs, out, embedder="hash", engine="local", shard_size=20)


def test_bad_arguments(tmp_path: Path) -> None:
    recs = make_records(3)
    with pytest.raises(ConfigError, match="engine"):
        encode_dataset(recs, tmp_path / "a", embedder="hash", engine="spark")
    with pytest.raises(ConfigError, match="concurrency"):
        encode_dataset(recs, tmp_path / "a", embedder="hash", engine="local", concurrency=(3, 1))
    with pytest.raises(ConfigError, match="batch_size"):
        encode_dataset(recs, tmp_path / "a", embedder="hash", engine="local", batch_size=0)
    with pytest.raises(ConfigError, match="repeated"):
        encode_dataset(recs + recs[:1], tmp_path / "b", embedder="hash", engine="local")
    with pytest.raises(ConfigError, match="does not exist"):
        encode_dataset([str(tmp_path / "nope.jsonl")], tmp_path / "c", embedder="hash", engine="local")


def test_inputs_jsonl_parquet_dataset_and_reply_files(tmp_path: Path, fixtures_dir: Path) -> None:
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    recs = make_records(20)
    jl = tmp_path / "recs.jsonl"
    jl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    pq.write_table(pa.Table.from_pylist(recs), tmp_path / "recs.parquet")
    ds = datasets.Dataset.from_list(recs)
    from_jsonl = read_records(jl)
    assert from_jsonl == read_records(tmp_path / "recs.parquet") == read_records(ds)
    assert [r["id"] for r in from_jsonl] == [r["id"] for r in recs]
    replies = read_records(fixtures_dir / "replies")
    assert len({r["doc_id"] for r in replies}) >= 5
    assert all(r["id"].startswith(r["doc_id"] + "/") for r in replies)
    enc = encode_dataset(ds, tmp_path / "enc", embedder="hash", engine="local")
    dset = enc.to_dataset()
    assert dset.num_rows == 20 and dset.column_names == ["id", "record", "index_text", "vector"]
    np.testing.assert_array_equal(np.asarray(dset["vector"], dtype=np.float32), enc.vectors())
    rows = [
        json.loads(line) for line in enc.write_jsonl(tmp_path / "out.jsonl").read_text("utf-8").splitlines()
    ]
    assert [r["id"] for r in rows] == [r["id"] for r in recs]
    assert rows[3]["record"] == recs[3]
    np.testing.assert_allclose(np.asarray([r["vector"] for r in rows], dtype=np.float32), enc.vectors())


def test_to_search_index_matches_search_index_build(tmp_path: Path) -> None:
    recs = make_records(80)
    enc = encode_dataset(recs, tmp_path / "enc", embedder="hash", engine="local", shard_size=30)
    built = SearchIndex.build(recs, embedder="hash")
    from_enc = enc.to_search_index()
    query = "老旧小区加装电梯的补贴"
    filters = {"year": {"gte": 2019}, "kind": ["提案答复", "建议答复"]}
    for mode in ("dense", "hybrid", "lexical"):
        a = built.search(query, k=8, mode=mode, filters=filters)
        b = from_enc.search(query, k=8, mode=mode, filters=filters)
        assert [h.id for h in a] == [h.id for h in b]
        assert [h.record for h in a] == [h.record for h in b]
    # it saves and loads as an index of the real embedder (same name and fingerprint)
    from_enc.save(tmp_path / "idx")
    loaded = SearchIndex.load(tmp_path / "idx")
    assert [h.id for h in loaded.search(query, k=5, mode="dense")] == [
        h.id for h in built.search(query, k=5, mode="dense")
    ]
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["embedder"]["fingerprint"] == load_embedder("hash").fingerprint()
