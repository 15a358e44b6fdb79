"""The VectorIndex protocol: int64 labels -> L2-normalised float32 vectors, inner-product search.

A vector index knows nothing of texts or string ids: :class:`govnlp.search.SearchIndex` maps its stable
string ids to int64 labels and keeps the records. Every backend (``numpy``, ``faiss`` exact, ``faiss``
HNSW) passes the same contract tests (``tests/test_index_contract.py``), checked against numpy brute force.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from govnlp.errors import ConfigError

__all__ = ["VectorIndex", "check_labels", "check_vectors"]


@runtime_checkable
class VectorIndex(Protocol):
    """What :class:`~govnlp.search.SearchIndex` needs of a vector store."""

    @property
    def kind(self) -> str:
        """A short name: ``numpy``, ``faiss-flat``, ``faiss-hnsw``, ``faiss-ivf``."""
        ...

    @property
    def dim(self) -> int:
        """The vector dimension."""
        ...

    def __len__(self) -> int:
        """The number of vectors held."""
        ...

    def labels(self) -> np.ndarray:
        """The int64 labels held, in storage order, shape ``(n,)``."""
        ...

    def add(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        """Add float32 vectors ``(n, dim)`` under new int64 ``labels`` ``(n,)``."""
        ...

    def remove(self, labels: np.ndarray) -> int:
        """Remove the given labels; return how many were held (unknown labels are ignored)."""
        ...

    def reconstruct(self, labels: np.ndarray) -> np.ndarray:
        """The stored vectors of ``labels`` as float32 ``(len(labels), dim)``."""
        ...

    def search(
        self, queries: np.ndarray, k: int, *, subset: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` inner products.

        Args:
            queries: float32 ``(m, dim)``.
            k: hits per query.
            subset: optional int64 labels; when given only these are searched (filtered search,
                applied before ranking so that ``min(k, len(subset))`` hits come back).

        Returns:
            ``(scores, labels)``, each ``(m, k)``, best first; missing hits are padded with score
            ``-inf`` and label ``-1``.
        """
        ...

    def save(self, folder: Path) -> list[str]:
        """Write the index files into ``folder``; return the file names written."""
        ...


def check_vectors(vectors: np.ndarray, dim: int | None = None) -> np.ndarray:
    """Return ``vectors`` as a C-contiguous float32 2-D array of width ``dim``."""
    arr = np.ascontiguousarray(vectors, dtype=np.float32)
    if arr.ndim == 1 and dim is not None and arr.shape[0] == dim:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2:
        raise ConfigError(f"expected vectors of shape (n, dim), got shape {arr.shape}")
    if dim is not None and arr.shape[1] != dim:
        raise ConfigError(
            f"expected vectors of dimension {dim}, got {arr.shape[1]}; use the index's embedder"
        )
    return arr


def check_labels(labels: np.ndarray | list[int], n: int | None = None) -> np.ndarray:
    """Return ``labels`` as a 1-D int64 array (of length ``n`` when given)."""
    arr = np.ascontiguousarray(labels, dtype=np.int64).reshape(-1)
    if n is not None and arr.shape[0] != n:
        raise ConfigError(f"expected {n} labels (one per vector), got {arr.shape[0]}")
    return arr


def topk(scores: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` of a score matrix ``(m, n)`` whose columns carry ``labels``; padded with -inf / -1.

    Ties are broken by the lower label so that every backend ranks the same way.
    """
    m, n = scores.shape
    out_s = np.full((m, k), -np.inf, dtype=np.float32)
    out_l = np.full((m, k), -1, dtype=np.int64)
    kk = min(k, n)
    if kk == 0:
        return out_s, out_l
    if kk < n:
        part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
    else:
        part = np.broadcast_to(np.arange(n), (m, n))
    part_s = np.take_along_axis(scores, part, axis=1)
    part_l = labels[part]
    order = np.lexsort((part_l, -part_s), axis=1) if m else np.zeros((0, kk), dtype=np.int64)
    out_s[:, :kk] = np.take_along_axis(part_s, order, axis=1)
    out_l[:, :kk] = np.take_along_axis(part_l, order, axis=1)
    return out_s, out_l
