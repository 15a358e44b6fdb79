"""The explicit state of a :class:`~govnlp.search.SearchIndex`: what a save writes and a load reads.

:meth:`SearchIndex.state() <govnlp.search.SearchIndex.state>` returns one and
:meth:`SearchIndex.from_state() <govnlp.search.SearchIndex.from_state>` builds an index from one;
:mod:`govnlp.search.store` turns it into a folder and back. Nothing else crosses that boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from govnlp.index import VectorIndex
from govnlp.search.lexical import LexicalIndex

__all__ = ["IndexState"]


@dataclass
class IndexState:
    """Everything a search index holds, as plain fields.

    Attributes:
        embedder: ``{"name", "dim", "fingerprint", "spec", "reloadable"}`` of the embedder the vectors
            came from (``spec`` reloads it through :func:`govnlp.load_embedder`; ``reloadable`` is False
            for an embedder object that has no spec).
        index_type: the requested vector index type (``"auto"``, ``"exact"``, ...).
        fusion: the full fusion config (see :func:`govnlp.search.fusion.fusion_config`).
        clean: whether texts were cleaned before indexing; ``cleaner`` names the function used.
        cleaner: ``"govnlp.cleaning.clean_for_index"`` or ``"none"``.
        batch_size: the encoding batch size.
        records: record id -> record, in insertion order.
        labels: record id -> int64 label of its vector and lexical entries.
        next_label: the label the next added record gets.
        vectors: the vector index (None before the first add).
        lexical: the lexical index.
        long_text: how long texts were embedded (``"first"`` window or ``"mean"`` of windows; indexes saved
            before the option existed used ``"mean"``).
        clean_lexical: whether the lexical side indexed the cleaned text (with ``clean``) or the raw one
            (indexes saved before the option existed: cleaned).
        ranker: the fitted ranking head (:class:`govnlp.search.ranker.Ranker`) or None.
    """

    embedder: dict[str, Any]
    index_type: str
    fusion: dict[str, Any]
    clean: bool
    cleaner: str
    batch_size: int
    records: dict[str, dict[str, Any]]
    labels: dict[str, int]
    next_label: int
    vectors: VectorIndex | None
    lexical: LexicalIndex
    ranker: Any = None
    long_text: str = "mean"
    clean_lexical: bool = True
