"""Tests of the retrieval metrics in govnlp.evaluation."""

from __future__ import annotations

import math

import pytest

from govnlp.evaluation import mrr_at_k, ndcg_at_k, recall_at_k, retrieval_report

RANKED = [["a", "b", "c"], ["x", "y", "z"], ["p", "q", "r"]]
RELEVANT = [{"b"}, {"z", "y"}, {"none"}]


def test_mrr() -> None:
    assert mrr_at_k(RANKED, RELEVANT, k=10) == pytest.approx((1 / 2 + 1 / 2 + 0) / 3)
    assert mrr_at_k(RANKED, RELEVANT, k=1) == 0.0
    assert mrr_at_k([], [], k=10) == 0.0


def test_recall() -> None:
    assert recall_at_k(RANKED, RELEVANT, k=1) == 0.0
    assert recall_at_k(RANKED, RELEVANT, k=2) == pytest.approx((1 + 0.5 + 0) / 3)
    assert recall_at_k(RANKED, RELEVANT, k=3) == pytest.approx((1 + 1 + 0) / 3)


def test_ndcg() -> None:
    assert ndcg_at_k([["a"]], [{"a"}], k=10) == 1.0
    got = ndcg_at_k([["x", "a"]], [{"a"}], k=10)
    assert got == pytest.approx(1 / math.log2(3))
    two = ndcg_at_k([["y", "x", "z"]], [{"y", "z"}], k=3)
    assert two == pytest.approx((1 + 1 / 2) / (1 + 1 / math.log2(3)))


def test_report_and_errors() -> None:
    rep = retrieval_report(RANKED, RELEVANT, k=10)
    assert rep["n_queries"] == 3 and set(rep) == {"n_queries", "mrr@10", "recall@1", "recall@10", "ndcg@10"}
    with pytest.raises(ValueError):
        mrr_at_k(RANKED, RELEVANT[:2])
    with pytest.raises(ValueError):
        recall_at_k(RANKED, RELEVANT, k=0)
    with pytest.raises(TypeError):
        mrr_at_k("abc", ["a", "b", "c"])  # type: ignore[arg-type]
