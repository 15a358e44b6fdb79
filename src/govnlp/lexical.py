"""Chinese lexical search: tokenizers (jieba with a government lexicon, character n-grams) and scorers.

The tokenizer is separate from the scorer. Three lexical index kinds (see :data:`LEXICAL_KINDS`),
all over int64 labels with add/remove, saved as ``.npz``/``.npy`` + JSON with a version field (no pickle):

- ``"bm25"`` (:class:`BM25Index`): Okapi BM25 over a sparse document-term matrix (scipy CSR);
- ``"tfidf"`` (:class:`TfidfIndex`): cosine of sublinear TF-IDF vectors (sklearn's
  ``TfidfVectorizer(sublinear_tf=True)`` formula), by default over character 1-3-grams;
- ``"bm25+tfidf"`` (:class:`MixedLexicalIndex`): the two above, each query's scores divided by their
  maximum and mixed, ``(1 - w) * bm25 / max(bm25) + w * cos / max(cos)``. The default
  (:data:`DEFAULT_LEXICAL`), chosen by ``benchmarks/bench_search.py``.

Use :func:`make_lexical` to build one by kind and :func:`load_lexical` to read any saved one.

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
    "DEFAULT_LEXICAL",
    "DEFAULT_MIX_WEIGHT",
    "DEFAULT_TFIDF_TOKENIZER",
    "DEFAULT_TOKENIZER",
    "LEXICAL_KINDS",
    "TOKENIZERS",
    "BM25Index",
    "BigramTokenizer",
    "CharNgramTokenizer",
    "JiebaTokenizer",
    "LexicalIndex",
    "MixedLexicalIndex",
    "TfidfIndex",
    "Tokenizer",
    "get_tokenizer",
    "gov_lexicon_path",
    "load_lexical",
    "make_lexical",
    "normalize_text",
]

logger = logging.getLogger(__name__)

#: The tokenizer used when none is named (the retrieval-quality benchmark sets it by measurement).
DEFAULT_TOKENIZER = "bigram-only"  # bench_search: best on the dev halves of both query styles
#: BM25 term-frequency saturation. bench_search's (k1, b) grid: BM25 alone is best on dev at (1.5, 1.0),
#: but the default hybrid (bm25+tfidf) with those scores lower on dev than with (1.2, 0.75), so these stay.
DEFAULT_K1 = 1.2
#: BM25 length normalisation.
DEFAULT_B = 0.75
#: Lexical index kinds accepted by :func:`make_lexical`.
LEXICAL_KINDS = ("bm25", "tfidf", "bm25+tfidf")
#: The lexical index kind used when none is named. bench_search, hybrid search on the dev halves (mean
#: MRR@10 of message and proposal queries): bm25+tfidf 0.7085, bm25 0.6928, tfidf 0.6818 (each with its
#: best fusion, z-scored scores, dense weight 0.4).
DEFAULT_LEXICAL = "bm25+tfidf"
#: The tokenizer of the TF-IDF scorer (alone or in the mix).
DEFAULT_TFIDF_TOKENIZER = "char1-3"
#: The TF-IDF share ``w`` of the ``"bm25+tfidf"`` mix (bench_search, dev: 0.5 beat 0.3 and 0.7).
DEFAULT_MIX_WEIGHT = 0.5

_FORMAT = "govnlp.bm25"
_FORMAT_VERSION = 1
_TFIDF_FORMAT = "govnlp.tfidf"
_MIX_FORMAT = "govnlp.lexical_mix"

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


_SPACES = re.compile(r"\s\s+")


class CharNgramTokenizer:
    """Character n-grams of the whole normalised text (punctuation and single spaces included).

    The analyzer of sklearn's ``TfidfVectorizer(analyzer="char")`` after :func:`normalize_text`
    (NFKC + lower case) and collapsing runs of white space to one space.

    Example:
        >>> CharNgramTokenizer(1, 3)("小区改造")
        ['小', '区', '改', '造', '小区', '区改', '改造', '小区改', '区改造']
    """

    def __init__(self, min_n: int = 1, max_n: int = 3) -> None:
        if not 1 <= min_n <= max_n:
            raise ConfigError(f"need 1 <= min_n <= max_n, got min_n={min_n}, max_n={max_n}")
        self.min_n, self.max_n = int(min_n), int(max_n)
        self.name = f"char{min_n}-{max_n}"

    def __call__(self, text: str) -> list[str]:
        t = _SPACES.sub(" ", normalize_text(text))
        out: list[str] = []
        for n in range(self.min_n, min(self.max_n, len(t)) + 1):
            out.extend(t[i : i + n] for i in range(len(t) - n + 1))
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
TOKENIZERS = ("bigram", "bigram-only", "jieba", "char1-3")


def get_tokenizer(name: str | Tokenizer | None = None) -> Tokenizer:
    """A tokenizer by name (``bigram``, ``bigram-only``, ``jieba``, ``charM-N``); None = :data:`DEFAULT_TOKENIZER`."""
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
    m = re.fullmatch(r"char([1-9])-([1-9])", name)
    if m:
        return CharNgramTokenizer(int(m.group(1)), int(m.group(2)))
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
    def load(cls, folder: str | Path, tokenizer: str | Tokenizer | None = None) -> BM25Index:
        """Read a saved index of this class (the tokenizer named in its JSON unless one is given)."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / cls._meta_file).read_text(encoding="utf-8"))
            tf = sp.load_npz(folder / "tf.npz").tocsr().astype(np.float32)
            labels = np.load(folder / "labels.npy", allow_pickle=False).astype(np.int64)
        except (OSError, ValueError) as exc:
            raise FormatError(
                f"cannot read the lexical index in {folder}: {exc}. Save the index again."
            ) from exc
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


