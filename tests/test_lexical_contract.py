"""Every lexical index kind passes the shared contract of govnlp.testing.lexical (as a user's own would)."""

from __future__ import annotations

from pathlib import Path

import pytest

from govnlp.search.bm25 import BM25Index
from govnlp.search.lexical import LEXICAL_KINDS, MixedLexicalIndex, make_lexical
from govnlp.search.tfidf import TfidfIndex
from govnlp.testing.lexical import check_lexical_index


@pytest.mark.parametrize("kind", LEXICAL_KINDS)
def test_each_kind_keeps_the_contract(kind: str, tmp_path: Path) -> None:
    check_lexical_index(lambda: make_lexical(kind), tmp_path=tmp_path)


@pytest.mark.parametrize(
    "make",
    [lambda: BM25Index("jieba"), lambda: BM25Index("bigram", k1=1.5, b=1.0), lambda: TfidfIndex("bigram")],
    ids=["bm25-jieba", "bm25-bigram-k1.5", "tfidf-bigram"],
)
def test_other_tokenizers_and_parameters_keep_the_contract(make: object, tmp_path: Path) -> None:
    check_lexical_index(make, tmp_path=tmp_path)  # type: ignore[arg-type]


def test_the_contract_catches_a_broken_index() -> None:
    class ForgetsRemovals(MixedLexicalIndex):
        def remove(self, labels):  # type: ignore[no-untyped-def,override]
            return len(list(labels)) - 1  # claims to remove but keeps the documents

    with pytest.raises(AssertionError, match="remove"):
        check_lexical_index(ForgetsRemovals)

    class IgnoresK(BM25Index):
        def top(self, scores, k, mask=None):  # type: ignore[no-untyped-def,override]
            return super().top(scores, k + 1, mask)[0][:k], super().top(scores, k + 1, mask)[1][1 : k + 1]

    with pytest.raises(AssertionError, match="top of score"):
        check_lexical_index(IgnoresK)
