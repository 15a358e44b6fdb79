"""The lexical index kinds and their factory: BM25, TF-IDF cosine, and the two mixed.

Three kinds (see :data:`LEXICAL_KINDS`), all over int64 labels with add/remove, saved as
``.npz``/``.npy`` + JSON with a version field (no pickle):

- ``"bm25"`` (:class:`~govnlp.search.bm25.BM25Index`): Okapi BM25 over a sparse document-term matrix;
- ``"tfidf"`` (:class:`~govnlp.search.tfidf.TfidfIndex`): cosine of sublinear TF-IDF vectors
  (sklearn's ``TfidfVectorizer(sublinear_tf=True)`` formula), by default over character 1-3-grams;
- ``"bm25+tfidf"`` (:class:`MixedLexicalIndex`): the two above, each query's scores divided by their
  maximum and mixed, ``(1 - w) * bm25 / max(bm25) + w * cos / max(cos)``.

The default (:data:`DEFAULT_LEXICAL`) is ``"tfidf"``; see there for why.

Use :func:`make_lexical` to build one by kind and :func:`load_lexical` to read any saved one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from govnlp.errors import ConfigError, FormatError
from govnlp.search.bm25 import DEFAULT_B, DEFAULT_K1, BM25Index
from govnlp.search.tfidf import TfidfIndex
from govnlp.search.tokenize import Tokenizer

__all__ = [
    "DEFAULT_LEXICAL",
    "DEFAULT_MIX_WEIGHT",
    "LEXICAL_KINDS",
    "LexicalIndex",
    "MixedLexicalIndex",
    "load_lexical",
    "make_lexical",
]

#: Lexical index kinds accepted by :func:`make_lexical`.
LEXICAL_KINDS = ("bm25", "tfidf", "bm25+tfidf")
#: The lexical index kind used when none is named: character 1-3-gram TF-IDF cosine, one scorer with no
#: parameter. Until 0.2 it was ``"bm25+tfidf"``, chosen on one dev split; on held-out data it did not
#: carry over: out of domain (881 messages of another source and province about one topic, as reported
#: in issue 14) govnlp's bm25+tfidf side scored MRR@10 0.406 against 0.493 for plain character TF-IDF,
#: and on this project's data BM25 over character bigrams is the weakest lexical choice
#: (benchmarks/bench_cv.py, leave one year out, alone: bigram-only BM25 0.760, the mix 0.789, TF-IDF
#: 0.783 on messages). In the hybrid, bm25+tfidf was ahead by less than one standard error (bench_cv's
#: selection rule chose TF-IDF: see govnlp.search.search_index.DEFAULT_CLEAN), so the simpler scorer that
#: holds up out of domain is the default. ``fine_tune`` chooses a tuned model's fusion weight against
#: the same character TF-IDF.
DEFAULT_LEXICAL = "tfidf"
#: The TF-IDF share ``w`` of the ``"bm25+tfidf"`` mix (bench_search, dev: 0.5 beat 0.3 and 0.7).
DEFAULT_MIX_WEIGHT = 0.5

_MIX_FORMAT = "govnlp.lexical_mix"
_MIX_FORMAT_VERSION = 1


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
            "format_version": _MIX_FORMAT_VERSION,
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
        if not isinstance(meta, dict):
            raise FormatError(f"{folder}/lexical.json is not a JSON object; save the index again.")
        if (
            meta.get("format") != _MIX_FORMAT
            or not isinstance(meta.get("format_version"), int)
            or (meta["format_version"] > _MIX_FORMAT_VERSION)
        ):
            raise FormatError(
                f"{folder}/lexical.json is format {meta.get('format')!r} version {meta.get('format_version')!r}; "
                f"expected {_MIX_FORMAT!r} up to version {_MIX_FORMAT_VERSION}. Upgrade govnlp or rebuild the index."
            )
        try:
            index = cls(weight=float(meta["weight"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise FormatError(f"{folder}/lexical.json lacks or garbles {exc}; save the index again.") from exc
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
