"""Search past replies: dense (faiss) + lexical (TF-IDF or BM25) retrieval, fused, with metadata filters.

:class:`SearchIndex` indexes the measures, problems and body paragraphs of parsed replies (or any dict
records), keeps each record's metadata, and answers ``search(query, k=, mode=, filters=)`` with
:class:`Hit` objects. Filters are applied **before** ranking: the matching records are found first and
only they are searched, so a filtered dense or hybrid query returns ``k`` hits whenever ``k`` records
match.

Example:
    >>> from govnlp import SearchIndex, parse_reply
    >>> index = SearchIndex.build([parse_reply(path) for path in paths], embedder="hash")
    >>> hits = index.search("建议加强对老旧小区物业服务企业的监管", k=5,
    ...                     filters={"kind": ["提案答复", "建议答复"], "year": {"gte": 2020}})
    >>> hits[0].record["lead_agency"], hits[0].record["text"]
    >>> index.save("replies.index"); index = SearchIndex.load("replies.index")
"""

from __future__ import annotations

import logging
import numbers
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from govnlp import cleaning
from govnlp.documents import ReplyDocument
from govnlp.embedders.base import Embedder, check_fingerprint
from govnlp.embedders.finetune import tuned_fusion_weights
from govnlp.errors import ConfigError
from govnlp.index import VectorIndex, index_params, make_index, resolve_index_type
from govnlp.search.bm25 import DEFAULT_B, DEFAULT_K1
from govnlp.search.filters import compile_filters
from govnlp.search.fusion import fuse_runs, fusion_config
from govnlp.search.hit import Hit
from govnlp.search.lexical import LexicalIndex, make_lexical
from govnlp.search.locking import ReadWriteLock
from govnlp.search.records import DOCUMENT_FIELDS, build_records, check_unicode
from govnlp.search.state import IndexState
from govnlp.search.store import read_state, write_state

__all__ = [
    "CANDIDATE_DEPTH_FACTOR",
    "CLEANER",
    "DEFAULT_CLEAN",
    "DEFAULT_INDEX_TYPE",
    "DEFAULT_MODE",
    "MODES",
    "SearchIndex",
    "resolve_embedder",
]

logger = logging.getLogger(__name__)


MODES = ("hybrid", "dense", "lexical")
#: The default search mode.
DEFAULT_MODE = "hybrid"
#: Whether the embedded text (and, with ``clean_lexical``, the tokenised one) is cleaned by
#: ``govnlp.cleaning.clean_for_index``. False since 0.3: benchmarks/bench_cv.py (leave one year out over
#: 2012-2018, first-window embeddings) measured dense MRR@10 0.797 on raw replies against 0.748 on cleaned
#: ones, and its selection rule (the simplest hybrid within one standard error of the best) chose raw
#: replies on both sides with character TF-IDF and equal weights. Cleaning removes about 19% of the
#: characters of those replies: salutations, user ids and thanks, but also acknowledgement sentences that
#: sometimes carry content ("您所反映的问题我们向市城乡居民养老保险服务中心进行了反馈"); which part costs the
#: dense side was not isolated. Cleaning stays available (``clean=True``).
DEFAULT_CLEAN = False
#: How a text longer than the embedder's window is embedded: ``"first"``, its first window only, or
#: ``"mean"``, the re-normalised mean of all its windows. benchmarks/bench_cv.py (leave one year out,
#: e5): dense MRR@10 0.749 first vs 0.709 mean on messages (averaged vectors of long replies sit near
#: the centre and crowd many queries' top hits), hybrid 0.818 vs 0.814 and proposals 0.605 vs 0.592.
DEFAULT_LONG_TEXT = "first"
#: Whether the lexical side indexes the cleaned text too (with ``clean=True``); False: the raw text. bench_cv
#: (leave one year out): hybrid with bm25+tfidf on raw replies 0.829 messages / 0.605 proposals vs 0.818
#: / 0.605 on cleaned ones; every lexical scorer alone lost about 0.01 to cleaning.
DEFAULT_CLEAN_LEXICAL = False
#: The name recorded in a manifest for the cleaning function.
CLEANER = "govnlp.cleaning.clean_for_index"
#: ``"auto"``: exact faiss below ``govnlp.index.AUTO_APPROX_THRESHOLD`` vectors, approximate above.
DEFAULT_INDEX_TYPE = "auto"
#: Hybrid search fuses the top ``max(k * CANDIDATE_DEPTH_FACTOR, fusion["depth"])`` of each list.
CANDIDATE_DEPTH_FACTOR = 10


