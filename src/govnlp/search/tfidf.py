"""Cosine similarity of sublinear TF-IDF vectors over int64 labels (character 1-3-grams by default)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from govnlp.search.bm25 import DEFAULT_B, DEFAULT_K1, BM25Index
from govnlp.search.tokenize import DEFAULT_TFIDF_TOKENIZER, Tokenizer

__all__ = ["TfidfIndex"]

_TFIDF_FORMAT = "govnlp.tfidf"


class TfidfIndex(BM25Index):
    """Cosine similarity of sublinear TF-IDF vectors (character 1-3-grams by default).

    Document weights ``(1 + ln tf(t,d)) * idf(t)`` with ``idf(t) = ln((1 + N) / (1 + df(t))) + 1``,
    each row L2-normalised; the query gets the same weights over the terms the index knows (sklearn's
    ``TfidfVectorizer(sublinear_tf=True)``). Same API, storage and add/remove as :class:`BM25Index`;
    ``k1`` and ``b`` are only recorded (TF-IDF does not use them). Saved as ``tf.npz``, ``labels.npy``
    and ``tfidf.json``.

    Example:
        >>> tfidf = TfidfIndex()
        >>> tfidf.add(["推进老旧小区改造", "优化营商环境"], np.array([0, 1]))
        >>> tfidf.search("老旧小区", k=1)[1]
        array([[0]])
    """

    kind = "tfidf"
    _format = _TFIDF_FORMAT
    _meta_file = "tfidf.json"

    def __init__(
        self, tokenizer: str | Tokenizer | None = None, *, k1: float = DEFAULT_K1, b: float = DEFAULT_B
    ) -> None:
        super().__init__(DEFAULT_TFIDF_TOKENIZER if tokenizer is None else tokenizer, k1=k1, b=b)

    def _prepare(self) -> sp.csc_matrix:
        if self._weights is not None:
            return self._weights
        tf = self._tf.tocsr()
        n_docs = tf.shape[0]
        df = np.bincount(tf.indices, minlength=tf.shape[1]).astype(np.float64)
        self._idf = (np.log((1.0 + n_docs) / (1.0 + df)) + 1.0).astype(np.float32)
        w = tf.copy().astype(np.float64)
        w.data = (1.0 + np.log(w.data)) * self._idf[w.indices]
        norms = np.sqrt(np.asarray(w.multiply(w).sum(axis=1)).ravel())
        row_of = np.repeat(np.arange(n_docs), np.diff(w.indptr))
        w.data = w.data / np.where(norms > 0, norms, 1.0)[row_of]
        self._weights = w.astype(np.float32).tocsc()
        return self._weights

    def score(self, query: str) -> np.ndarray:
        """Cosine similarities of every document (storage order) to ``query``, shape ``(n,)``."""
        w = self._prepare()
        cols, counts = self.query_vector(query)
        if not len(cols) or not len(self):
            return np.zeros(len(self), dtype=np.float32)
        q = (1.0 + np.log(counts)) * self._idf[cols]
        q = q / max(float(np.sqrt((q * q).sum())), 1e-12)
        return np.asarray(w[:, cols] @ q.astype(np.float32), dtype=np.float32).ravel()
