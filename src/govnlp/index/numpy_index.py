"""Brute-force numpy vector index: the reference the faiss backends are checked against.

Exact inner-product search over a float32 matrix. Good for small collections and tests; it saves as
``vectors.npy`` + ``labels.npy`` (no pickle).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from govnlp.errors import ConfigError, FormatError
from govnlp.index.base import check_labels, check_vectors, topk

__all__ = ["NumpyIndex"]


class NumpyIndex:
    """Exact inner-product search with numpy.

    Example:
        >>> index = NumpyIndex(384)
        >>> index.add(vectors, np.arange(len(vectors)))
        >>> scores, labels = index.search(queries, 10)
    """

    kind = "numpy"

    def __init__(self, dim: int) -> None:
        if dim <= 0:
            raise ConfigError(f"dim must be positive, got {dim}")
        self._dim = int(dim)
        self._vectors = np.zeros((0, self._dim), dtype=np.float32)
        self._labels = np.zeros(0, dtype=np.int64)
        self._pos: dict[int, int] = {}

    @property
    def dim(self) -> int:
        return self._dim

    def __len__(self) -> int:
        return int(self._labels.shape[0])

    def labels(self) -> np.ndarray:
        return self._labels.copy()

    def add(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        vecs = check_vectors(vectors, self._dim)
        labs = check_labels(labels, vecs.shape[0])
        dup = [int(x) for x in labs if int(x) in self._pos]
        if dup or len(set(labs.tolist())) != len(labs):
            raise ConfigError(f"labels already in the index or repeated: {dup[:10]}")
        start = len(self)
        self._vectors = np.concatenate([self._vectors, vecs]) if start else vecs.copy()
        self._labels = np.concatenate([self._labels, labs])
        for i, lab in enumerate(labs.tolist()):
            self._pos[lab] = start + i

    def remove(self, labels: np.ndarray) -> int:
        labs = {int(x) for x in check_labels(labels)}
        keep = np.array([int(x) not in labs for x in self._labels], dtype=bool)
        removed = int((~keep).sum())
        if removed:
            self._vectors = self._vectors[keep]
            self._labels = self._labels[keep]
            self._pos = {lab: i for i, lab in enumerate(self._labels.tolist())}
        return removed

    def reconstruct(self, labels: np.ndarray) -> np.ndarray:
        labs = check_labels(labels)
        try:
            rows = [self._pos[int(x)] for x in labs]
        except KeyError as exc:
            raise ConfigError(f"label {exc.args[0]} is not in the index") from None
        return self._vectors[rows].copy()

    def search(
        self, queries: np.ndarray, k: int, *, subset: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        q = check_vectors(queries, self._dim)
        if k <= 0:
            raise ConfigError(f"k must be positive, got {k}")
        if subset is None:
            vecs, labs = self._vectors, self._labels
        else:
            rows = [self._pos[int(x)] for x in check_labels(subset) if int(x) in self._pos]
            vecs, labs = self._vectors[rows], self._labels[rows]
        return topk(q @ vecs.T, labs, k)

    def save(self, folder: Path) -> list[str]:
        np.save(folder / "vectors.npy", self._vectors, allow_pickle=False)
        np.save(folder / "labels.npy", self._labels, allow_pickle=False)
        return ["vectors.npy", "labels.npy"]

    @classmethod
    def load(cls, folder: Path, dim: int) -> NumpyIndex:
        try:
            vectors = np.load(folder / "vectors.npy", allow_pickle=False)
            labels = np.load(folder / "labels.npy", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise FormatError(f"cannot read the numpy vector index in {folder}: {exc}") from exc
        index = cls(dim)
        if len(labels):
            index.add(vectors, labels)
        return index