def resolve_embedder(spec: Embedder | str | None) -> Embedder:
    """An Embedder as is; a spec (or None, the default model) through :func:`govnlp.load_embedder`."""
    if isinstance(spec, Embedder) and not isinstance(spec, str):
        return spec
    from govnlp.embedders import load_embedder

    return load_embedder(spec)


class SearchIndex:
    """Hybrid dense + lexical search over reply units with metadata filters.

    ``index.reranker = FOLDER`` (or a :class:`~govnlp.search.reranker.CrossEncoderReranker`) re-orders
    every search's hits with a cross-encoder; ``search(..., reranker=)`` does it for one call (False: none).
    Not saved with the index (see :mod:`govnlp.search.reranker`).

    Threads: one writer and many readers at a time. :meth:`add`, :meth:`upsert` and :meth:`delete` take a
    write lock (after encoding, so searches go on while new texts are embedded); :meth:`search`,
    :meth:`search_batch`, :meth:`get`, :meth:`ids` and :meth:`save` take a read lock, and each sees the
    index before or after a change, never in between. A failed add or upsert changes nothing.

    Args:
        embedder: an Embedder, a spec for :func:`govnlp.load_embedder`, or None (the default model).
            Resolved on first use, so a lexical-only search of a loaded index never loads a model.
        index_type: ``"auto"`` (exact faiss below ``AUTO_APPROX_THRESHOLD`` vectors, ``AUTO_APPROX_TYPE`` from there),
            ``"exact"``, ``"hnsw"``, ``"ivf"``, or ``"numpy"`` (brute force, no faiss).
        tokenizer: the lexical tokenizer name (``char1-3``, ``bigram``, ``bigram-only``, ``jieba``; None =
            the lexical kind's default: ``char1-3`` for TF-IDF, ``govnlp.search.tokenize.DEFAULT_TOKENIZER``
            for BM25).
        lexical: the lexical index kind: ``"bm25"``, ``"tfidf"`` or ``"bm25+tfidf"`` (None =
            ``govnlp.search.lexical.DEFAULT_LEXICAL``); see :mod:`govnlp.search.lexical`.
        fusion: hybrid fusion: None (``govnlp.search.fusion.DEFAULT_FUSION``), a method name (``"rrf"``, ``"score"``), a dict of ``FusionConfig`` fields, or a ``FusionConfig``.
        clean: embed and tokenise ``clean_for_index(text)`` instead of the raw text (the record keeps both).
        bm25_k1, bm25_b: BM25 parameters.
        batch_size: encoding batch size.
    """

    def __init__(
        self,
        embedder: Embedder | str | None = None,
        *,
        index_type: str = DEFAULT_INDEX_TYPE,
        tokenizer: str | None = None,
        lexical: str | None = None,
        fusion: Any = None,
        clean: bool = DEFAULT_CLEAN,
        long_text: str = DEFAULT_LONG_TEXT,
        clean_lexical: bool = DEFAULT_CLEAN_LEXICAL,
        bm25_k1: float = DEFAULT_K1,
        bm25_b: float = DEFAULT_B,
        batch_size: int = 32,
    ) -> None:
        resolve_index_type(index_type, 0)  # validates
        self.index_type = index_type
        self.fusion = fusion_config(fusion)
        if (
            fusion is None
            or isinstance(fusion, str)
            or (isinstance(fusion, Mapping) and "alpha" not in fusion)
        ):
            # no dense weight given: a fine-tuned model folder carries the one chosen on its validation pairs
            weights = tuned_fusion_weights(embedder)
            if weights and self.fusion["method"] in weights:
                self.fusion = fusion_config({**self.fusion, "alpha": weights[self.fusion["method"]]})
        self.clean = bool(clean)
        if long_text not in ("first", "mean"):
            raise ConfigError(f"long_text must be 'first' or 'mean', got {long_text!r}")
        self.long_text = long_text
        self.clean_lexical = bool(clean_lexical)
        self.batch_size = int(batch_size)
        self._embedder_spec: str | None = (
            None if embedder is None or not isinstance(embedder, str) else embedder
        )
        self._embedder: Embedder | None = (
            embedder if isinstance(embedder, Embedder) and not isinstance(embedder, str) else None
        )
        self._reloadable = (
            embedder is None or isinstance(embedder, str) or getattr(embedder, "spec", None) is not None
        )
        if self._embedder is not None and getattr(self._embedder, "spec", None) is not None:
            self._embedder_spec = str(self._embedder.spec)  # type: ignore[attr-defined]
        self._expected: dict[str, Any] | None = None  # embedder recorded by a loaded index
        self._lexical = make_lexical(lexical, tokenizer, k1=bm25_k1, b=bm25_b)
        self._vectors: VectorIndex | None = None
        self._records: dict[str, dict[str, Any]] = {}
        self._label: dict[str, int] = {}
        self._id: dict[int, str] = {}
        self._next_label = 0
        self._fields: set[str] = set(DOCUMENT_FIELDS) | {"id"}
        self._cleaner_name = CLEANER if self.clean else "none"
        self._ranker: Any = None  # a fitted govnlp.search.ranker.Ranker (see fit_ranker)
        self._lock = ReadWriteLock()  # one writer (add, upsert, delete) or many readers (search, save)
        self._embedder_lock = threading.Lock()

    # -- construction ---------------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        items: Iterable[ReplyDocument | dict[str, Any]],
        *,
        embedder: Embedder | str | None = None,
        text_field: str = "text",
        id_field: str = "id",
        show_progress_bar: bool | None = None,
        **options: Any,
    ) -> SearchIndex:
        """Index ``items`` (ReplyDocuments and/or dict records); ``options`` go to the constructor."""
        index = cls(embedder, **options)
        index.add(items, text_field=text_field, id_field=id_field, show_progress_bar=show_progress_bar)
        return index

    @property
    def embedder(self) -> Embedder:
        """The embedder (loaded on first use; checked against the recorded fingerprint of a loaded index)."""
        with self._embedder_lock:
            if self._embedder is None:
                if not self._reloadable:
                    name = (self._expected or {}).get("name", "?")
                    raise ConfigError(
                        f"this index was built with an embedder object ({name!r}) that cannot be reloaded by "
                        "name; pass it again: SearchIndex.load(path, embedder=...)"
                    )
                emb = resolve_embedder(self._embedder_spec)
                self._check_embedder(emb)
                self._embedder = emb
            return self._embedder

    def _check_embedder(self, emb: Embedder) -> None:
        if self._expected is not None:
            check_fingerprint(
                self._expected["name"], self._expected["fingerprint"], emb, what="this search index"
            )

    # -- records --------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, rid: object) -> bool:
        return rid in self._records

    def ids(self) -> list[str]:
        """The record ids in insertion order."""
        with self._lock.read():
            return list(self._records)

    def get(self, rid: str) -> dict[str, Any]:
        """A copy of the record ``rid``. Raises KeyError naming the id."""
        with self._lock.read():
            if rid not in self._records:
                raise KeyError(f"no record with id {rid!r} in this index")
            return dict(self._records[rid])

    @property
    def fields(self) -> list[str]:
        """The record fields that filters may name."""
        with self._lock.read():
            return sorted(self._fields)

    def add(
        self,
        items: Iterable[ReplyDocument | dict[str, Any]],
        *,
        text_field: str = "text",
        id_field: str = "id",
        show_progress_bar: bool | None = None,
    ) -> list[str]:
        """Index new items; return the ids of the records added.

        All or nothing: the records are built, checked and encoded first, and only then added.

        Raises:
            ConfigError: a record id is already in the index or repeats among the items (use
                :meth:`upsert` to replace records), or a record cannot be saved (see
                :func:`govnlp.search.records.check_record`); nothing is added then.
        """
        records = build_records(items, text_field=text_field, id_field=id_field)
        self._check_new_ids(records)
        vecs = self._encode_records(records, show_progress_bar)
        with self._lock.write():
            self._check_new_ids(records)  # again: another writer may have added them meanwhile
            self._commit(records, vecs, stale=[])
        return [r["id"] for r in records]

    def _check_new_ids(self, records: list[dict[str, Any]]) -> None:
        seen: set[str] = set()
        dup = []
        for r in records:
            if r["id"] in self._records or r["id"] in seen:
                dup.append(r["id"])
            seen.add(r["id"])
        if dup:
            raise ConfigError(
                f"{len(dup)} record id(s) already in the index or repeated: {dup[:10]}; use upsert() to "
                "replace records, or give the records distinct ids (id_field=)."
            )

    def _encode_records(self, records: list[dict[str, Any]], show_progress_bar: bool | None) -> np.ndarray:
        """Set each record's ``index_text`` and return its vectors ``(len(records), dim)``; changes nothing
        in the index."""
        for r in records:
            cleaned = cleaning.clean_for_index(r["text"]) if self.clean else r["text"]
            r["index_text"] = cleaned if cleaned.strip() else r["text"]
        if not records:  # nothing to encode: the model is not loaded for it
            return np.zeros((0, 0), dtype=np.float32)
        emb = self.embedder
        texts = [r["index_text"] for r in records]
        windows = getattr(emb, "windows", None) if self.long_text == "first" else None
        if callable(windows):  # a long text is embedded by its first window (see DEFAULT_LONG_TEXT)
            texts = [windows(t, kind="passage")[0] for t in texts]
        vecs = emb.encode(
            texts,
            kind="passage",
            batch_size=self.batch_size,
            show_progress_bar=show_progress_bar,
        )
        vecs = np.ascontiguousarray(vecs, dtype=np.float32)
        if vecs.shape != (len(records), emb.dim):
            raise ConfigError(
                f"embedder {emb.name!r} returned shape {vecs.shape}, expected {(len(records), emb.dim)}"
            )
        if not np.isfinite(vecs).all():
            raise ConfigError(f"embedder {emb.name!r} returned vectors holding NaN or infinity")
        return vecs

    def _commit(self, records: list[dict[str, Any]], vecs: np.ndarray, stale: list[str]) -> None:
        """Add ``records`` (with their vectors) and remove the records ``stale``; hold the write lock.

        The new entries go in first under new labels; if adding them fails, they are taken out again and
        the index is as it was. Only then are the stale entries removed.
        """
        if not records and not stale:
            return
        labels = np.arange(self._next_label, self._next_label + len(records), dtype=np.int64)
        vectors = self._vectors
        if records:
            if vectors is None:
                vectors = make_index(vecs.shape[1], self.index_type, len(records))
            try:
                vectors.add(vecs, labels)
                lex_cleaned = self.clean and self.clean_lexical
                self._lexical.add([r["index_text"] if lex_cleaned else r["text"] for r in records], labels)
            except BaseException:
                vectors.remove(labels)
                self._lexical.remove(labels)
                raise
            self._vectors = vectors
            self._next_label += len(records)
        old = np.array([self._label[i] for i in stale], dtype=np.int64)
        if len(old):
            assert self._vectors is not None
            self._vectors.remove(old)
            self._lexical.remove(old)
        for rid in stale:
            del self._id[self._label.pop(rid)]
            del self._records[rid]
        for r, lab in zip(records, labels.tolist(), strict=True):
            self._records[r["id"]] = r
            self._label[r["id"]] = lab
            self._id[lab] = r["id"]
            self._fields.update(k for k in r if k not in ("text", "index_text"))
        self._cleaner_name = CLEANER if self.clean else "none"
        self._maybe_switch_to_approximate()

    def _maybe_switch_to_approximate(self) -> None:
        """With ``index_type="auto"``, move an exact index that has grown past the threshold to the
        approximate type (``govnlp.index.AUTO_APPROX_TYPE``)."""
        from govnlp import index as index_mod

        vec = self._vectors
        if self.index_type != "auto" or vec is None or len(vec) < index_mod.AUTO_APPROX_THRESHOLD:
            return
        if index_params(vec).get("index_type") != "flat":
            return
        labels = vec.labels()
        new = make_index(vec.dim, index_mod.AUTO_APPROX_TYPE)
        new.add(vec.reconstruct(labels), labels)
        self._vectors = new
        logger.info(
            "index grew to %d vectors: switched from exact to %s search",
            len(labels),
            index_mod.AUTO_APPROX_TYPE,
        )

    def delete(self, ids: Iterable[str], *, missing: str = "raise") -> int:
        """Remove records by id; return how many were removed.

        Args:
            missing: ``"raise"`` (default): an unknown id raises ConfigError listing them and nothing is
                removed; ``"ignore"``: unknown ids are skipped.
        """
        if isinstance(ids, str):
            raise TypeError("delete() expects a list of ids, got a single str; wrap it: delete([id])")
        if missing not in ("raise", "ignore"):
            raise ConfigError(f"missing must be 'raise' or 'ignore', got {missing!r}")
        ids = list(dict.fromkeys(ids))
        with self._lock.write():
            unknown = [i for i in ids if i not in self._records]
            if unknown and missing == "raise":
                raise ConfigError(
                    f"{len(unknown)} id(s) not in the index: {unknown[:10]}; nothing was deleted. "
                    "Pass missing='ignore' to skip unknown ids."
                )
            known = [i for i in ids if i in self._records]
            self._commit([], np.zeros((0, 0), dtype=np.float32), stale=known)
        return len(known)

    def upsert(
        self,
        items: Iterable[ReplyDocument | dict[str, Any]],
        *,
        text_field: str = "text",
        id_field: str = "id",
        show_progress_bar: bool | None = None,
    ) -> list[str]:
        """Add items, replacing records with the same id; return the ids written.

        A ReplyDocument replaces *all* records of the same ``doc_id`` (so measures dropped from a
        re-parsed reply disappear too). All or nothing: the new records are built, checked and encoded
        before any old one is replaced, so an error (a bad record, a failing embedder) changes nothing.
        """
        if isinstance(items, (str, bytes)):
            build_records(items)  # raises the TypeError that names the fix
        items = list(items)
        records = build_records(items, text_field=text_field, id_field=id_field)
        last = {r["id"]: r for r in records}  # the last of repeated ids wins
        records = list(last.values())
        doc_ids = {d.id for d in items if isinstance(d, ReplyDocument)}
        vecs = self._encode_records(records, show_progress_bar)
        with self._lock.write():
            stale = [
                rid
                for rid, r in self._records.items()
                if rid in last or (doc_ids and r.get("doc_id") in doc_ids and r.get("unit"))
            ]
            self._commit(records, vecs, stale=stale)
        return [r["id"] for r in records]

    # -- search ---------------------------------------------------------------------------------------
    def _subset(self, filters: Mapping[str, Any] | None) -> np.ndarray | None:
        pred = compile_filters(filters, self._fields)
        if pred is None:
            return None
        return np.array([self._label[rid] for rid, r in self._records.items() if pred(r)], dtype=np.int64)

    #: a cross-encoder folder or CrossEncoderReranker applied to every search (not saved; see search_batch)
    reranker: Any = None

    def search(
        self,
        query: str,
        *,
        k: int = 10,
        mode: str = DEFAULT_MODE,
        filters: Mapping[str, Any] | None = None,
        reranker: Any = None,
    ) -> list[Hit]:
        """The ``k`` best records for ``query``.

        Args:
            query: the query text (a proposal's problem, a message, …). A blank query (empty or only
                white space) has no hits, in every mode.
            k: number of hits (an int, numpy integers included, >= 1); more than the index holds returns
                them all.
            mode: ``"hybrid"`` (dense + lexical, fused), ``"dense"`` or ``"lexical"`` (lexical only; returns only
                records sharing a term with the query).
            filters: metadata conditions applied before ranking (see :mod:`govnlp.search.filters`).

        Raises:
            TypeError: ``query`` is not a str.
            ConfigError: a bad ``k``, ``mode`` or filter, or a query holding a lone surrogate.

        Example:
            >>> index.search("建议加强对老旧小区物业服务企业的监管", k=5, filters={"year": {"gte": 2020}})
        """
        if not isinstance(query, str):
            raise TypeError(
                f"search() expects one query str, got {type(query).__name__}; use search_batch() for lists"
            )
        return self.search_batch([query], k=k, mode=mode, filters=filters, reranker=reranker)[0]

    def search_batch(
        self,
        queries: Sequence[str],
        *,
        k: int = 10,
        mode: str = DEFAULT_MODE,
        filters: Mapping[str, Any] | None = None,
        show_progress_bar: bool | None = None,
        reranker: Any = None,
    ) -> list[list[Hit]]:
        """:meth:`search` for many queries (encoded in one batch with ``kind="query"``).

        ``reranker``: a cross-encoder folder or CrossEncoderReranker that re-orders the top
        ``max(k, rerank_top)`` candidates (see :mod:`govnlp.search.reranker`); None uses ``self.reranker``,
        False none.

        Safe to call from many threads while another thread adds, upserts or deletes: each call sees the
        index either before or after a change, never in between.
        """
        if isinstance(queries, str):
            raise TypeError("search_batch() expects a list of queries, got a single str; use search()")
        queries = list(queries)
        if mode not in MODES:
            raise ConfigError(f"mode must be one of {MODES}, got {mode!r}")
        if not isinstance(k, numbers.Integral) or isinstance(k, bool) or k <= 0:
            raise ConfigError(f"k must be a positive int, got {k!r}")
        k = int(k)
        for i, q in enumerate(queries):
            if not isinstance(q, str):
                raise TypeError(f"query {i} is a {type(q).__name__}, expected a str")
            check_unicode(q, f"query {i}")
        rr = self.reranker if reranker is None else reranker
        if rr is not None and rr is not False:
            from govnlp.search.reranker import reranked_search

            opts = {"mode": mode, "filters": filters, "show_progress_bar": show_progress_bar}
            return reranked_search(self, queries, k=k, reranker=rr, **opts)
        live = [i for i, q in enumerate(queries) if q.strip()]  # blank queries have no hits
        out: list[list[Hit]] = [[] for _ in queries]
        qvecs = None
        if mode in ("dense", "hybrid") and live and len(self):
            qvecs = np.ascontiguousarray(
                self.embedder.encode(
                    [queries[i] for i in live],
                    kind="query",
                    batch_size=self.batch_size,
                    show_progress_bar=show_progress_bar,
                ),
                dtype=np.float32,
            )
        with self._lock.read():
            subset = self._subset(filters)
            n = len(self._records) if subset is None else len(subset)
            if not live or not n:
                return out
            k = min(k, n)
            if qvecs is None and mode != "lexical":  # records were added after the query was checked
                qvecs = np.ascontiguousarray(
                    self.embedder.encode(
                        [queries[i] for i in live], kind="query", batch_size=self.batch_size
                    ),
                    dtype=np.float32,
                )
            for j, hits in enumerate(self._search_live([queries[i] for i in live], qvecs, k, mode, subset)):
                out[live[j]] = hits
        return out

    def _search_live(
        self, queries: list[str], qvecs: np.ndarray | None, k: int, mode: str, subset: np.ndarray | None
    ) -> list[list[Hit]]:
        """The hits of non-blank ``queries``; ``k`` is at most the number of searchable records."""
        if mode == "hybrid" and self._ranker is not None:
            from govnlp.search.ranker import rank_hits

            return rank_hits(self, self._ranker, queries, qvecs, k, subset)
        n = len(self._records) if subset is None else len(subset)
        depth = k if mode != "hybrid" else min(n, max(k * CANDIDATE_DEPTH_FACTOR, int(self.fusion["depth"])))
        dense = lexical = None
        if mode in ("dense", "hybrid"):
            assert self._vectors is not None and qvecs is not None
            dense = self._vectors.search(qvecs, depth, subset=subset)
        lex_scores: list[np.ndarray] = []
        if mode in ("lexical", "hybrid"):
            mask = self._lexical.mask(subset)
            lexical = (
                np.full((len(queries), depth), -np.inf, np.float32),
                np.full((len(queries), depth), -1, np.int64),
            )
            for i, q in enumerate(queries):
                lex_scores.append(self._lexical.score(q))
                lexical[0][i], lexical[1][i] = self._lexical.top(lex_scores[i], depth, mask)
        out: list[list[Hit]] = []
        for i in range(len(queries)):
            if mode == "dense":
                assert dense is not None
                out.append(self._hits(dense[0][i], dense[1][i], k, "dense"))
            elif mode == "lexical":
                assert lexical is not None
                out.append(self._hits(lexical[0][i], lexical[1][i], k, "lexical"))
            else:
                assert dense is not None and lexical is not None and qvecs is not None
                out.append(
                    self._fuse(
                        queries[i],
                        qvecs[i],
                        dense[0][i],
                        dense[1][i],
                        lexical[0][i],
                        lexical[1][i],
                        k,
                        lex_scores[i],
                    )
                )
        return out

    def _hits(self, scores: np.ndarray, labels: np.ndarray, k: int, which: str) -> list[Hit]:
        hits: list[Hit] = []
        for s, lab in zip(scores[:k].tolist(), labels[:k].tolist(), strict=True):
            if lab < 0:
                break
            rid = self._id[lab]
            hits.append(
                Hit(
                    id=rid,
                    score=float(s),
                    rank=len(hits) + 1,
                    record=dict(self._records[rid]),
                    dense_score=float(s) if which == "dense" else None,
                    lexical_score=float(s) if which == "lexical" else None,
                )
            )
        return hits

    def _fuse(
        self,
        query: str,
        qvec: np.ndarray,
        ds: np.ndarray,
        dl: np.ndarray,
        ls: np.ndarray,
        ll: np.ndarray,
        k: int,
        lex_scores: np.ndarray,
    ) -> list[Hit]:
        dense_run = {
            self._id[lab]: float(s) for s, lab in zip(ds.tolist(), dl.tolist(), strict=True) if lab >= 0
        }
        lex_run = {
            self._id[lab]: float(s) for s, lab in zip(ls.tolist(), ll.tolist(), strict=True) if lab >= 0
        }
        top = fuse_runs(dense_run, lex_run, self.fusion)[:k]  # best first, ties by id
        labels = np.array([self._label[rid] for rid, _ in top], dtype=np.int64)
        assert self._vectors is not None
        # exact component scores of the returned hits, also where a hit came from one list only
        dscore = self._vectors.reconstruct(labels) @ qvec if len(labels) else np.zeros(0, np.float32)
        lscore = self._lexical.scores_for(query, labels, lex_scores)
        return [
            Hit(
                id=rid,
                score=float(fs),
                rank=j + 1,
                record=dict(self._records[rid]),
                dense_score=float(dscore[j]),
                lexical_score=float(lscore[j]),
            )
            for j, (rid, fs) in enumerate(top)
        ]

    # -- state and persistence (the folder format lives in govnlp.search.store) ------------------------
    @property
    def lexical(self) -> LexicalIndex:
        """The lexical index (BM25, TF-IDF or their mix) of this search index."""
        return self._lexical

    def _embedder_entry(self) -> dict[str, Any]:
        """The embedder's name, dim and fingerprint (resolving it if it was never used), spec, reloadable."""
        if self._embedder is not None:
            emb = self._embedder
            entry = {"name": emb.name, "dim": int(emb.dim), "fingerprint": emb.fingerprint()}
        elif self._expected is not None:
            entry = {k: self._expected[k] for k in ("name", "dim", "fingerprint")}
        else:  # never used: resolve it now so that the state names it
            emb = self.embedder
            entry = {"name": emb.name, "dim": int(emb.dim), "fingerprint": emb.fingerprint()}
        return {**entry, "spec": self._embedder_spec, "reloadable": self._reloadable}

    def fit_ranker(self, pairs: Iterable[tuple[str, Any]], **options: Any) -> SearchIndex:
        """Learn to rank this index's hybrid candidates from ``(query, relevant id)`` pairs; return self.

        Hybrid searches then rank by the learned head and hits carry ``relevance``; the head is saved
        with the index. ``options``: ``method`` (``"logreg"`` or ``"lambdarank"``), ``depth``, ``C``,
        ``random_state`` (see :func:`govnlp.search.ranker.fit_ranker`).
        """
        from govnlp.search.ranker import fit_ranker

        self._ranker = fit_ranker(self, pairs, **options)
        return self

    def state(self) -> IndexState:
        """The index's state (what :meth:`save` writes). Its records dict and label map are copies; the
        vector and lexical indexes are the live objects: do not change them, and do not read them while
        another thread changes this index."""
        with self._lock.read():
            return self._state()

    def _state(self) -> IndexState:
        return IndexState(
            embedder=self._embedder_entry(),
            index_type=self.index_type,
            fusion=dict(self.fusion),
            clean=self.clean,
            long_text=self.long_text,
            clean_lexical=self.clean_lexical,
            cleaner=self._cleaner_name,
            batch_size=self.batch_size,
            records=dict(self._records),
            labels=dict(self._label),
            next_label=self._next_label,
            vectors=self._vectors,
            lexical=self._lexical,
            ranker=self._ranker,
        )

    @classmethod
    def from_state(
        cls, state: IndexState, embedder: Embedder | str | None = None, *, source: str = "this search index"
    ) -> SearchIndex:
        """A search index holding ``state`` (which it takes over).

        Args:
            embedder: None uses the embedder ``state.embedder`` names (loaded on first dense search); one
                given is checked against the recorded fingerprint at once.
            source: what the state came from, for error messages.

        Raises:
            EmbedderMismatchError: ``embedder`` is not the one the state was built with (names both).
        """
        entry = state.embedder
        emb_obj: Embedder | None = None
        if embedder is not None:
            emb_obj = resolve_embedder(embedder)
            check_fingerprint(entry["name"], entry["fingerprint"], emb_obj, what=source)
        elif not entry.get("reloadable", True):
            logger.warning(
                "%s was built with an embedder object (%s) that cannot be reloaded by name; "
                "pass embedder= to load() before a dense or hybrid search",
                source,
                entry["name"],
            )
        index = cls(
            emb_obj if emb_obj is not None else entry.get("spec"),
            index_type=state.index_type,
            lexical=state.lexical.kind,
            fusion=state.fusion,
            clean=state.clean,
            long_text=state.long_text,
            clean_lexical=state.clean_lexical,
            batch_size=state.batch_size,
        )
        index._expected = dict(entry)
        index._embedder_spec = entry.get("spec")  # kept for the next save, whatever embedder= was given
        index._reloadable = bool(entry.get("reloadable", True))
        index._cleaner_name = state.cleaner
        index._vectors = state.vectors
        index._lexical = state.lexical
        index._ranker = state.ranker
        index._records = dict(state.records)
        index._label = dict(state.labels)
        index._id = {lab: rid for rid, lab in state.labels.items()}
        index._next_label = int(state.next_label)
        for r in index._records.values():
            index._fields.update(k for k in r if k not in ("text", "index_text"))
        return index

    def save(self, path: str | Path) -> Path:
        """Save into the folder ``path`` (replaced atomically: an interrupted save leaves the old one).

        Layout: ``manifest.json``, ``vectors.faiss`` (or ``vectors.npy``), ``ids.json``,
        ``records.jsonl``, ``lexical/`` (sparse ``.npz`` + JSON, see :func:`govnlp.search.lexical.load_lexical`).
        No pickle.
        """
        entry = self._embedder_entry()  # may load the embedder: outside the lock
        with self._lock.read():
            state = self._state()
            state.embedder = entry
            return write_state(state, path)

    @classmethod
    def load(cls, path: str | Path, embedder: Embedder | str | None = None) -> SearchIndex:
        """Load a saved index, checking versions and counts.

        Args:
            embedder: None uses the embedder the manifest records (loaded on first dense search); one
                given is checked against the recorded fingerprint at once.

        Raises:
            FormatError: not a saved search index, a newer format version, or inconsistent counts.
            EmbedderMismatchError: ``embedder`` is not the one the index was built with (names both).
        """
        return cls.from_state(read_state(path), embedder, source=f"the search index {Path(path)}")

    def __repr__(self) -> str:
        vec = index_params(self._vectors)["index_type"] if self._vectors is not None else "empty"
        name = (
            self._embedder.name
            if self._embedder is not None
            else (self._expected or {}).get("name", self._embedder_spec)
        )
        return f"SearchIndex({len(self)} records, embedder={name!r}, vectors={vec}, fusion={self.fusion['method']!r})"
