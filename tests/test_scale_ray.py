"""encode_dataset on a local Ray instance (``ray.init(num_cpus=2)``) against single-process encoding.

Marker ``scale`` (needs ``pip install -e '.[scale]'``); the real-model test is also marked ``model``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from govnlp.scale import encode_dataset
from govnlp.scale.encode import read_records
from scale_fixtures import make_records

pytestmark = pytest.mark.scale
ray = pytest.importorskip("ray")


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_vectors_equal_single_process_and_resume(tmp_path: Path) -> None:
    recs = make_records(500)
    local = encode_dataset(recs, tmp_path / "local", embedder="hash", engine="local", shard_size=100)
    out = tmp_path / "ray"
    enc = encode_dataset(
        recs, out, embedder="hash", engine="ray", shard_size=100, batch_size=32, concurrency=2
    )
    assert enc.shards_written == [0, 1, 2, 3, 4]
    assert enc.ids() == local.ids()
    assert enc.index_texts() == local.index_texts()  # cleaning ran in the actors, as in one process
    np.testing.assert_array_equal(enc.vectors(), local.vectors())  # the hash embedder: bit for bit
    # a crash that lost shards 1 and 4: the rerun computes those two only
    for i in (1, 4):
        (out / "shards" / f"shard-0000{i}.parquet").unlink()
    (out / "manifest.json").unlink()
    again = encode_dataset(
        recs, out, embedder="hash", engine="ray", shard_size=100, batch_size=32, concurrency=(1, 2)
    )
    assert again.shards_written == [1, 4]
    np.testing.assert_array_equal(again.vectors(), local.vectors())


def test_reply_files_parsed_by_ray_tasks(tmp_path: Path, fixtures_dir: Path) -> None:
    folder = fixtures_dir / "replies"
    assert read_records(folder, engine="ray") == read_records(folder, engine="local")
    enc = encode_dataset(folder, tmp_path / "enc", embedder="hash", engine="ray", shard_size=20)
    local = encode_dataset(folder, tmp_path / "local", embedder="hash", engine="local", shard_size=20)
    assert enc.records() == local.records()
    np.testing.assert_array_equal(enc.vectors(), local.vectors())


def test_ray_needs_an_embedder_spec(tmp_path: Path) -> None:
    from govnlp.embedders.hashing import HashEmbedder
    from govnlp.errors import ConfigError

    with pytest.raises(ConfigError, match="by name"):
        encode_dataset(make_records(5), tmp_path / "e", embedder=HashEmbedder(dim=64), engine="ray")


@pytest.mark.model
def test_default_model_on_ray_matches_single_process(tmp_path: Path) -> None:
    from govnlp import load_embedder
    from govnlp.scale.encode import index_text

    recs = make_records(48, seed=3)
    enc = encode_dataset(recs, tmp_path / "enc", embedder=None, engine="ray", batch_size=8, shard_size=16)
    single = load_embedder().encode([index_text(r["text"]) for r in recs], batch_size=32)
    cos = np.sum(enc.vectors() * single, axis=1)
    assert cos.min() >= 0.9999, cos.min()


def test_cli_index_build_engine_ray(
    tmp_path: Path, fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from govnlp import SearchIndex
    from govnlp.cli import main

    folder = fixtures_dir / "replies"
    out = tmp_path / "replies.index"
    assert (
        main(["index", "build", str(folder), "--out", str(out), "--embedder", "hash", "--engine", "ray"]) == 0
    )
    assert "Ray, 2 workers" in capsys.readouterr().out
    assert (tmp_path / "replies.index.shards" / "manifest.json").is_file()
    ray_index = SearchIndex.load(out)
    local = tmp_path / "local.index"
    assert main(["index", "build", str(folder), "--out", str(local), "--embedder", "hash"]) == 0
    local_index = SearchIndex.load(local)
    assert ray_index.ids() == local_index.ids()
    for mode in ("dense", "hybrid"):
        a = ray_index.search("加强监管", k=5, mode=mode)
        b = local_index.search("加强监管", k=5, mode=mode)
        assert [h.id for h in a] == [h.id for h in b]
        assert [h.score for h in a] == pytest.approx([h.score for h in b], abs=1e-6)
