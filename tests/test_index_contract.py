"""Contract tests every VectorIndex backend runs, checked against numpy brute force."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from govnlp.errors import ConfigError
from govnlp.index import FaissIndex, NumpyIndex, VectorIndex, index_params, load_index, make_index
from govnlp.index import faiss_index as faiss_mod
from govnlp.testing.index import check_vector_index

DIM = 24
BACKENDS = ["numpy", "faiss-flat", "faiss-hnsw", "faiss-ivf"]
APPROX = ("faiss-hnsw", "faiss-ivf")


def _unit(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _make(kind: str) -> VectorIndex:
    if kind == "numpy":
        return NumpyIndex(DIM)
    if kind == "faiss-ivf":  # 8 of 10 lists probed: approximate, and short lists exercise the fallback
        return FaissIndex(DIM, index_type="ivf", nlist=10, nprobe=8)
    return FaissIndex(DIM, index_type="flat" if kind == "faiss-flat" else "hnsw", ef_search=256)


def _brute(vecs: np.ndarray, labels: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    ref = NumpyIndex(DIM)
    ref.add(vecs, labels)
    return ref.search(q, k)


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    vecs = _unit(rng, 400)
    labels = np.arange(1000, 1400, dtype=np.int64)[rng.permutation(400)]
    return vecs, labels, _unit(rng, 12)


def _assert_matches(
    kind: str,
    got: tuple[np.ndarray, np.ndarray],
    ref: tuple[np.ndarray, np.ndarray],
    min_recall: float = 0.95,
) -> None:
    gs, gl = got
    rs, rl = ref
    assert gs.shape == rs.shape and gl.shape == rl.shape
    if kind in APPROX:  # approximate: near-perfect recall on this small set, same scores where equal
        valid = rl >= 0
        overlap = np.mean(
            [
                len(set(gl[i][valid[i]]) & set(rl[i][valid[i]])) / max(valid[i].sum(), 1)
                for i in range(len(rl))
            ]
        )
        assert overlap >= min_recall
        assert ((gl >= 0) == valid).all()
    else:
        np.testing.assert_array_equal(gl, rl)
        np.testing.assert_allclose(gs, rs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", BACKENDS)
def test_search_matches_brute_force(kind: str, data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    vecs, labels, q = data
    index = _make(kind)
    assert isinstance(index, VectorIndex)
    index.add(vecs[:250], labels[:250])
    index.add(vecs[250:], labels[250:])
    assert len(index) == 400 and index.dim == DIM
    assert sorted(index.labels().tolist()) == sorted(labels.tolist())
    _assert_matches(kind, index.search(q, 10), _brute(vecs, labels, q, 10))


@pytest.mark.parametrize("kind", BACKENDS)
def test_k_larger_than_index_is_padded(kind: str, data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    vecs, labels, q = data
    index = _make(kind)
    index.add(vecs[:5], labels[:5])
    scores, got = index.search(q[:2], 8)
    assert got.shape == (2, 8)
    assert (got[:, :5] >= 0).all() and (got[:, 5:] == -1).all()
    assert np.isneginf(scores[:, 5:]).all()
    assert set(got[0, :5].tolist()) == set(labels[:5].tolist())


@pytest.mark.parametrize("kind", BACKENDS)
@pytest.mark.parametrize("subset_size", [1, 3, 10, 60, 399])
@pytest.mark.parametrize("gather_max", [20_000, 0])
def test_subset_search_is_exact_and_full(
    kind: str,
    subset_size: int,
    gather_max: int,
    data: tuple[np.ndarray, np.ndarray, np.ndarray],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Filtered search returns min(k, |subset|) hits, all from the subset, equal to brute force on it.

    ``gather_max=0`` forces the faiss IDSelector path (and the HNSW fallback when the walk comes back short).
    """
    monkeypatch.setattr(faiss_mod, "SUBSET_GATHER_MAX", gather_max)
    vecs, labels, q = data
    index = _make(kind)
    index.add(vecs, labels)
    rng = np.random.default_rng(subset_size)
    pick = rng.choice(400, size=subset_size, replace=False)
    subset = labels[pick]
    got = index.search(q, 10, subset=subset)
    ref = _brute(vecs[pick], labels[pick], q, 10)
    want = min(10, subset_size)
    assert ((got[1] >= 0).sum(axis=1) == want).all()
    assert set(got[1][got[1] >= 0].tolist()) <= set(subset.tolist())
    if kind in APPROX and gather_max == 0:  # approximate search restricted by an IDSelector
        _assert_matches(kind, got, ref, min_recall=0.85)
    else:
        _assert_matches("exact" if gather_max else kind, got, ref)


