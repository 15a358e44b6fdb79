"""Chinese lexical search: tokenizers (jieba with a government lexicon, character bigrams) and BM25.

The tokenizer is separate from the scorer. :class:`BM25Index` keeps a sparse document-term matrix
(scipy CSR) over int64 labels, supports add/remove, and saves as ``.npz``/``.npy`` + JSON with a
version field (no pickle).

Example:
    >>> bm25 = BM25Index(tokenizer="bigram")
    >>> bm25.add(["推进老旧小区改造", "优化营商环境"], np.array([0, 1]))
    >>> bm25.search("老旧小区", k=1)
    (array([[...]], dtype=float32), array([[0]]))
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp

from govnlp.errors import ConfigError, FormatError
from govnlp.index.base import check_labels, topk

__all__ = [
    "DEFAULT_B",
    "DEFAULT_K1",
    "DEFAULT_TOKENIZER",
    "TOKENIZERS",
    "BM25Index",
    "BigramTokenizer",
    "JiebaTokenizer",
    "Tokenizer",
    "get_tokenizer",
    "gov_lexicon_path",
    "normalize_text",
]

logger = logging.getLogger(__name__)

#: The tokenizer used when none is named (the retrieval-quality benchmark sets it by measurement).
DEFAULT_TOKENIZER = "bigram-only"  # bench_search: best on the dev halves of both query styles
#: BM25 term-frequency saturation.
DEFAULT_K1 = 1.2
#: BM25 length normalisation.
DEFAULT_B = 0.75

_FORMAT = "govnlp.bm25"
_FORMAT_VERSION = 1

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(rf"[{_CJK}]+|[0-9a-z]+(?:[.%][0-9a-z]+)*%?")
_WORDISH = re.compile(rf"[{_CJK}0-9a-z]")


def normalize_text(text: str) -> str:
    """NFKC (full-width letters and digits to half-width) and lower case."""
    return unicodedata.normalize("NFKC", text).lower()


class Tokenizer(Protocol):
    """Turns a text into index terms."""

    name: str

    def __call__(self, text: str) -> list[str]: ...


class BigramTokenizer:
    """Character unigrams and bigrams of each run of Chinese characters; Latin/digit runs stay whole.

    Example:
        >>> BigramTokenizer()("老旧小区12345")
        ['老', '旧', '小', '区', '老旧', '旧小', '小区', '12345']
    """

    name = "bigram"

    def __init__(self, unigrams: bool = True) -> None:
        self.unigrams = unigrams
        if not unigrams:
            self.name = "bigram-only"

    def __call__(self, text: str) -> list[str]:
        out: list[str] = []
        for run in _RUN.findall(normalize_text(text)):
            if not ("\u3400" <= run[0] <= "\ufaff"):
                out.append(run)
                continue
            if self.unigrams or len(run) == 1:
                out.extend(run)
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
        return out


def gov_lexicon_path() -> Path:
    """The shipped jieba user dictionary of government terms and agency names (``data/lexicon/gov_terms.txt``)."""
    return Path(str(resources.files("govnlp").joinpath("data/lexicon/gov_terms.txt")))


class JiebaTokenizer:
    """jieba words with the government lexicon, in search mode; punctuation and spaces dropped.

    Search mode (``cut_for_search``) also emits the dictionary words inside a long word, so the
    query 执法局 meets the document term 综合行政执法局. Each instance owns its own ``jieba.Tokenizer``
    (the global one is left alone).

    Example:
        >>> JiebaTokenizer()("市综合行政执法局推进老旧小区改造")
        ['市', '综合', '行政', '执法', '执法局', '行政执法', '综合行政执法', '行政执法局', '综合行政执法局', '推进', '老旧', '小区', '老旧小区', '改造']
    """

    name = "jieba"
    _lock = threading.Lock()

    def __init__(self, user_dict: str | Path | None = None) -> None:
        self.user_dict = Path(user_dict) if user_dict is not None else gov_lexicon_path()
        self._jieba: Any = None

    def _tokenizer(self) -> Any:
        with self._lock:
            if self._jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tok = jieba.Tokenizer()
                tok.load_userdict(str(self.user_dict))
                self._jieba = tok
        return self._jieba

    def __call__(self, text: str) -> list[str]:
        words = self._tokenizer().lcut_for_search(normalize_text(text), HMM=True)
        return [w for w in (w.strip() for w in words) if w and _WORDISH.search(w)]


#: Tokenizer names accepted by :func:`get_tokenizer`.
TOKENIZERS = ("bigram", "bigram-only", "jieba")


def get_tokenizer(name: str | Tokenizer | None = None) -> Tokenizer:
    """A tokenizer by name (``bigram``, ``bigram-only``, ``jieba``); None = :data:`DEFAULT_TOKENIZER`."""
    if name is None:
        name = DEFAULT_TOKENIZER
    if not isinstance(name, str):
        return name
    if name == "bigram":
        return BigramTokenizer()
    if name == "bigram-only":
        return BigramTokenizer(unigrams=False)
    if name == "jieba":
        return JiebaTokenizer()
    raise ConfigError(f"unknown tokenizer {name!r}; choose one of {TOKENIZERS}")


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
        """Write ``tf.npz``, ``labels.npy`` and ``bm25.json`` into ``folder`` (created if needed)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        sp.save_npz(folder / "tf.npz", self._tf.tocsr(), compressed=True)
        np.save(folder / "labels.npy", self._labels, allow_pickle=False)
        vocab = sorted(self._vocab, key=self._vocab.__getitem__)
        meta = {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "tokenizer": self.tokenizer.name,
            "k1": self.k1,
            "b": self.b,
            "n_docs": len(self),
            "vocabulary": vocab,
        }
        (folder / "bm25.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path, tokenizer: str | Tokenizer | None = None) -> BM25Index:
        """Read a saved BM25 index (the tokenizer named in ``bm25.json`` unless one is given)."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / "bm25.json").read_text(encoding="utf-8"))
            tf = sp.load_npz(folder / "tf.npz").tocsr().astype(np.float32)
            labels = np.load(folder / "labels.npy", allow_pickle=False).astype(np.int64)
        except (OSError, ValueError) as exc:
            raise FormatError(
                f"cannot read the lexical index in {folder}: {exc}. Save the index again."
            ) from exc
        if (
            meta.get("format") != _FORMAT
            or not isinstance(meta.get("format_version"), int)
            or meta["format_version"] > _FORMAT_VERSION
        ):
            raise FormatError(
                f"{folder}/bm25.json is format {meta.get('format')!r} version {meta.get('format_version')!r}; "
                f"expected {_FORMAT!r} up to version {_FORMAT_VERSION}. Upgrade govnlp or rebuild the index."
            )
        vocab = meta["vocabulary"]
        if tf.shape != (len(labels), len(vocab)) or meta.get("n_docs") != len(labels):
            raise FormatError(
                f"the lexical index in {folder} is inconsistent: matrix {tf.shape}, {len(labels)} labels, "
                f"{len(vocab)} terms, manifest says {meta.get('n_docs')} documents. Save the index again."
            )
        index = cls(tokenizer if tokenizer is not None else meta["tokenizer"], k1=meta["k1"], b=meta["b"])
        index._vocab = {t: i for i, t in enumerate(vocab)}
        index._tf = tf
        index._labels = labels
        return index


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
