"""Scaling out: batch encoding on Ray Data and search served by Milvus (extra ``govnlp[scale]``).

- :func:`encode_dataset` embeds a corpus into resumable Parquet shards, on a Ray actor pool
  (``engine="ray"``, one embedder per actor) or in this process (``engine="local"``);
  :meth:`EncodedDataset.to_search_index` turns the shards into a :class:`govnlp.search.SearchIndex`.
- :class:`MilvusIndex` holds the same records in a Milvus collection (Milvus Lite with a local ``.db``
  file, or a Milvus server with ``uri="http://host:19530"``) and answers ``search`` with the same
  filters and the same :class:`govnlp.search.Hit` objects as ``SearchIndex``.

Ray and pymilvus are imported only when used; without them the error names the extra to install.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["EncodedDataset", "MilvusIndex", "encode_dataset", "load_encoded", "milvus_filter"]

_EXPORTS = {
    "EncodedDataset": "govnlp.scale.encode",
    "encode_dataset": "govnlp.scale.encode",
    "load_encoded": "govnlp.scale.encode",
    "MilvusIndex": "govnlp.scale.milvus",
    "milvus_filter": "govnlp.scale.milvus_filters",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'govnlp.scale' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:  # pragma: no cover
    from govnlp.scale.encode import EncodedDataset as EncodedDataset
    from govnlp.scale.encode import encode_dataset as encode_dataset
    from govnlp.scale.encode import load_encoded as load_encoded
    from govnlp.scale.milvus import MilvusIndex as MilvusIndex
    from govnlp.scale.milvus_filters import milvus_filter as milvus_filter