class MixedLexicalIndex:
    """BM25 and TF-IDF cosine mixed per query: ``(1 - w) * bm25 / max(bm25) + w * cos / max(cos)``.

    Each scorer's scores for a query are divided by their maximum over the indexed documents (a scorer
    with no match contributes 0), so the mix is in ``[0, 1]`` and does not depend on the scales of the
    two. Same API as :class:`BM25Index`. Saved as ``lexical.json`` plus the folders ``bm25/`` and ``tfidf/``.

    Args:
        tokenizer: the BM25 tokenizer (None = :data:`DEFAULT_TOKENIZER`).
        k1, b: BM25 parameters.
        tfidf_tokenizer: the TF-IDF tokenizer (None = :data:`DEFAULT_TFIDF_TOKENIZER`).
        weight: the TF-IDF share ``w`` in ``[0, 1]``.

    Example:
        >>> mix = MixedLexicalIndex()
        >>> mix.add(["推进老旧小区改造", "优化营商环境"], np.array([0, 1]))
        >>> mix.search("老旧小区", k=1)[1]
        array([[0]])
    """

    kind = "bm25+tfidf"

    def __init__(
        self,
        tokenizer: str | Tokenizer | None = None,
        *,
        k1: float = DEFAULT_K1,
        b: float = DEFAULT_B,
        tfidf_tokenizer: str | Tokenizer | None = None,
        weight: float = DEFAULT_MIX_WEIGHT,
    ) -> None:
        if not 0.0 <= float(weight) <= 1.0:
            raise ConfigError(f"the TF-IDF weight of the mix must lie in [0, 1], got {weight!r}")
        self.bm25 = BM25Index(tokenizer, k1=k1, b=b)
        self.tfidf = TfidfIndex(tfidf_tokenizer)
        self.weight = float(weight)

    # the BM25 part's settings, as BM25Index exposes them
    @property
    def tokenizer(self) -> Tokenizer:
        return self.bm25.tokenizer

    @property
    def k1(self) -> float:
        return self.bm25.k1

    @property
    def b(self) -> float:
        return self.bm25.b

    def __len__(self) -> int:
        return len(self.bm25)

    @property
    def vocabulary_size(self) -> int:
        return self.bm25.vocabulary_size + self.tfidf.vocabulary_size

    def labels(self) -> np.ndarray:
        return self.bm25.labels()

    def describe(self) -> dict[str, Any]:
        """The JSON-safe parameters of this index (recorded in a search index manifest)."""
        return {
            **self.bm25.describe(),
            "kind": self.kind,
            "tfidf_tokenizer": self.tfidf.tokenizer.name,
            "weight": self.weight,
        }

    def add(self, texts: Sequence[str], labels: np.ndarray | Iterable[int]) -> None:
        """Tokenize and add ``texts`` under new int64 ``labels`` (to both scorers)."""
        if isinstance(texts, str):
            raise TypeError("add() expects a list of texts, got a single str; wrap it: add([text], labels)")
        texts = list(texts)
        labs = labels if isinstance(labels, np.ndarray) else np.fromiter(labels, dtype=np.int64)
        self.bm25.add(texts, labs)
        self.tfidf.add(texts, labs)

    def remove(self, labels: np.ndarray | Iterable[int]) -> int:
        """Remove documents by label; return how many were held."""
        labs = labels if isinstance(labels, np.ndarray) else np.fromiter(labels, dtype=np.int64)
        n = self.bm25.remove(labs)
        self.tfidf.remove(labs)
        return n

    def score(self, query: str) -> np.ndarray:
        """Mixed scores of every document (storage order, see :meth:`labels`), shape ``(n,)``."""
        out = np.zeros(len(self), dtype=np.float32)
        for part, w in ((self.bm25, 1.0 - self.weight), (self.tfidf, self.weight)):
            s = part.score(query)
            top = float(s.max()) if len(s) else 0.0
            if top > 0 and w > 0:
                out += np.float32(w / top) * s
        return out

    def mask(self, subset: np.ndarray | None) -> np.ndarray | None:
        return self.bm25.mask(subset)

    def positions(self, labels: np.ndarray) -> np.ndarray:
        return self.bm25.positions(labels)

    def top(
        self, scores: np.ndarray, k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        return BM25Index.top(self.bm25, scores, k, mask)

    def search(
        self, queries: str | Sequence[str], k: int = 10, *, subset: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` ``(scores, labels)`` per query, padded with ``-inf`` / ``-1`` (see :meth:`BM25Index.search`)."""
        return BM25Index.search(self, queries, k, subset=subset)  # type: ignore[arg-type]

    def scores_for(self, query: str, labels: np.ndarray, scores: np.ndarray | None = None) -> np.ndarray:
        return BM25Index.scores_for(self, query, labels, scores)  # type: ignore[arg-type]

    def save(self, folder: str | Path) -> None:
        """Write ``lexical.json``, ``bm25/`` and ``tfidf/`` into ``folder`` (created if needed)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.bm25.save(folder / "bm25")
        self.tfidf.save(folder / "tfidf")
        meta = {
            "format": _MIX_FORMAT,
            "format_version": _FORMAT_VERSION,
            **self.describe(),
            "n_docs": len(self),
        }
        (folder / "lexical.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path, tokenizer: str | Tokenizer | None = None) -> MixedLexicalIndex:
        """Read a saved mix (the BM25 tokenizer named in ``lexical.json`` unless one is given)."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / "lexical.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise FormatError(f"cannot read {folder}/lexical.json: {exc}. Save the index again.") from exc
        if (
            meta.get("format") != _MIX_FORMAT
            or not isinstance(meta.get("format_version"), int)
            or (meta["format_version"] > _FORMAT_VERSION)
        ):
            raise FormatError(
                f"{folder}/lexical.json is format {meta.get('format')!r} version {meta.get('format_version')!r}; "
                f"expected {_MIX_FORMAT!r} up to version {_FORMAT_VERSION}. Upgrade govnlp or rebuild the index."
            )
        index = cls(weight=meta["weight"])
        index.bm25 = BM25Index.load(folder / "bm25", tokenizer=tokenizer)
        index.tfidf = TfidfIndex.load(folder / "tfidf")
        if not np.array_equal(index.bm25.labels(), index.tfidf.labels()) or meta.get("n_docs") != len(
            index.bm25
        ):
            raise FormatError(
                f"the lexical index in {folder} is inconsistent: bm25/ holds {len(index.bm25)} documents, "
                f"tfidf/ {len(index.tfidf)}, lexical.json says {meta.get('n_docs')}. Save the index again."
            )
        return index


#: Any lexical index: :class:`BM25Index`, :class:`TfidfIndex` or :class:`MixedLexicalIndex`.
LexicalIndex = BM25Index | MixedLexicalIndex


def make_lexical(
    kind: str | None = None,
    tokenizer: str | Tokenizer | None = None,
    *,
    k1: float = DEFAULT_K1,
    b: float = DEFAULT_B,
) -> LexicalIndex:
    """An empty lexical index of ``kind`` (see :data:`LEXICAL_KINDS`; None = :data:`DEFAULT_LEXICAL`).

    ``tokenizer`` is the BM25 tokenizer for ``"bm25"`` and ``"bm25+tfidf"`` (None =
    :data:`DEFAULT_TOKENIZER`) and the TF-IDF tokenizer for ``"tfidf"`` (None =
    :data:`DEFAULT_TFIDF_TOKENIZER`).
    """
    kind = DEFAULT_LEXICAL if kind is None else kind
    if kind == "bm25":
        return BM25Index(tokenizer, k1=k1, b=b)
    if kind == "tfidf":
        return TfidfIndex(tokenizer, k1=k1, b=b)
    if kind == "bm25+tfidf":
        return MixedLexicalIndex(tokenizer, k1=k1, b=b)
    raise ConfigError(f"unknown lexical index kind {kind!r}; choose one of {LEXICAL_KINDS}")


def load_lexical(folder: str | Path, tokenizer: str | Tokenizer | None = None) -> LexicalIndex:
    """Read any saved lexical index from ``folder`` (its kind is told by the JSON file it holds)."""
    folder = Path(folder)
    if (folder / "lexical.json").is_file():
        return MixedLexicalIndex.load(folder, tokenizer)
    if (folder / "tfidf.json").is_file():
        return TfidfIndex.load(folder, tokenizer)
    if (folder / "bm25.json").is_file():
        return BM25Index.load(folder, tokenizer)
    raise FormatError(
        f"{folder} holds no saved lexical index (lexical.json, tfidf.json or bm25.json); save the index again."
    )


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
