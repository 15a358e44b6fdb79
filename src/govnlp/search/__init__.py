"""Search past replies: dense (vector) + lexical (BM25 / TF-IDF) retrieval, fused, with metadata filters.

:class:`SearchIndex` indexes the measures, problems and body paragraphs of parsed replies (or any dict
records), keeps each record's metadata, and answers ``search(query, k=, mode=, filters=)`` with
:class:`Hit` objects. Filters are applied **before** ranking: the matching records are found first and
only they are searched, so a filtered dense or hybrid query returns ``k`` hits whenever ``k`` records
match.

The package's modules, each importing only those above it in this list:

- :mod:`~govnlp.search.tokenize`: Chinese tokenizers (character bigrams, n-grams, jieba);
- :mod:`~govnlp.search.bm25`, :mod:`~govnlp.search.tfidf`, :mod:`~govnlp.search.lexical`: the lexical
  index kinds (BM25, TF-IDF cosine, their mix) and :func:`~govnlp.search.lexical.make_lexical`;
- :mod:`~govnlp.search.records`: records built from ReplyDocuments or dicts;
- :mod:`~govnlp.search.filters`: metadata filters; :mod:`~govnlp.search.fusion`: dense + lexical fusion;
- :mod:`~govnlp.search.hit`: :class:`Hit`; :mod:`~govnlp.search.state`: :class:`IndexState`;
- :mod:`~govnlp.search.store`: the saved folder format (an IndexState to a folder and back);
- :mod:`~govnlp.search.search_index`: :class:`SearchIndex`.

The vector backends (numpy, faiss) live below, in :mod:`govnlp.index`.

Example:
    >>> from govnlp import SearchIndex, parse_reply
    >>> index = SearchIndex.build([parse_reply(path) for path in paths], embedder="hash")
    >>> hits = index.search("建议加强对老旧小区物业服务企业的监管", k=5,
    ...                     filters={"kind": ["提案答复", "建议答复"], "year": {"gte": 2020}})
    >>> hits[0].record["lead_agency"], hits[0].record["text"]
    >>> index.save("replies.index"); index = SearchIndex.load("replies.index")
"""

from __future__ import annotations

from govnlp.search.fusion import DEFAULT_FUSION, FusionConfig, fuse_runs, fusion_config
from govnlp.search.hit import Hit
from govnlp.search.search_index import (
    CANDIDATE_DEPTH_FACTOR,
    DEFAULT_CLEAN,
    DEFAULT_INDEX_TYPE,
    DEFAULT_MODE,
    MODES,
    SearchIndex,
)
from govnlp.search.state import IndexState
from govnlp.search.store import FORMAT, FORMAT_VERSION

__all__ = [
    "CANDIDATE_DEPTH_FACTOR",
    "DEFAULT_CLEAN",
    "DEFAULT_FUSION",
    "DEFAULT_INDEX_TYPE",
    "DEFAULT_MODE",
    "FORMAT",
    "FORMAT_VERSION",
    "MODES",
    "FusionConfig",
    "Hit",
    "IndexState",
    "SearchIndex",
    "fuse_runs",
    "fusion_config",
]
