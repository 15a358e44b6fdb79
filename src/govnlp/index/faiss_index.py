"""faiss vector indexes: exact (``IndexIDMap2`` over ``IndexFlatIP``), HNSW and IVF.

Vectors are L2-normalised, so inner product is cosine similarity. Labels are the int64 ids given by
:class:`govnlp.search.SearchIndex`.

- ``flat``: exact search, ``IndexIDMap2(IndexFlatIP)``. The default.
- ``hnsw``: ``IndexIDMap2(IndexHNSWFlat)`` (M = :data:`DEFAULT_HNSW_M`, inner product). faiss cannot
  remove vectors from an HNSW graph: :meth:`FaissIndex.remove` records them as deleted (tombstones,
  excluded from every search with an ``IDSelectorNot``) and rebuilds the graph from the live vectors
  once the deleted share passes :data:`HNSW_REBUILD_FRACTION`.
- ``ivf``: ``IndexIVFFlat`` (inner product) holding the labels itself, with a hash-table direct map so
  that vectors can be reconstructed and removed. Trained on the first ``add`` (``nlist`` about
  ``sqrt(n)``) and retrained when it has grown :data:`IVF_RETRAIN_GROWTH`-fold; ``nprobe`` lists are
  searched.

Filtered search (``subset=``) is exact and complete: a subset of at most :data:`SUBSET_GATHER_MAX`
labels is searched by gathering its vectors and one BLAS product; a larger one goes through faiss with
an ``IDSelectorBatch``; an approximate index whose walk came back with fewer than ``min(k, len(subset))``
hits finishes that query exactly. So a filtered query returns k hits whenever k vectors match.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from govnlp.errors import ConfigError, FormatError
from govnlp.index.base import check_labels, check_vectors, topk

__all__ = [
    "DEFAULT_HNSW_EF_CONSTRUCTION",
    "DEFAULT_HNSW_EF_SEARCH",
    "DEFAULT_HNSW_M",
    "DEFAULT_IVF_NPROBE",
    "FAISS_TYPES",
    "HNSW_REBUILD_FRACTION",
    "SUBSET_GATHER_MAX",
    "FaissIndex",
    "ivf_nlist",
]

logger = logging.getLogger(__name__)

FAISS_TYPES = ("flat", "hnsw", "ivf")
#: HNSW graph degree.
DEFAULT_HNSW_M = 32
#: HNSW construction beam.
DEFAULT_HNSW_EF_CONSTRUCTION = 80
#: HNSW search beam: recall@10 against exact 0.993 at 10k and 0.965 at 100k vectors
#: (benchmarks/search_speed.py; 32 reached only 0.887 at 100k).
DEFAULT_HNSW_EF_SEARCH = 64
#: IVF lists searched per query (``nlist`` ~ sqrt(n)): recall@10 0.9985 at 100k and 0.986 at 1M vectors,
#: p50 2.3 ms and 17 ms (benchmarks/search_speed.py; 32 gave 0.978 and 0.940).
DEFAULT_IVF_NPROBE = 64
#: IVF k-means iterations and training points per list (a sample; keeps training to seconds).
IVF_TRAIN_ITERATIONS = 10
IVF_TRAIN_POINTS_PER_LIST = 40
#: An IVF index whose ``nlist`` was chosen automatically is retrained once it holds this many times
#: the vectors it was trained on (so ``nlist`` keeps up with ~sqrt(n) and ``nprobe`` keeps its recall).
IVF_RETRAIN_GROWTH = 4
#: Filtered searches over at most this many labels gather the vectors and use numpy (exact). Measured
#: in benchmarks/search_speed.py: gathering wins up to 3,000 (100k and 1M vectors), faiss's
#: IDSelectorBatch wins from 10,000 at 100k vectors.
SUBSET_GATHER_MAX = 3_000
#: An HNSW index is rebuilt once this share of its vectors are deleted (tombstoned).
HNSW_REBUILD_FRACTION = 0.2

_FAISS_FILE = "vectors.faiss"
_DELETED_FILE = "deleted.npy"


_FAISS: Any = None


def _faiss() -> Any:
    global _FAISS
    if _FAISS is None:
        import faiss

        _FAISS = faiss
    return _FAISS


def ivf_nlist(n: int) -> int:
    """IVF list count for ``n`` training vectors: about ``sqrt(n)``, at least 39 vectors per list."""
    return int(max(1, min(round(math.sqrt(max(n, 1))), n // 39 if n >= 39 else 1, 65_536)))


class FaissIndex:
    """A faiss index over int64 labels; ``index_type`` is ``"flat"`` (exact), ``"hnsw"`` or ``"ivf"``.

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
        nlist: int | None = None,
        nprobe: int = DEFAULT_IVF_NPROBE,
    ) -> None:
        if index_type not in FAISS_TYPES:
            raise ConfigError(f"index_type must be one of {FAISS_TYPES}, got {index_type!r}")
        if dim <= 0:
            raise ConfigError(f"dim must be positive, got {dim}")
        self._dim = int(dim)
        self.index_type = index_type
        self.hnsw_m = int(hnsw_m)
        self.ef_construction = int(ef_construction)
        self.ef_search = int(ef_search)
        self.nlist = nlist
        self.nprobe = int(nprobe)
        self._auto_nlist = nlist is None  # ivf: nlist follows the size (retrained as the index grows)
        self._trained_n = 0
        self._deleted: set[int] = set()
        self._ivf_labels = np.zeros(0, dtype=np.int64)  # ivf only: labels in insertion order
        self._index = self._new_index(nlist or 1)
        # flat/hnsw: numpy mirror of the IDMap2 id_map (position -> label) and its sorted form
        self._idmap: np.ndarray | None = None
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None

    # -- construction -------------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return f"faiss-{self.index_type}"

    def _new_index(self, nlist: int = 1) -> Any:
        faiss = _faiss()
        if self.index_type == "flat":
            return faiss.IndexIDMap2(faiss.IndexFlatIP(self._dim))
        if self.index_type == "hnsw":
            inner = faiss.IndexHNSWFlat(self._dim, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = self.ef_construction
            inner.hnsw.efSearch = self.ef_search
            return faiss.IndexIDMap2(inner)
        quantizer = faiss.IndexFlatIP(self._dim)
        ivf = faiss.IndexIVFFlat(quantizer, self._dim, int(nlist), faiss.METRIC_INNER_PRODUCT)
        ivf.own_fields = True
        quantizer.this.disown()
        ivf.cp.niter = IVF_TRAIN_ITERATIONS
        ivf.cp.max_points_per_centroid = IVF_TRAIN_POINTS_PER_LIST
        ivf.cp.min_points_per_centroid = 1
        ivf.nprobe = self.nprobe
        return ivf

    def _train_ivf(self, vecs: np.ndarray) -> None:
        given = None if self._auto_nlist else self.nlist
        nlist = min(given or ivf_nlist(len(vecs)), len(vecs))  # k-means needs a point per list
        if given and nlist < given:
            logger.warning(
                "IVF: %d training vectors for nlist=%d; using nlist=%d", len(vecs), self.nlist, nlist
            )
        index = self._new_index(nlist)
        rng = np.random.default_rng(0)
        want = min(len(vecs), nlist * IVF_TRAIN_POINTS_PER_LIST)
        sample = vecs if want == len(vecs) else vecs[np.sort(rng.choice(len(vecs), want, replace=False))]
        index.train(sample)
        index.set_direct_map_type(_faiss().DirectMap.Hashtable)
        self._index = index
        self.nlist = nlist
        self._trained_n = len(vecs)

    @property
    def faiss_index(self) -> Any:
        """The underlying faiss index (read it, do not modify it)."""
        return self._index

    def params(self) -> dict[str, Any]:
        """The options written to the manifest."""
        out: dict[str, Any] = {"index_type": self.index_type}
        if self.index_type == "hnsw":
            out.update(hnsw_m=self.hnsw_m, ef_construction=self.ef_construction, ef_search=self.ef_search)
        elif self.index_type == "ivf":
            out.update(
                nlist=self.nlist, nprobe=self.nprobe, auto_nlist=self._auto_nlist, trained_n=self._trained_n
            )
        return out

    @property
    def dim(self) -> int:
        return self._dim

    def __len__(self) -> int:
        return int(self._index.ntotal) - len(self._deleted)

    def _all_labels(self) -> np.ndarray:
        if self.index_type == "ivf":
            return self._ivf_labels
        if self._idmap is None:
            self._idmap = _faiss().vector_to_array(self._index.id_map).astype(np.int64)
        return self._idmap

    def _invalidate(self) -> None:
        self._idmap = None
        self._sorted = None

    def _positions(self, labels: np.ndarray) -> np.ndarray:
        """Storage positions of ``labels`` in a flat/HNSW index (-1 for labels not held)."""
        if self._sorted is None:
            idmap = self._all_labels()
            order = np.argsort(idmap, kind="stable")
            self._sorted = (idmap[order], order.astype(np.int64))
        keys, order = self._sorted
        if not len(keys):
            return np.full(len(labels), -1, dtype=np.int64)
        at = np.clip(np.searchsorted(keys, labels), 0, len(keys) - 1)
        return np.where(keys[at] == labels, order[at], -1)

    def _inner(self) -> Any:
        """The IndexFlatIP / IndexHNSWFlat inside the IDMap2 (proxy cached per faiss index)."""
        cached = getattr(self, "_inner_proxy", None)
        if cached is None or cached[0] is not self._index:
            cached = (self._index, _faiss().downcast_index(self._index.index))
            self._inner_proxy = cached
        return cached[1]

    def _stored(self) -> np.ndarray:
        """A zero-copy ``(ntotal, dim)`` view of the stored vectors of a flat/HNSW index."""
        faiss = _faiss()
        inner = self._inner()
        flat = inner if self.index_type == "flat" else faiss.downcast_index(inner.storage)
        n = int(flat.ntotal)
        if not n:
            return np.zeros((0, self._dim), dtype=np.float32)
        return faiss.rev_swig_ptr(flat.get_xb(), n * self._dim).reshape(n, self._dim)

    def labels(self) -> np.ndarray:
        labs = self._all_labels()
        if self._deleted:
            labs = labs[~np.isin(labs, np.fromiter(self._deleted, dtype=np.int64))]
        return labs.copy()

    # -- mutation -----------------------------------------------------------------------------------
    def add(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        vecs = check_vectors(vectors, self._dim)
        labs = check_labels(labels, vecs.shape[0])
        if len(np.unique(labs)) != len(labs):
            raise ConfigError("labels repeat within one add()")
        if self._index.ntotal:
            held = np.isin(labs, self._all_labels())
            if held.any():
                raise ConfigError(f"labels already in the index: {labs[held][:10].tolist()}")
        if not len(labs):
            return
        if self.index_type == "ivf":
            if not self._index.is_trained:
                self._train_ivf(vecs)
            self._index.add_with_ids(vecs, labs)
            self._ivf_labels = np.concatenate([self._ivf_labels, labs])
            n = int(self._index.ntotal)
            if (
                self._auto_nlist
                and n >= IVF_RETRAIN_GROWTH * self._trained_n
                and ivf_nlist(n) > (self.nlist or 0)
            ):
                self._retrain_ivf()
        else:
            self._index.add_with_ids(vecs, labs)
            self._invalidate()

    def remove(self, labels: np.ndarray) -> int:
        labs = check_labels(labels)
        if not len(labs) or not self._index.ntotal:
            return 0
        faiss = _faiss()
        held = self._all_labels()
        present = np.unique(labs[np.isin(labs, held)])
        present = np.array([x for x in present.tolist() if x not in self._deleted], dtype=np.int64)
        if not len(present):
            return 0
        if self.index_type == "flat":
            self._index.remove_ids(faiss.IDSelectorBatch(present))
            self._invalidate()
        elif self.index_type == "ivf":
            self._index.remove_ids(faiss.IDSelectorArray(present))
            self._ivf_labels = held[~np.isin(held, present)]
        else:
            self._deleted.update(present.tolist())
            if len(self._deleted) > HNSW_REBUILD_FRACTION * self._index.ntotal:
                self._rebuild()
        return len(present)

    def _rebuild(self) -> None:
        """Rebuild the HNSW graph from the live vectors (drops the tombstones)."""
        live = self.labels()
        vecs = self.reconstruct(live)
        logger.info(
            "rebuilding the HNSW index over %d live vectors (%d deleted)", len(live), len(self._deleted)
        )
        self._index = self._new_index()
        self._deleted = set()
        self._invalidate()
        if len(live):
            self._index.add_with_ids(vecs, live)

    def _retrain_ivf(self) -> None:
        """Train new IVF lists on all vectors (``nlist`` ~ sqrt(n) again) and re-add them."""
        labels = self._ivf_labels.copy()
        vecs = self.reconstruct(labels)
        logger.info(
            "IVF index grew to %d vectors (trained on %d): retraining its lists", len(labels), self._trained_n
        )
        self._train_ivf(vecs)
        self._index.add_with_ids(vecs, labels)

    def reconstruct(self, labels: np.ndarray) -> np.ndarray:
        labs = check_labels(labels)
        if not len(labs):
            return np.zeros((0, self._dim), dtype=np.float32)
        if self.index_type != "ivf":
            pos = self._positions(labs)
            if (pos < 0).any():
                raise ConfigError(f"labels not in the index: {labs[pos < 0][:10].tolist()}")
            return self._stored()[pos]
        try:
            out = self._index.reconstruct_batch(labs)
        except RuntimeError as exc:
            raise ConfigError(f"some labels are not in the index: {str(exc)[:200]}") from None
        return np.ascontiguousarray(out, dtype=np.float32).reshape(len(labs), self._dim)

    # -- search -------------------------------------------------------------------------------------
    def _params(self, k: int, sel: Any) -> Any:
        faiss = _faiss()
        if self.index_type == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k))
        elif self.index_type == "ivf":
            params = faiss.SearchParametersIVF(nprobe=self.nprobe)
        elif sel is None:
            return None
        else:
            params = faiss.SearchParameters()
        if sel is not None:
            params.sel = sel
        return params

    def search(
        self, queries: np.ndarray, k: int, *, subset: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        q = check_vectors(queries, self._dim)
        if k <= 0:
            raise ConfigError(f"k must be positive, got {k}")
        ntotal = self._index.ntotal
        if not ntotal:
            return np.full((len(q), k), -np.inf, np.float32), np.full((len(q), k), -1, np.int64)
        faiss = _faiss()
        sub = None
        # flat/HNSW are searched through the inner index with selectors on storage positions and the
        # labels mapped back in numpy: IndexIDMap's own search translates the labels in an OpenMP loop
        # that costs milliseconds per query on a busy machine (measured in benchmarks/search_speed.py)
        ivf = self.index_type == "ivf"
        if subset is not None:
            sub = check_labels(subset)
            if self._deleted:
                sub = sub[~np.isin(sub, np.fromiter(self._deleted, dtype=np.int64))]
            if len(sub) <= SUBSET_GATHER_MAX:
                return self._gather_search(q, k, sub)
            if ivf:
                sel = faiss.IDSelectorBatch(sub)
            else:
                pos = self._positions(sub)
                sel = faiss.IDSelectorBatch(pos[pos >= 0])
            want = min(k, len(sub))
        else:
            sel = None
            live = ntotal
            if self._deleted:
                dead = np.fromiter(self._deleted, np.int64)
                sel = faiss.IDSelectorNot(faiss.IDSelectorBatch(dead if ivf else self._positions(dead)))
                live -= len(dead)
            want = min(k, live)
        if ivf:
            scores, labels = self._index.search(q, k, params=self._params(k, sel))
            labels = labels.astype(np.int64, copy=False)
        else:
            scores, pos = self._inner().search(q, k, params=self._params(k, sel))
            idmap = self._all_labels()
            if want == k and pos[:, -1].min() >= 0:  # the common case: full lists, no padding to fix
                return scores, idmap[pos]
            labels = np.where(pos >= 0, idmap[np.maximum(pos, 0)], -1)
        scores = np.where(labels < 0, -np.inf, scores).astype(np.float32)
        if self.index_type != "flat" and len(q):
            short = (labels >= 0).sum(axis=1) < want
            if short.any():
                # an approximate walk under a selective filter, tombstones or sparse lists can come back
                # short: finish those queries exactly so that a query returns min(k, matching) hits
                full = sub if sub is not None else self.labels()
                scores[short], labels[short] = self._gather_search(q[short], k, full)
        return scores, labels

    def _gather_search(self, q: np.ndarray, k: int, sub: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return topk(q @ self.reconstruct(sub).T, sub, k)

    # -- persistence --------------------------------------------------------------------------------
    def save(self, folder: Path) -> list[str]:
        _faiss().write_index(self._index, str(folder / _FAISS_FILE))
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
            raise FormatError(f"cannot read {path}: {str(exc)[:200]}") from exc
        index = cls(
            dim,
            index_type=params.get("index_type", "flat"),
            hnsw_m=params.get("hnsw_m", DEFAULT_HNSW_M),
            ef_construction=params.get("ef_construction", DEFAULT_HNSW_EF_CONSTRUCTION),
            ef_search=params.get("ef_search", DEFAULT_HNSW_EF_SEARCH),
            nlist=params.get("nlist"),
            nprobe=params.get("nprobe", DEFAULT_IVF_NPROBE),
        )
        expected = {"flat": faiss.IndexFlatIP, "hnsw": faiss.IndexHNSWFlat, "ivf": faiss.IndexIVFFlat}[
            index.index_type
        ]
        inner = faiss.downcast_index(raw.index) if isinstance(raw, faiss.IndexIDMap2) else raw
        wrapped_ok = isinstance(raw, faiss.IndexIDMap2) != (index.index_type == "ivf")
        if raw.d != dim or not wrapped_ok or not isinstance(inner, expected):
            raise FormatError(
                f"{path} holds a {type(raw).__name__}/{type(inner).__name__} of dimension {raw.d}; the manifest "
                f"says {index.index_type} of dimension {dim}. Save the index again."
            )
        if index.index_type == "hnsw":
            inner.hnsw.efSearch = index.ef_search
        if index.index_type == "ivf":
            raw.nprobe = index.nprobe
            index._auto_nlist = bool(params.get("auto_nlist", False))
            index._trained_n = int(params.get("trained_n", raw.ntotal))
            il = raw.invlists
            parts = [
                faiss.rev_swig_ptr(il.get_ids(i), il.list_size(i)).copy()
                for i in range(raw.nlist)
                if il.list_size(i)
            ]
            index._ivf_labels = np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)
        index._index = raw
        dpath = folder / _DELETED_FILE
        if dpath.is_file():
            index._deleted = {int(x) for x in np.load(dpath, allow_pickle=False)}
        return index
