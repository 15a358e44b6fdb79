"""Evaluation metrics as pure functions.

Retrieval metrics take, per query, a ranked list of ids (best first) and the set of relevant ids.
Classification metrics live in their own section below (added by the classification module).

Example:
    >>> mrr_at_k([["a", "b"], ["c", "d"]], [{"b"}, {"x"}], k=10)
    0.25
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Sequence
from typing import Any

__all__ = ["mrr_at_k", "ndcg_at_k", "recall_at_k", "retrieval_report"]


# ==== retrieval ===========================================================================================


def _check(ranked: Sequence[Sequence[Hashable]], relevant: Sequence[Collection[Hashable]], k: int) -> None:
    if isinstance(ranked, (str, bytes)) or isinstance(relevant, (str, bytes)):
        raise TypeError("expected one ranked id list and one relevant-id set per query, got a str")
    if len(ranked) != len(relevant):
        raise ValueError(
            f"got {len(ranked)} ranked lists but {len(relevant)} relevant sets; give one per query"
        )
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")


def _reciprocal_rank(ranked: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> float:
    for i, doc in enumerate(ranked[:k], start=1):
        if doc in relevant:
            return 1.0 / i
    return 0.0


def mrr_at_k(
    ranked: Sequence[Sequence[Hashable]], relevant: Sequence[Collection[Hashable]], k: int = 10
) -> float:
    """Mean reciprocal rank of the first relevant id within the top k (0 when none); 0.0 for no queries."""
    _check(ranked, relevant, k)
    if not ranked:
        return 0.0
    return sum(_reciprocal_rank(r, rel, k) for r, rel in zip(ranked, relevant, strict=True)) / len(ranked)


def recall_at_k(
    ranked: Sequence[Sequence[Hashable]], relevant: Sequence[Collection[Hashable]], k: int = 10
) -> float:
    """Mean over queries of |relevant ∩ top k| / |relevant| (queries with no relevant id count 0)."""
    _check(ranked, relevant, k)
    if not ranked:
        return 0.0
    total = 0.0
    for r, rel in zip(ranked, relevant, strict=True):
        if rel:
            total += len(set(r[:k]) & set(rel)) / len(rel)
    return total / len(ranked)


def ndcg_at_k(
    ranked: Sequence[Sequence[Hashable]], relevant: Sequence[Collection[Hashable]], k: int = 10
) -> float:
    """Mean binary-relevance nDCG@k (gain 1 for a relevant id, log2 discount)."""
    _check(ranked, relevant, k)
    if not ranked:
        return 0.0
    total = 0.0
    for r, rel in zip(ranked, relevant, strict=True):
        if not rel:
            continue
        dcg = sum(1.0 / math.log2(i + 1) for i, doc in enumerate(r[:k], start=1) if doc in rel)
        ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(rel), k) + 1))
        total += dcg / ideal
    return total / len(ranked)


def retrieval_report(
    ranked: Sequence[Sequence[Hashable]], relevant: Sequence[Collection[Hashable]], *, k: int = 10
) -> dict[str, Any]:
    """MRR@k, Recall@1, Recall@k and nDCG@k in one dict (rounded to 4 places), plus the query count."""
    return {
        "n_queries": len(ranked),
        f"mrr@{k}": round(mrr_at_k(ranked, relevant, k), 4),
        "recall@1": round(recall_at_k(ranked, relevant, 1), 4),
        f"recall@{k}": round(recall_at_k(ranked, relevant, k), 4),
        f"ndcg@{k}": round(ndcg_at_k(ranked, relevant, k), 4),
    }


# ==== classification ======================================================================================
# (reserved for classification metrics)
