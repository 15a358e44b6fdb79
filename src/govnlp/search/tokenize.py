"""Chinese tokenizers for the lexical indexes: character bigrams, character n-grams, jieba words.

A tokenizer is separate from the scorer that uses it (:mod:`govnlp.search.bm25`,
:mod:`govnlp.search.tfidf`): any object with a ``name`` and ``__call__(text) -> list[str]`` will do.

Example:
    >>> get_tokenizer("bigram")("老旧小区")
    ['老', '旧', '小', '区', '老旧', '旧小', '小区']
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from govnlp.errors import ConfigError

__all__ = [
    "DEFAULT_TFIDF_TOKENIZER",
    "DEFAULT_TOKENIZER",
    "TOKENIZERS",
    "BigramTokenizer",
    "CharNgramTokenizer",
    "JiebaTokenizer",
    "Tokenizer",
    "get_tokenizer",
    "gov_lexicon_path",
    "load_jieba",
    "normalize_text",
]

#: The tokenizer used when none is named (the retrieval-quality benchmark sets it by measurement).
DEFAULT_TOKENIZER = "bigram-only"  # bench_search: best on the dev halves of both query styles
#: The tokenizer of the TF-IDF scorer (alone or in the mix).
DEFAULT_TFIDF_TOKENIZER = "char1-3"

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


_jieba_lock = threading.Lock()
_jieba_by_dict: dict[str, Any] = {}


def load_jieba(user_dict: str | Path | None = None) -> Any:
    """A ``jieba.Tokenizer`` with ``user_dict`` (default: :func:`gov_lexicon_path`) loaded, one per
    dictionary and process, built on first use. jieba's global tokenizer and its log level are left as
    they are (its loading messages are held back only while this one loads).
    """
    path = str(Path(user_dict) if user_dict is not None else gov_lexicon_path())
    with _jieba_lock:
        tok = _jieba_by_dict.get(path)
        if tok is None:
            import jieba

            log = jieba.default_logger
            level = log.level
            log.setLevel(logging.WARNING)  # "Building prefix dict ..." on stderr otherwise
            try:
                tok = jieba.Tokenizer()
                tok.load_userdict(path)
            finally:
                log.setLevel(level)
            _jieba_by_dict[path] = tok
    return tok


class JiebaTokenizer:
    """jieba words with the government lexicon, in search mode; punctuation and spaces dropped.

    Search mode (``cut_for_search``) also emits the dictionary words inside a long word, so the
    query 执法局 meets the document term 综合行政执法局. The ``jieba.Tokenizer`` comes from
    :func:`load_jieba` (jieba's global one is left alone).

    Example:
        >>> JiebaTokenizer()("市综合行政执法局推进老旧小区改造")
        ['市', '综合', '行政', '执法', '执法局', '行政执法', '综合行政执法', '行政执法局', '综合行政执法局', '推进', '老旧', '小区', '老旧小区', '改造']
    """

    name = "jieba"

    def __init__(self, user_dict: str | Path | None = None) -> None:
        self.user_dict = Path(user_dict) if user_dict is not None else gov_lexicon_path()

    def __call__(self, text: str) -> list[str]:
        words = load_jieba(self.user_dict).lcut_for_search(normalize_text(text), HMM=True)
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