@pytest.mark.parametrize("kind", BACKENDS)
def test_remove_then_search(kind: str, data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    vecs, labels, q = data
    index = _make(kind)
    index.add(vecs, labels)
    gone = labels[::3]
    assert index.remove(np.concatenate([gone, [999_999]])) == len(gone)
    assert index.remove(gone) == 0  # already removed
    keep = np.ones(400, dtype=bool)
    keep[::3] = False
    assert len(index) == keep.sum()
    assert sorted(index.labels().tolist()) == sorted(labels[keep].tolist())
    got = index.search(q, 10)
    assert not set(got[1].ravel().tolist()) & set(gone.tolist())
    _assert_matches(kind, got, _brute(vecs[keep], labels[keep], q, 10))
    # re-adding under new labels works
    index.add(vecs[:3], np.array([5000, 5001, 5002]))
    assert len(index) == keep.sum() + 3


def test_hnsw_delete_uses_tombstones_then_rebuilds(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    vecs, labels, q = data
    index = FaissIndex(DIM, index_type="hnsw")
    index.add(vecs, labels)
    index.remove(labels[:10])  # 2.5%: tombstoned, the graph keeps them
    assert index.faiss_index.ntotal == 400 and len(index) == 390
    got = index.search(q, 400)[1]
    assert not set(got.ravel().tolist()) & set(labels[:10].tolist())
    assert ((got >= 0).sum(axis=1) == 390).all()  # every live vector is still reachable
    index.remove(labels[10:100])  # past HNSW_REBUILD_FRACTION: rebuilt without them
    assert index.faiss_index.ntotal == 300 and len(index) == 300


@pytest.mark.parametrize("kind", BACKENDS)
def test_reconstruct(kind: str, data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    vecs, labels, _ = data
    index = _make(kind)
    index.add(vecs, labels)
    np.testing.assert_allclose(index.reconstruct(labels[[5, 0, 7]]), vecs[[5, 0, 7]], atol=1e-6)
    with pytest.raises(ConfigError):
        index.reconstruct(np.array([123_456_789]))


@pytest.mark.parametrize("kind", BACKENDS)
def test_duplicate_labels_and_bad_shapes_are_refused(
    kind: str, data: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    vecs, labels, _ = data
    index = _make(kind)
    index.add(vecs[:5], labels[:5])
    with pytest.raises(ConfigError, match="labels"):
        index.add(vecs[5:6], labels[:1])
    with pytest.raises(ConfigError, match="labels"):
        index.add(vecs[5:7], np.array([77, 77]))
    with pytest.raises(ConfigError, match="dimension"):
        index.add(np.zeros((1, DIM + 1), np.float32), np.array([88]))
    with pytest.raises(ConfigError, match="k must be positive"):
        index.search(vecs[:1], 0)
    assert len(index) == 5


@pytest.mark.parametrize("kind", BACKENDS)
def test_save_load_round_trip(
    kind: str, data: tuple[np.ndarray, np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    vecs, labels, q = data
    index = _make(kind)
    index.add(vecs, labels)
    index.remove(labels[:4])
    files = index.save(tmp_path)
    assert all((tmp_path / f).is_file() for f in files)
    loaded = load_index(tmp_path, DIM, index_params(index))
    assert len(loaded) == len(index)
    for a, b in zip(loaded.search(q, 10), index.search(q, 10), strict=True):
        np.testing.assert_array_equal(a, b)


def test_make_index_auto_threshold() -> None:
    from govnlp.index import AUTO_APPROX_THRESHOLD

    assert index_params(make_index(8, "auto", 10))["index_type"] == "flat"
    assert index_params(make_index(8, "auto", AUTO_APPROX_THRESHOLD))["index_type"] in ("hnsw", "ivf")
    assert index_params(make_index(8, "ivf"))["index_type"] == "ivf"
    assert isinstance(make_index(8, "numpy"), NumpyIndex)
    with pytest.raises(ConfigError, match="index_type"):
        make_index(8, "lsh")


def test_ivf_retrains_as_it_grows(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    vecs = _unit(rng, 1200)
    index = FaissIndex(DIM, index_type="ivf", nprobe=1000)  # all lists probed: exact answers
    index.add(vecs[:100], np.arange(100))
    first = index.nlist
    index.add(vecs[100:1200], np.arange(100, 1200))  # 12x the training size: retrained
    assert index.nlist is not None and first is not None and index.nlist > first
    assert len(index) == 1200 and sorted(index.labels().tolist()) == list(range(1200))
    q = _unit(rng, 5)
    _assert_matches("exact", index.search(q, 10), _brute(vecs, np.arange(1200), q, 10))
    index.save(tmp_path)
    loaded = load_index(tmp_path, DIM, index_params(index))
    assert index_params(loaded) == index_params(index)
    fixed = FaissIndex(DIM, index_type="ivf", nlist=4)
    fixed.add(vecs[:100], np.arange(100))
    fixed.add(vecs[100:], np.arange(100, 1200))
    assert fixed.nlist == 4  # a given nlist is kept


@pytest.mark.parametrize("kind", BACKENDS)
def test_shared_contract(kind: str, tmp_path: Path) -> None:
    # the checks a user's own backend runs (govnlp.testing.index), on each of ours
    check_vector_index(
        lambda dim: _make(kind) if dim == DIM else make_index(dim),
        exact=kind not in APPROX,
        dim=DIM,
        tmp_path=tmp_path,
        load=lambda folder, index: load_index(folder, DIM, index_params(index)),
    )


def test_shared_contract_catches_a_broken_backend() -> None:
    class DropsOneHit(NumpyIndex):
        def search(self, queries, k, *, subset=None):  # type: ignore[no-untyped-def,override]
            scores, labels = super().search(queries, k, subset=subset)
            labels[:, -1] = -1
            return scores, labels

    with pytest.raises(AssertionError):
        check_vector_index(DropsOneHit, dim=DIM)
