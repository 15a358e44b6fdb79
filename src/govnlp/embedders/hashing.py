"""Weight-free character n-gram embedders: ``"hash"`` here, ``"tfidf"`` in :mod:`.tfidf`.

Both hash character n-grams into a fixed number of buckets (scikit-learn's ``HashingVectorizer``, a
seeded MurmurHash3, so vectors are identical across processes, machines and Python versions) and need
no download and no fit. They are for tests, demos and a lexical baseline, not for semantic search.

- :class:`HashEmbedder` (``"hash"``): signed counts of character 1-2 grams, 512 buckets.
- :class:`TfidfEmbedder` (``"tfidf"``): sublinear (``1 + log tf``) counts of character 1-3 grams in 4,096
  buckets, times an IDF weight per bucket. Unfitted, every IDF weight is 1, so it works at once;
  ``fit(texts)`` learns the IDF from a corpus, and the fingerprint then includes the learned weights,
  so vectors of a fitted and an unfitted embedder are never mixed. ``save``/``load`` keep the weights.

Texts are NFKC-normalised (full-width letters and digits become half-width) and lower-cased first.
An empty text gets the zero vector (there is nothing to hash); every other text gets a unit vector.
``kind`` is accepted and ignored: queries and passages are embedded the same way.

Example:
    >>> emb = load_embedder("hash")
    >>> emb.encode(["关于加强老旧小区改造的答复"]).shape
    (1, 512)
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Sequence
from typing import Any

import numpy as np

from govnlp.embedders.base import Kind, check_kind, check_texts, l2_normalize
from govnlp.errors import ConfigError

__all__ = ["HashEmbedder"]


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _hashing_vectorizer(dim: int, ngram_range: tuple[int, int], alternate_sign: bool) -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        analyzer="char",
        ngram_range=ngram_range,
        n_features=dim,
        alternate_sign=alternate_sign,
        norm=None,
        lowercase=False,
        preprocessor=_normalise,
        dtype=np.float32,
    )


def _check_dim(dim: int) -> int:
    if not isinstance(dim, int) or isinstance(dim, bool) or dim < 2:
        raise ConfigError(f"dim must be an int >= 2, got {dim!r}")
    return dim


def _check_ngrams(ngram_range: Sequence[int]) -> tuple[int, int]:
    lo, hi = (int(v) for v in ngram_range)
    if not 1 <= lo <= hi:
        raise ConfigError(f"ngram_range must be (lo, hi) with 1 <= lo <= hi, got {tuple(ngram_range)!r}")
    return lo, hi


def _digest(payload: dict[str, Any], *arrays: np.ndarray) -> str:
    h = hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8"))
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=np.float32).tobytes())
    return h.hexdigest()


class HashEmbedder:
    """Signed feature hashing of character n-grams (weight-free, deterministic).

    Args:
        dim: number of hash buckets (the vector dimension).
        ngram_range: smallest and largest character n-gram.
    """

    def __init__(self, dim: int = 512, ngram_range: tuple[int, int] = (1, 2)) -> None:
        self._dim = _check_dim(dim)
        self.ngram_range = _check_ngrams(ngram_range)
        self._vectorizer = _hashing_vectorizer(self._dim, self.ngram_range, alternate_sign=True)

    @property
    def name(self) -> str:
        return f"hash-char{self.ngram_range[0]}{self.ngram_range[1]}-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def fingerprint(self) -> str:
        return _digest(
            {"embedder": "hash", "version": 1, "dim": self._dim, "ngram_range": list(self.ngram_range)}
        )

    def encode(
        self,
        texts: Sequence[str],
        *,
        kind: Kind = "passage",
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
    ) -> np.ndarray:
        """Encode texts into an L2-normalised float32 array of shape ``(len(texts), dim)``."""
        items = check_texts(texts)
        check_kind(kind)
        if not items:
            return np.zeros((0, self._dim), dtype=np.float32)
        return l2_normalize(self._vectorizer.transform(items).toarray())

    def __repr__(self) -> str:
        return f"HashEmbedder(dim={self._dim}, ngram_range={self.ngram_range})"
