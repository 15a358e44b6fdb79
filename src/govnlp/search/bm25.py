"""Okapi BM25 over int64 labels, with incremental add and remove (scipy CSR term counts).

Saved as ``tf.npz`` (term counts), ``labels.npy`` and ``bm25.json`` (vocabulary, parameters, format
version); no pickle. Tested against a plain-Python reference in ``tests/lexical_reference.py``.

Example:
    >>> bm25 = BM25Index(tokenizer="bigram")
    >>> bm25.add(["推进老旧小区改造", "优化营商环境"], np.array([0, 1]))
    >>> bm25.search("老旧小区", k=1)
    (array([[...]], dtype=float32), array([[0]]))
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import scipy.sparse as sp

from govnlp.errors import ConfigError, FormatError
from govnlp.index.base import check_labels, topk
from govnlp.search.tokenize import Tokenizer, get_tokenizer

__all__ = ["DEFAULT_B", "DEFAULT_K1", "BM25Index"]

_Index = TypeVar("_Index", bound="BM25Index")

#: BM25 term-frequency saturation. bench_search's (k1, b) grid: BM25 alone is best on dev at (1.5, 1.0),
#: but the default hybrid (bm25+tfidf) with those scores lower on dev than with (1.2, 0.75), so these stay.
DEFAULT_K1 = 1.2
#: BM25 length normalisation.
DEFAULT_B = 0.75

_FORMAT = "govnlp.bm25"
_FORMAT_VERSION = 1


class BM25Index:
    """Okapi BM25 over int64 labels with a sparse term-frequency matrix.

    Score of document d for query q: ``sum over query tokens t of idf(t) * tf(t,d) * (k1 + 1) /
    (tf(t,d) + k1 * (1 - b + b * len(d) / avglen))`` with ``idf(t) = ln(1 + (N - df(t) + 0.5) /
    (df(t) + 0.5))`` (a query token repeated counts again, as in rank_bm25).

    Args:
        tokenizer: a tokenizer name (see :data:`TOKENIZERS`) or object with ``name`` and ``__call__``.
        k1: term-frequency saturation.
        b: length normalisation.
    """

    #: The lexical index kind (see :data:`LEXICAL_KINDS`).
    kind = "bm25"
    _format = _FORMAT
    _meta_file = "bm25.json"

    def __init__(
        self, tokenizer: str | Tokenizer | None = None, *, k1: float = DEFAULT_K1, b: float = DEFAULT_B
    ) -> None:
        self.tokenizer = get_tokenizer(tokenizer)
        self.k1 = float(k1)
        self.b = float(b)
        self._vocab: dict[str, int] = {}
        self._tf = sp.csr_matrix((0, 0), dtype=np.float32)
        self._labels = np.zeros(0, dtype=np.int64)
        self._weights: sp.csc_matrix | None = None
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None
        self._idf = np.zeros(0, dtype=np.float32)

    def __len__(self) -> int:
        return int(self._labels.shape[0])

    @property
    def vocabulary_size(self) -> int:
        return len(self._vocab)

    def labels(self) -> np.ndarray:
        return self._labels.copy()

    def describe(self) -> dict[str, Any]:
        """The JSON-safe parameters of this index (recorded in a search index manifest)."""
        return {"kind": self.kind, "tokenizer": self.tokenizer.name, "k1": self.k1, "b": self.b}

    # -- building ---------------------------------------------------------------------------------------
    def add(self, texts: Sequence[str], labels: np.ndarray | Iterable[int]) -> None:
        """Tokenize and add ``texts`` under new int64 ``labels``."""
        if isinstance(texts, str):
            raise TypeError("add() expects a list of texts, got a single str; wrap it: add([text], labels)")
        texts = list(texts)
        labs = check_labels(
            np.fromiter(labels, dtype=np.int64) if not isinstance(labels, np.ndarray) else labels, len(texts)
        )
        if np.isin(labs, self._labels).any() or len(np.unique(labs)) != len(labs):
            raise ConfigError("labels already in the lexical index or repeated")
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for i, text in enumerate(texts):
            counts: dict[int, int] = {}
            for tok in self.tokenizer(text):
                j = self._vocab.setdefault(tok, len(self._vocab))
                counts[j] = counts.get(j, 0) + 1
            rows.extend([i] * len(counts))
            cols.extend(counts)
            vals.extend(counts.values())
        new = sp.csr_matrix(
            (
                np.asarray(vals, dtype=np.float32),
                (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)),
            ),
            shape=(len(texts), len(self._vocab)),
        )
        old = self._tf
        old.resize((old.shape[0], len(self._vocab)))
        self._tf = sp.vstack([old, new], format="csr") if old.shape[0] else new
        self._labels = np.concatenate([self._labels, labs])
        self._weights = None
        self._sorted = None

    def remove(self, labels: np.ndarray | Iterable[int]) -> int:
        """Remove documents by label; return how many were held."""
        labs = check_labels(
            np.fromiter(labels, dtype=np.int64) if not isinstance(labels, np.ndarray) else labels
        )
        drop = np.isin(self._labels, labs)
        n = int(drop.sum())
        if n:
            self._tf = self._tf[~drop]
            self._labels = self._labels[~drop]
            self._weights = None
            self._sorted = None
        return n

    def _prepare(self) -> sp.csc_matrix:
        if self._weights is not None:
            return self._weights
        tf = self._tf.tocsr()
        n_docs = tf.shape[0]
        lengths = np.asarray(tf.sum(axis=1)).ravel().astype(np.float32)
        avg = float(lengths.mean()) if n_docs and lengths.sum() else 1.0
        df = np.bincount(tf.indices, minlength=tf.shape[1]).astype(np.float64)
        self._idf = np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        w = tf.copy().astype(np.float32)
        row_of = np.repeat(np.arange(n_docs), np.diff(w.indptr))
        denom = w.data + self.k1 * (1.0 - self.b + self.b * lengths[row_of] / avg)
        w.data = (w.data * (self.k1 + 1.0) / denom * self._idf[w.indices]).astype(np.float32)
        self._weights = w.tocsc()
        return self._weights

    # -- search -----------------------------------------------------------------------------------------
    def query_vector(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """Vocabulary columns and counts of the query's tokens (unknown tokens dropped)."""
        counts: dict[int, int] = {}
        for tok in self.tokenizer(query):
            j = self._vocab.get(tok)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        return np.fromiter(counts, dtype=np.int64), np.fromiter(counts.values(), dtype=np.float32)

    def score(self, query: str) -> np.ndarray:
        """BM25 scores of every document (storage order, see :meth:`labels`) for ``query``, shape ``(n,)``."""
        w = self._prepare()
        cols, counts = self.query_vector(query)
        if not len(cols) or not len(self):
            return np.zeros(len(self), dtype=np.float32)
        return np.asarray(w[:, cols] @ counts, dtype=np.float32).ravel()

    def mask(self, subset: np.ndarray | None) -> np.ndarray | None:
        """Boolean mask over storage order of the labels in ``subset`` (None: no subset)."""
        return None if subset is None else np.isin(self._labels, check_labels(subset))

    def top(
        self, scores: np.ndarray, k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` ``(scores, labels)`` of a full score vector (see :meth:`score`), zero scores left out."""
        labs = self._labels
        if mask is not None:
            scores, labs = scores[mask], labs[mask]
        pos = scores > 0
        ts, tl = topk(scores[pos][None, :], labs[pos], k)
        return ts[0], tl[0]

    def search(
        self, queries: str | Sequence[str], k: int = 10, *, subset: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` BM25 matches per query; documents scoring 0 (no shared term) are not returned.

        Returns:
            ``(scores, labels)`` of shape ``(m, k)``, padded with ``-inf`` / ``-1``.
        """
        qs = [queries] if isinstance(queries, str) else list(queries)
        if k <= 0:
            raise ConfigError(f"k must be positive, got {k}")
        mask = self.mask(subset)
        out_s = np.full((len(qs), k), -np.inf, dtype=np.float32)
        out_l = np.full((len(qs), k), -1, dtype=np.int64)
        for i, q in enumerate(qs):
            out_s[i], out_l[i] = self.top(self.score(q), k, mask)
        return out_s, out_l

    def positions(self, labels: np.ndarray) -> np.ndarray:
        """Storage positions of ``labels`` (-1 for labels not held)."""
        if self._sorted is None:
            order = np.argsort(self._labels, kind="stable")
            self._sorted = (self._labels[order], order)
        keys, order = self._sorted
        labs = check_labels(labels)
        if not len(keys):
            return np.full(len(labs), -1, dtype=np.int64)
        at = np.clip(np.searchsorted(keys, labs), 0, len(keys) - 1)
        return np.where(keys[at] == labs, order[at], -1).astype(np.int64)

    def scores_for(self, query: str, labels: np.ndarray, scores: np.ndarray | None = None) -> np.ndarray:
        """BM25 scores of the given labels (0 for labels not held), shape ``(len(labels),)``.

        ``scores``: the query's full score vector if already computed (see :meth:`score`).
        """
        s = self.score(query) if scores is None else scores
        pos = self.positions(labels)
        return np.where(pos >= 0, s[np.maximum(pos, 0)] if len(s) else 0.0, 0.0).astype(np.float32)

    # -- persistence ------------------------------------------------------------------------------------
    def save(self, folder: str | Path) -> None:
        """Write ``tf.npz``, ``labels.npy`` and ``bm25.json`` (``tfidf.json`` for TF-IDF) into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        sp.save_npz(folder / "tf.npz", self._tf.tocsr(), compressed=True)
        np.save(folder / "labels.npy", self._labels, allow_pickle=False)
        vocab = sorted(self._vocab, key=self._vocab.__getitem__)
        meta = {
            "format": self._format,
            "format_version": _FORMAT_VERSION,
            "tokenizer": self.tokenizer.name,
            "k1": self.k1,
            "b": self.b,
            "n_docs": len(self),
            "vocabulary": vocab,
        }
        (folder / self._meta_file).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls: type[_Index], folder: str | Path, tokenizer: str | Tokenizer | None = None) -> _Index:
        """Read a saved index of this class (the tokenizer named in its JSON unless one is given)."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / cls._meta_file).read_text(encoding="utf-8"))
            tf = sp.load_npz(folder / "tf.npz").tocsr().astype(np.float32)
            labels = np.load(folder / "labels.npy", allow_pickle=False).astype(np.int64)
        except Exception as exc:  # a damaged file raises many kinds: BadZipFile, EOFError, zlib.error, ...
            raise FormatError(
                f"cannot read the lexical index in {folder}: {type(exc).__name__}: {exc}. Save the index again."
            ) from exc
        if not isinstance(meta, dict):
            raise FormatError(f"{folder}/{cls._meta_file} is not a JSON object; save the index again.")
        if (
            meta.get("format") != cls._format
            or not isinstance(meta.get("format_version"), int)
            or meta["format_version"] > _FORMAT_VERSION
        ):
            raise FormatError(
                f"{folder}/{cls._meta_file} is format {meta.get('format')!r} version "
                f"{meta.get('format_version')!r}; expected {cls._format!r} up to version {_FORMAT_VERSION}. "
                "Upgrade govnlp or rebuild the index."
            )
        vocab = meta.get("vocabulary")
        if not isinstance(vocab, list) or not all(isinstance(t, str) for t in vocab):
            raise FormatError(f"{folder}/{cls._meta_file} holds no vocabulary list; save the index again.")
        if tf.shape != (len(labels), len(vocab)) or meta.get("n_docs") != len(labels) or labels.ndim != 1:
            raise FormatError(
                f"the lexical index in {folder} is inconsistent: matrix {tf.shape}, {len(labels)} labels, "
                f"{len(vocab)} terms, manifest says {meta.get('n_docs')} documents. Save the index again."
            )
        try:
            index = cls(tokenizer if tokenizer is not None else meta["tokenizer"], k1=meta["k1"], b=meta["b"])
        except (KeyError, TypeError, ValueError) as exc:
            raise FormatError(
                f"{folder}/{cls._meta_file} lacks or garbles {exc}; save the index again."
            ) from exc
        index._vocab = {t: i for i, t in enumerate(vocab)}
        index._tf = tf
        index._labels = labels
        return index
