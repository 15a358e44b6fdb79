"""The contract every vector index backend keeps, checked against numpy brute force.

Run it on your own backend (anything with the methods of :class:`govnlp.index.VectorIndex`)::

    from govnlp.testing.index import check_vector_index

    def test_my_backend(tmp_path):
        check_vector_index(lambda dim: MyIndex(dim), tmp_path=tmp_path, load=MyIndex.load)

Each check raises ``AssertionError`` naming the rule that broke.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from govnlp.errors import ConfigError
from govnlp.index.base import VectorIndex
from govnlp.index.numpy_index import NumpyIndex

__all__ = ["brute_force", "check_vector_index", "unit_vectors"]


def unit_vectors(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    """``n`` random L2-normalised float32 vectors of ``dim``."""
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute_force(
    vectors: np.ndarray, labels: np.ndarray, queries: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` inner products (ties by the lower label), padded with -inf / -1."""
    ref = NumpyIndex(vectors.shape[1])
    ref.add(vectors, labels)
    return ref.search(queries, k)


def _recall(got: np.ndarray, ref: np.ndarray) -> float:
    valid = ref >= 0
    per_query = [
        len(set(got[i][valid[i]]) & set(ref[i][valid[i]])) / max(int(valid[i].sum()), 1)
        for i in range(len(ref))
    ]
    return float(np.mean(per_query)) if per_query else 1.0


def _expect_same(
    what: str,
    got: tuple[np.ndarray, np.ndarray],
    ref: tuple[np.ndarray, np.ndarray],
    exact: bool,
    min_recall: float,
) -> None:
    gs, gl = got
    rs, rl = ref
    assert gl.shape == rl.shape and gs.shape == rs.shape, f"{what}: shape {gl.shape}, expected {rl.shape}"
    assert ((gl >= 0) == (rl >= 0)).all(), f"{what}: a different number of hits than brute force"
    if exact:
        np.testing.assert_array_equal(gl, rl, err_msg=f"{what}: labels differ from brute force")
        np.testing.assert_allclose(gs, rs, rtol=1e-5, atol=1e-5, err_msg=f"{what}: scores differ")
    else:
        r = _recall(gl, rl)
        assert r >= min_recall, f"{what}: recall@k {r:.3f} against brute force, below {min_recall}"


def check_vector_index(
    make: Callable[[int], VectorIndex],
    *,
    exact: bool = True,
    min_recall: float = 0.9,
    dim: int = 24,
    n: int = 400,
    tmp_path: Path | None = None,
    load: Callable[[Path, VectorIndex], VectorIndex] | None = None,
    seed: int = 0,
) -> None:
    """Check a vector index backend against numpy brute force.

    Args:
        make: builds an empty index of a dimension.
        exact: the backend promises exact results (else recall@10 >= ``min_recall``; filtered search must
            still return ``min(k, len(subset))`` hits, all from the subset).
        dim, n: the size of the random data.
        tmp_path: a folder for the save/load round trip (skipped when None).
        load: ``load(folder, saved_index) -> index`` reading what ``save`` wrote (needed with ``tmp_path``).
        seed: the random data's seed.

    Raises:
        AssertionError: a rule of the contract is broken (the message names it).
    """
    rng = np.random.default_rng(seed)
    vecs = unit_vectors(rng, n, dim)
    labels = np.arange(1000, 1000 + n, dtype=np.int64)[rng.permutation(n)]
    queries = unit_vectors(rng, 12, dim)

    index = make(dim)
    assert isinstance(index, VectorIndex), "the index lacks a method of the VectorIndex protocol"
    assert index.dim == dim and len(index) == 0, "a new index must be empty and of the given dimension"
    index.add(vecs[: n // 2], labels[: n // 2])
    index.add(vecs[n // 2 :], labels[n // 2 :])
    assert len(index) == n, f"len() is {len(index)} after adding {n} vectors"
    assert sorted(index.labels().tolist()) == sorted(labels.tolist()), "labels() differs from what was added"
    _expect_same(
        "search", index.search(queries, 10), brute_force(vecs, labels, queries, 10), exact, min_recall
    )

    # k larger than the index: padded with -inf / -1
    small = make(dim)
    small.add(vecs[:5], labels[:5])
    scores, got = small.search(queries[:2], 8)
    assert got.shape == (2, 8), "search(q, k) must return (m, k) arrays"
    assert (got[:, :5] >= 0).all() and (got[:, 5:] == -1).all(), "k > len: missing hits must be label -1"
    assert np.isneginf(scores[:, 5:]).all(), "k > len: missing hits must score -inf"

    # filtered search: min(k, |subset|) hits, all from the subset
    for size in (1, 3, 10, n // 6, n - 1):
        pick = np.random.default_rng(size).choice(n, size=size, replace=False)
        got_s = index.search(queries, 10, subset=labels[pick])
        assert ((got_s[1] >= 0).sum(axis=1) == min(10, size)).all(), (
            f"a subset of {size} must give min(10, {size}) hits per query (filters apply before ranking)"
        )
        assert set(got_s[1][got_s[1] >= 0].tolist()) <= set(labels[pick].tolist()), "a hit outside the subset"
        _expect_same(
            f"subset search ({size})",
            got_s,
            brute_force(vecs[pick], labels[pick], queries, 10),
            exact,
            min(min_recall, 0.85),
        )

    # reconstruct
    np.testing.assert_allclose(
        index.reconstruct(labels[[5, 0, 7]]), vecs[[5, 0, 7]], atol=1e-5, err_msg="reconstruct()"
    )

    # refused input changes nothing
    for bad_vecs, bad_labels in (
        (vecs[:1], labels[:1]),  # a label already held
        (vecs[:2], np.array([77, 77])),  # repeated labels
        (np.zeros((1, dim + 1), np.float32), np.array([88])),  # another dimension
    ):
        try:
            index.add(bad_vecs, bad_labels)
        except ConfigError:
            pass
        else:
            raise AssertionError(
                f"add() accepted bad input (labels {bad_labels.tolist()}): expected ConfigError"
            )
    assert len(index) == n, "a refused add() changed the index"

    # remove
    gone = labels[::3]
    removed = index.remove(np.concatenate([gone, [999_999]]))
    assert removed == len(gone), f"remove() returned {removed}, expected {len(gone)} (unknown labels ignored)"
    assert index.remove(gone) == 0, "removing removed labels again must return 0"
    keep = np.ones(n, dtype=bool)
    keep[::3] = False
    assert sorted(index.labels().tolist()) == sorted(labels[keep].tolist()), "labels() after remove()"
    got_r = index.search(queries, 10)
    assert not set(got_r[1].ravel().tolist()) & set(gone.tolist()), "a removed label came back from search"
    _expect_same(
        "search after remove", got_r, brute_force(vecs[keep], labels[keep], queries, 10), exact, min_recall
    )
    index.add(vecs[:3], np.array([5000, 5001, 5002]))
    assert len(index) == int(keep.sum()) + 3, "adding after a remove"

    # save and load
    if tmp_path is not None:
        assert load is not None, "pass load= with tmp_path"
        files = index.save(tmp_path)
        assert all((tmp_path / f).is_file() for f in files), "save() must return the names of files it wrote"
        loaded = load(tmp_path, index)
        assert len(loaded) == len(index), "a reloaded index holds another number of vectors"
        for a, b in zip(loaded.search(queries, 10), index.search(queries, 10), strict=True):
            np.testing.assert_array_equal(a, b, err_msg="a reloaded index answers differently")
