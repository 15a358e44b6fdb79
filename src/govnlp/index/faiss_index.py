"""faiss vector indexes: exact (``IndexIDMap2`` over ``IndexFlatIP``) and approximate HNSW.

Vectors are L2-normalised, so inner product is cosine similarity. Labels are the int64 ids given by
:class:`govnlp.search.SearchIndex`.

Filtered search (``subset=``) is exact and complete: a subset of at most :data:`SUBSET_GATHER_MAX`
labels is searched by gathering its vectors (``reconstruct_batch``) and one BLAS product; a larger one
goes through faiss with an ``IDSelectorBatch`` (and, for HNSW, falls back to the gather path if the
graph walk returned fewer than ``min(k, len(subset))`` hits). So a filtered query returns k hits
whenever k vectors match. The cut-over was measured in ``benchmarks/search_speed.py`` (``filtered``).

HNSW cannot remove vectors in faiss. :meth:`FaissIndex.remove` on an HNSW index records the labels as
deleted (a tombstone set excluded from every search through an ``IDSelectorNot``) and rebuilds the
graph from the live vectors once the deleted share passes :data:`HNSW_REBUILD_FRACTION`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from govnlp.errors import ConfigError, FormatError
from govnlp.index.base import check_labels, check_vectors, topk

__all__ = [
    "DEFAULT_HNSW_EF_CONSTRUCTION",
    "DEFAULT_HNSW_EF_SEARCH",
    "DEFAULT_HNSW_M",
    "HNSW_REBUILD_FRACTION",
    "SUBSET_GATHER_MAX",
    "FaissIndex",
]

logger = logging.getLogger(__name__)

#: HNSW graph degree.
DEFAULT_HNSW_M = 32
#: HNSW construction beam.
DEFAULT_HNSW_EF_CONSTRUCTION = 80
#: HNSW search beam; tuned in benchmarks/search_speed.py for recall@10 >= 0.95 against exact search.
DEFAULT_HNSW_EF_SEARCH = 128
#: Filtered searches over at most this many labels gather the vectors and use numpy (exact).
SUBSET_GATHER_MAX = 20_000
#: An HNSW index is rebuilt once this share of its vectors are deleted (tombstoned).
HNSW_REBUILD_FRACTION = 0.2

_FAISS_FILE = "vectors.faiss"
_DELETED_FILE = "deleted.npy"


def _faiss() -> Any:
    import faiss

    return faiss


class FaissIndex:
    """A faiss index over int64 labels; ``index_type`` is ``"flat"`` (exact) or ``"hnsw"``.

    Example:
        >>> index = FaissIndex(384, index_type="flat")
        >>> index.add(vectors, np.arange(len(vectors)))
        >>> scores, labels = index.search(queries, 10, subset=np.array([3, 5, 8]))
    """

    def __init__(
        self,
        dim: int,
        *,
        index_type: str = "flat",
        hnsw_m: int = DEFAULT_HNSW_M,
        ef_construction: int = DEFAULT_HNSW_EF_CONSTRUCTION,
        ef_search: int = DEFAULT_HNSW_EF_SEARCH,
    ) -> None:
        if index_type not in ("flat", "hnsw"):
            raise ConfigError(f"index_type must be 'flat' or 'hnsw', got {index_type!r}")
        if dim <= 0:
            raise ConfigError(f"dim must be positive, got {dim}")
        self._dim = int(dim)
        self.index_type = index_type
        self.hnsw_m = int(hnsw_m)
        self.ef_construction = int(ef_construction)
        self.ef_search = int(ef_search)
        self._index = self._new_index()
        self._deleted: set[int] = set()

    # -- construction -------------------------------------------------------------------------------
    @property
    def kind(self) -> str:  # type: ignore[override]
        return f"faiss-{self.index_type}"

    def _new_index(self) -> Any:
        faiss = _faiss()
        if self.index_type == "flat":
            inner = faiss.IndexFlatIP(self._dim)
        else:
            inner = faiss.IndexHNSWFlat(self._dim, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = self.ef_construction
            inner.hnsw.efSearch = self.ef_search
        return faiss.IndexIDMap2(inner)

    @property
    def faiss_index(self) -> Any:
        """The underlying ``faiss.IndexIDMap2`` (read it, do not modify it)."""
        return self._index

    def params(self) -> dict[str, Any]:
        """The options written to the manifest."""
        out: dict[str, Any] = {"index_type": self.index_type}
        if self.index_type == "hnsw":
            out.update(hnsw_m=self.hnsw_m, ef_construction=self.ef_construction, ef_search=self.ef_search)
        return out

    @property
    def dim(self) -> int:
        return self._dim

    def __len__(self) -> int:
        return int(self._index.ntotal) - len(self._deleted)

    def labels(self) -> np.ndarray:
        labs = _faiss().vector_to_array(self._index.id_map).astype(np.int64)
        if self._deleted:
            labs = labs[~np.isin(labs, np.fromiter(self._deleted, dtype=np.int64))]
        return labs

    # -- mutation -----------------------------------------------------------------------------------
    def add(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        vecs = check_vectors(vectors, self._dim)
        labs = check_labels(labels, vecs.shape[0])
        if len(np.unique(labs)) != len(labs):
            raise ConfigError("labels repeat within one add()")
        if self._index.ntotal:
            held = np.isin(labs, _faiss().vector_to_array(self._index.id_map))
            if held.any():
                raise ConfigError(f"labels already in the index: {labs[held][:10].tolist()}")
        if len(labs):
            self._index.add_with_ids(vecs, labs)

    def remove(self, labels: np.ndarray) -> int:
        labs = check_labels(labels)
        if not len(labs) or not self._index.ntotal:
            return 0
        held = _faiss().vector_to_array(self._index.id_map)
        present = np.unique(labs[np.isin(labs, held)])
        present = np.array([x for x in present.tolist() if x not in self._deleted], dtype=np.int64)
        if not len(present):
            return 0
        if self.index_type == "flat":
            self._index.remove_ids(_faiss().IDSelectorBatch(present))
        else:
            self._deleted.update(present.tolist())
            if len(self._deleted) > HNSW_REBUILD_FRACTION * self._index.ntotal:
                self._rebuild()
        return len(present)

    def _rebuild(self) -> None:
        """Rebuild the HNSW graph from the live vectors (drops the tombstones)."""
        live = self.labels()
        vecs = self._index.reconstruct_batch(live) if len(live) else np.zeros((0, self._dim), np.float32)
        logger.info(
            "rebuilding the HNSW index over %d live vectors (%d deleted)", len(live), len(self._deleted)
        )
        self._index = self._new_index()
        self._deleted = set()
        if len(live):
            self._index.add_with_ids(np.ascontiguousarray(vecs, dtype=np.float32), live)

    def reconstruct(self, labels: np.ndarray) -> np.ndarray:
        labs = check_labels(labels)
        if not len(labs):
            return np.zeros((0, self._dim), dtype=np.float32)
        try:
            return np.asarray(self._index.reconstruct_batch(labs), dtype=np.float32).reshape(
                len(labs), self._dim
            )
        except RuntimeError as exc:
            raise ConfigError(f"some labels are not in the index: {exc}") from None

    # -- search -------------------------------------------------------------------------------------
    def search(
        self, queries: np.ndarray, k: int, *, subset: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        q = check_vectors(queries, self._dim)
        if k <= 0:
            raise ConfigError(f"k must be positive, got {k}")
        faiss = _faiss()
        if subset is not None:
            sub = check_labels(subset)
            if self._deleted:
                sub = sub[~np.isin(sub, np.fromiter(self._deleted, dtype=np.int64))]
            if len(sub) <= SUBSET_GATHER_MAX:
                return self._gather_search(q, k, sub)
            sel = faiss.IDSelectorBatch(sub)
            want = min(k, len(sub))
        else:
            sel = (
                faiss.IDSelectorNot(faiss.IDSelectorBatch(np.fromiter(self._deleted, np.int64)))
                if self._deleted
                else None
            )
            want = min(k, len(self))
            sub = None
        if self.index_type == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k))
        else:
            params = faiss.SearchParameters()
        if sel is not None:
            params.sel = sel
        scores, labels = self._index.search(
            q, k, params=params if sel is not None or self.index_type == "hnsw" else None
        )
        labels = labels.astype(np.int64, copy=False)
        scores = np.where(labels < 0, -np.inf, scores).astype(np.float32)
        if self.index_type == "hnsw" and len(q):
            short = (labels >= 0).sum(axis=1) < want
            if short.any():
                # the graph walk under a selective filter or many tombstones can come back short:
                # finish those queries exactly so that a query returns min(k, matching) hits
                full = sub if sub is not None else self.labels()
                s2, l2 = self._gather_search(q[short], k, full)
                scores[short], labels[short] = s2, l2
        return scores, labels

    def _gather_search(self, q: np.ndarray, k: int, sub: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        vecs = self.reconstruct(sub)
        return topk(q @ vecs.T, sub, k)

    # -- persistence --------------------------------------------------------------------------------
    def save(self, folder: Path) -> list[str]:
        faiss = _faiss()
        faiss.write_index(self._index, str(folder / _FAISS_FILE))
        files = [_FAISS_FILE]
        if self._deleted:
            np.save(
                folder / _DELETED_FILE, np.array(sorted(self._deleted), dtype=np.int64), allow_pickle=False
            )
            files.append(_DELETED_FILE)
        return files

    @classmethod
    def load(cls, folder: Path, dim: int, params: dict[str, Any]) -> FaissIndex:
        faiss = _faiss()
        path = folder / _FAISS_FILE
        if not path.is_file():
            raise FormatError(f"{folder} has no {_FAISS_FILE}; save the index again.")
        try:
            raw = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise FormatError(f"cannot read {path}: {exc}") from exc
        if not isinstance(raw, faiss.IndexIDMap2) or raw.d != dim:
            raise FormatError(
                f"{path} is a {type(raw).__name__} of dimension {raw.d}, expected IndexIDMap2 of {dim}"
            )
        index = cls(
            dim,
            index_type=params.get("index_type", "flat"),
            hnsw_m=params.get("hnsw_m", DEFAULT_HNSW_M),
            ef_construction=params.get("ef_construction", DEFAULT_HNSW_EF_CONSTRUCTION),
            ef_search=params.get("ef_search", DEFAULT_HNSW_EF_SEARCH),
        )
        inner = faiss.downcast_index(raw.index)
        expected = faiss.IndexFlatIP if index.index_type == "flat" else faiss.IndexHNSWFlat
        if not isinstance(inner, expected):
            raise FormatError(f"{path} holds a {type(inner).__name__}, the manifest says {index.index_type}")
        if index.index_type == "hnsw":
            inner.hnsw.efSearch = index.ef_search
        index._index = raw
        dpath = folder / _DELETED_FILE
        if dpath.is_file():
            index._deleted = {int(x) for x in np.load(dpath, allow_pickle=False)}
        return index
