"""Vector indexes behind :class:`govnlp.search.SearchIndex`: a protocol, a numpy reference, faiss.

``make_index(dim, index_type, n)`` picks the backend: ``"exact"`` (faiss flat), ``"hnsw"``, ``"ivf"``,
``"numpy"`` (brute force), or ``"auto"``: exact below :data:`AUTO_APPROX_THRESHOLD` vectors, the
approximate :data:`AUTO_APPROX_TYPE` from there (both chosen with ``benchmarks/search_speed.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from govnlp.errors import ConfigError, FormatError
from govnlp.index.base import VectorIndex
from govnlp.index.faiss_index import FaissIndex
from govnlp.index.numpy_index import NumpyIndex

__all__ = [
    "AUTO_APPROX_THRESHOLD",
    "INDEX_TYPES",
    "FaissIndex",
    "NumpyIndex",
    "VectorIndex",
    "load_index",
    "make_index",
]

#: With ``index_type="auto"`` an index of at least this many vectors is approximate, else exact.
#: benchmarks/search_speed.py (2 shared cores, one query thread): exact search costs ~128 ms per million
#: 384-d vectors per query, so it passes a 20 ms per-query budget at ~156k vectors.
AUTO_APPROX_THRESHOLD = 150_000
#: The approximate index ``"auto"`` switches to. IVF, not HNSW: both answer well inside the budget
#: (100k vectors: IVF p50 0.9 ms at recall@10 0.978, HNSW 0.2 ms at 0.965), but on 2 cores HNSW took
#: 87 s to build 100k vectors against IVF's 2 s (1M: IVF 32 s; HNSW ~15-30 min, not run), and IVF
#: deletes for real where HNSW needs tombstones.
AUTO_APPROX_TYPE = "ivf"

INDEX_TYPES = ("auto", "exact", "hnsw", "ivf", "numpy")


def resolve_index_type(index_type: str, n: int) -> str:
    """The concrete type (``exact``, ``hnsw``, ``ivf`` or ``numpy``) for ``index_type`` and ``n`` vectors."""
    if index_type not in INDEX_TYPES:
        raise ConfigError(f"index_type must be one of {INDEX_TYPES}, got {index_type!r}")
    if index_type == "auto":
        return AUTO_APPROX_TYPE if n >= AUTO_APPROX_THRESHOLD else "exact"
    return index_type


def make_index(dim: int, index_type: str = "auto", n: int = 0, **params: Any) -> VectorIndex:
    """A new empty vector index of ``dim`` for ``n`` expected vectors."""
    concrete = resolve_index_type(index_type, n)
    if concrete == "numpy":
        return NumpyIndex(dim)
    return FaissIndex(dim, index_type="flat" if concrete == "exact" else concrete, **params)


def index_params(index: VectorIndex) -> dict[str, Any]:
    """The manifest entry that lets :func:`load_index` rebuild ``index``."""
    if isinstance(index, FaissIndex):
        return {"backend": "faiss", **index.params()}
    if isinstance(index, NumpyIndex):
        return {"backend": "numpy"}
    return {"backend": type(index).__name__}


def load_index(folder: Path, dim: int, params: dict[str, Any]) -> VectorIndex:
    """Read the vector index a save wrote into ``folder``."""
    backend = params.get("backend")
    if backend == "faiss":
        return FaissIndex.load(folder, dim, params)
    if backend == "numpy":
        return NumpyIndex.load(folder, dim)
    raise FormatError(
        f"unknown vector index backend {backend!r} in the manifest; expected 'faiss' or 'numpy'"
    )
