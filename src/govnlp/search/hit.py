"""A search result: :class:`Hit`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Hit"]


@dataclass(frozen=True)
class Hit:
    """One search result.

    ``score`` is what the hits are ranked by (the fused score in hybrid mode, the cosine similarity in
    dense mode, the BM25 score in lexical mode); ``dense_score`` / ``lexical_score`` are the components,
    None when not computed. ``rank`` starts at 1.
    """

    id: str
    score: float
    rank: int
    record: dict[str, Any] = field(hash=False)
    dense_score: float | None = None
    lexical_score: float | None = None
    #: the probability that the hit is relevant (from a fitted ranker, see SearchIndex.fit_ranker), else None
    relevance: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "score": self.score,
            "rank": self.rank,
            "dense_score": self.dense_score,
            "lexical_score": self.lexical_score,
            "relevance": self.relevance,
            "record": dict(self.record),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Hit:
        return cls(
            id=str(d["id"]),
            score=float(d["score"]),
            rank=int(d["rank"]),
            record=dict(d.get("record") or {}),
            dense_score=d.get("dense_score"),
            lexical_score=d.get("lexical_score"),
            relevance=d.get("relevance"),
        )
