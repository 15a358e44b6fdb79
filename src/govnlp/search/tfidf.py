"""Cosine similarity of sublinear TF-IDF vectors over int64 labels (character 1-3-grams by default)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer

from govnlp.search.bm25 import DEFAULT_B, DEFAULT_K1, BM25Index
from govnlp.search.tokenize import DEFAULT_TFIDF_TOKENIZER, Tokenizer

__all__ = ["TfidfIndex"]

_TFIDF_FORMAT = "govnlp.tfidf"


class TfidfIndex(BM25Index):
    """Cosine similarity of sublinear TF-IDF vectors (character 1-3-grams by default).

    Document weights ``(1 + ln tf(t,d)) * idf(t)`` with ``idf(t) = ln((1 + N) / (1 + df(t))) + 1``,
    each row L2-normalised: sklearn's ``TfidfTransformer(sublinear_tf=True)`` on the stored counts. The
    query gets the same weights over the terms the index knows. Same API, storage and add/remove as :class:`BM25Index`;
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
        """The L2-normalised sublinear TF-IDF rows of the stored counts (sklearn's ``TfidfTransformer``),
        as float32 CSC; the idf vector is kept for the queries."""
        weights = self._weights
        if weights is not None:
            return weights
        tf = self._tf.tocsr().astype(np.float64)
        if not tf.shape[0]:
            self._idf = np.zeros(tf.shape[1], dtype=np.float64)
            weights = sp.csc_matrix(tf.shape, dtype=np.float32)
        else:
            transformer = TfidfTransformer(norm="l2", use_idf=True, smooth_idf=True, sublinear_tf=True)
            w = transformer.fit_transform(tf)
            self._idf = np.asarray(transformer.idf_, dtype=np.float64)
            weights = sp.csc_matrix(w, dtype=np.float32)
        # terms whose documents were all removed: a fresh build would not know them, so queries skip them
        self._live_terms = np.diff(weights.indptr) > 0
        self._weights = weights
        return weights

    def score(self, query: str) -> np.ndarray:
        """Cosine similarities of every document (storage order) to ``query``, shape ``(n,)``.

        The query's counts get the documents' weighting: ``(1 + ln tf) * idf``, L2-normalised, over the
        terms some held document has (so the scores after :meth:`remove` equal those of a fresh build).
        """
        w = self._prepare()
        cols, counts = self.query_vector(query)
        if len(cols):
            live = self._live_terms[cols]
            cols, counts = cols[live], counts[live]
        if not len(cols) or not len(self):
            return np.zeros(len(self), dtype=np.float32)
        q = (1.0 + np.log(counts.astype(np.float64))) * self._idf[cols]
        q = q / max(float(np.sqrt((q * q).sum())), 1e-12)
        return np.asarray(w[:, cols] @ q.astype(np.float32), dtype=np.float32).ravel()
