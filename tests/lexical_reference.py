"""A plain-Python BM25 with the formula of :class:`govnlp.search.bm25.BM25Index`, the reference the tests
compare it against (slow; for small corpora only)."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from govnlp.search.bm25 import DEFAULT_B, DEFAULT_K1


def bm25_reference(
    corpus: list[list[str]], query: list[str], k1: float = DEFAULT_K1, b: float = DEFAULT_B
) -> list[float]:
    """Plain-Python BM25 with the same formula, for tests (slow; do not use on large corpora)."""
    n = len(corpus)
    avg = sum(len(d) for d in corpus) / n if n else 1.0
    avg = avg or 1.0
    df: dict[str, int] = {}
    for d in corpus:
        for t in set(d):
            df[t] = df.get(t, 0) + 1
    out = []
    for d in corpus:
        s = 0.0
        for t in query:
            if t not in df:
                continue
            tf = d.count(t)
            idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
            s += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(d) / avg))
        out.append(s)
    return out


def tfidf_reference(tf: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Sublinear TF-IDF written out by hand, as govnlp computed it before it called sklearn's
    ``TfidfTransformer``: ``((1 + ln tf) * idf)`` rows L2-normalised, ``idf = ln((1 + N) / (1 + df)) + 1``.

    Returns:
        ``(weights, idf)``: dense float64 ``(n_docs, n_terms)`` and ``(n_terms,)``.
    """
    counts = np.asarray(tf.todense(), dtype=np.float64)
    n_docs = counts.shape[0]
    df = (counts > 0).sum(axis=0)
    idf = np.log((1.0 + n_docs) / (1.0 + df)) + 1.0
    w = np.where(counts > 0, 1.0 + np.log(np.where(counts > 0, counts, 1.0)), 0.0) * idf
    norms = np.sqrt((w * w).sum(axis=1, keepdims=True))
    return w / np.where(norms > 0, norms, 1.0), idf
