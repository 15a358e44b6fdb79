"""``"tfidf"``: character n-gram TF-IDF over hashed buckets (weight-free; see :mod:`.hashing`).

Unfitted, every IDF weight is 1, so it works at once (tests, demos); ``fit(texts)`` learns the IDF from
a corpus, and the fingerprint includes the learned weights, so vectors of a fitted and an unfitted
embedder are never mixed. ``save``/``load`` keep the weights (folder with ``idf.npy`` + manifest).

Example:
    >>> emb = load_embedder("tfidf").fit(["关于加强老旧小区改造的答复", "关于校园周边交通安全的答复"])
    >>> emb.encode(["老旧小区"], kind="query").shape
    (1, 4096)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from govnlp.embedders.base import Kind, check_kind, check_texts, l2_normalize
from govnlp.embedders.hashing import _check_dim, _check_ngrams, _digest, _hashing_vectorizer
from govnlp.errors import ConfigError, FormatError
from govnlp.storage import atomic_folder, read_manifest, write_manifest

__all__ = ["TfidfEmbedder"]

logger = logging.getLogger(__name__)

_TFIDF_FORMAT = "govnlp.tfidf_embedder"
_TFIDF_VERSION = 1


class TfidfEmbedder:
    """Character n-gram TF-IDF over hashed buckets; usable unfitted, better after ``fit``.

    Args:
        dim: number of hash buckets (the vector dimension).
        ngram_range: smallest and largest character n-gram.

    Attributes:
        idf_: float32 ``(dim,)`` IDF weight per bucket, all ones until ``fit``.
        n_fit_docs_: number of texts ``fit`` saw (0 when unfitted).
    """

    def __init__(self, dim: int = 4096, ngram_range: tuple[int, int] = (1, 3)) -> None:
        self._dim = _check_dim(dim)
        self.ngram_range = _check_ngrams(ngram_range)
        self._vectorizer = _hashing_vectorizer(self._dim, self.ngram_range, alternate_sign=False)
        self.idf_ = np.ones(self._dim, dtype=np.float32)
        self.n_fit_docs_ = 0

    @property
    def name(self) -> str:
        fitted = f"-fit{self.n_fit_docs_}" if self.n_fit_docs_ else ""
        return f"tfidf-char{self.ngram_range[0]}{self.ngram_range[1]}-{self._dim}{fitted}"

    @property
    def dim(self) -> int:
        return self._dim

    def fingerprint(self) -> str:
        payload = {"embedder": "tfidf", "version": 1, "dim": self._dim, "ngram_range": list(self.ngram_range)}
        return _digest(payload, self.idf_)

    def fit(self, texts: Sequence[str]) -> TfidfEmbedder:
        """Learn smoothed IDF weights ``log((1 + n) / (1 + df)) + 1`` from ``texts``; return self."""
        items = check_texts(texts)
        if not items:
            raise ConfigError("fit() needs at least one text, got an empty list")
        counts = self._vectorizer.transform(items)
        df = np.bincount(counts.indices, minlength=self._dim).astype(np.float64)
        n = len(items)
        self.idf_ = (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)
        self.n_fit_docs_ = n
        logger.info("fitted tfidf embedder on %d texts", n)
        return self

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
        counts = self._vectorizer.transform(items).tocsr()
        counts.data = (1.0 + np.log(counts.data)).astype(np.float32)
        dense = counts.toarray() * self.idf_[None, :]
        return l2_normalize(dense)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Save as a folder: ``idf.npy`` + ``manifest.json``."""
        with atomic_folder(path) as tmp:
            np.save(tmp / "idf.npy", self.idf_)
            write_manifest(
                tmp,
                _TFIDF_FORMAT,
                _TFIDF_VERSION,
                dim=self._dim,
                ngram_range=list(self.ngram_range),
                n_fit_docs=self.n_fit_docs_,
                fingerprint=self.fingerprint(),
            )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TfidfEmbedder:
        """Load a folder written by :meth:`save`."""
        manifest = read_manifest(path, _TFIDF_FORMAT, _TFIDF_VERSION)
        emb = cls(dim=int(manifest["dim"]), ngram_range=tuple(manifest["ngram_range"]))
        idf = np.load(Path(path) / "idf.npy", allow_pickle=False)
        if idf.shape != (emb.dim,):
            raise FormatError(f"{path}/idf.npy has shape {idf.shape}, expected ({emb.dim},); save it again.")
        emb.idf_ = idf.astype(np.float32)
        emb.n_fit_docs_ = int(manifest["n_fit_docs"])
        return emb

    def __repr__(self) -> str:
        return (
            f"TfidfEmbedder(dim={self._dim}, ngram_range={self.ngram_range}, n_fit_docs_={self.n_fit_docs_})"
        )
