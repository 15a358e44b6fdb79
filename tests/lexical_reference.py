"""A plain-Python BM25 with the formula of :class:`govnlp.search.bm25.BM25Index`, the reference the tests
compare it against (slow; for small corpora only)."""

from __future__ import annotations

import math

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
