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
