"""Fuse the ranked lists of a dense and a lexical retriever into one ranking (pure functions).

Two methods, chosen by measurement (``benchmarks/bench_search.py``):

- ``"rrf"``: reciprocal rank fusion, ``score(d) = sum_i w_i / (k + rank_i(d))`` with ranks starting at 1.
  Scale-free: it ignores how far apart the scores are.
- ``"score"``: weighted normalised-score fusion, ``alpha * norm(dense) + (1 - alpha) * norm(lexical)``
  where ``norm`` is a per-list min-max or z-score normalisation. A document missing from one list gets
  that list's minimum normalised score (it was not retrieved there, so it scores at most the worst retrieved).

Every function takes plain ``{id: score}`` mappings (higher is better) and returns ``[(id, fused_score)]``
sorted best first; ties are broken by id so that results are deterministic.

Example:
    >>> dense = {"a": 0.91, "b": 0.88, "c": 0.80}
    >>> lexical = {"b": 12.0, "c": 3.0}
    >>> [i for i, _ in fuse(dense, lexical, FusionConfig(method="rrf", k=60))]
    ['b', 'c', 'a']
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from govnlp.errors import ConfigError

__all__ = [
    "DEFAULT_FUSION",
    "FusionConfig",
    "fuse",
    "fuse_runs",
    "fusion_config",
    "normalize_scores",
    "reciprocal_rank_fusion",
    "weighted_score_fusion",
]

Method = Literal["rrf", "score"]
Norm = Literal["minmax", "zscore"]


@dataclass(frozen=True)
class FusionConfig:
    """How to fuse dense and lexical results; recorded in an index's manifest.

    Attributes:
        method: ``"rrf"`` (reciprocal rank fusion) or ``"score"`` (weighted normalised scores).
        k: the RRF constant (larger flattens the rank weights). Used by ``"rrf"``.
        alpha: the weight of the dense list, in ``[0, 1]``; the lexical list gets ``1 - alpha``.
            For ``"rrf"`` the per-list weights are ``2 * alpha`` and ``2 * (1 - alpha)`` (0.5 = plain RRF).
        norm: per-list normalisation for ``"score"``: ``"minmax"`` or ``"zscore"``.
        depth: how many candidates each retriever contributes before fusion.
    """

    method: Method = "rrf"
    k: float = 60.0
    alpha: float = 0.5
    norm: Norm = "minmax"
    depth: int = 100

    def __post_init__(self) -> None:
        if self.method not in ("rrf", "score"):
            raise ConfigError(f"FusionConfig.method must be 'rrf' or 'score', got {self.method!r}")
        if self.norm not in ("minmax", "zscore"):
            raise ConfigError(f"FusionConfig.norm must be 'minmax' or 'zscore', got {self.norm!r}")
        if not (0.0 <= float(self.alpha) <= 1.0):
            raise ConfigError(f"FusionConfig.alpha must lie in [0, 1], got {self.alpha!r}")
        if not float(self.k) > 0:
            raise ConfigError(f"FusionConfig.k must be > 0, got {self.k!r}")
        if int(self.depth) < 1:
            raise ConfigError(f"FusionConfig.depth must be >= 1, got {self.depth!r}")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (sorted keys when dumped)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FusionConfig:
        """Build from :meth:`to_dict` output; unknown keys are an error naming them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown FusionConfig keys {unknown}; expected some of {sorted(known)}")
        return cls(**dict(data))


#: The default fusion: z-scored scores, equal weights. benchmarks/bench_cv.py (leave one year out over
#: 2012-2018) compared plain RRF (k=60) and z-scored score fusion at dense weights 0.3-0.7 with each
#: lexical kind: z-score beat RRF on both query styles, and with the default TF-IDF on raw replies the
#: dense weight 0.5 was best (0.4 lost 0.003 on messages and 0.008 on proposal-style queries).
#: A fine-tuned model folder carries its own weight (govnlp.embedders.finetune.tuned_fusion_weights).
DEFAULT_FUSION = FusionConfig(method="score", norm="zscore", alpha=0.5)


def _sorted_items(scores: Mapping[str, float]) -> list[tuple[str, float]]:
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def _rank(scores: Mapping[str, float]) -> dict[str, int]:
    return {doc: r for r, (doc, _) in enumerate(_sorted_items(scores), start=1)}


def reciprocal_rank_fusion(
    *rankings: Mapping[str, float], k: float = 60.0, weights: tuple[float, ...] | None = None
) -> list[tuple[str, float]]:
    """Reciprocal rank fusion of several ``{id: score}`` lists.

    Args:
        *rankings: one mapping per retriever (higher score = better); ranks are derived from it.
        k: the RRF constant (60 in Cormack et al. 2009).
        weights: one weight per list (default all 1).

    Returns:
        ``[(id, fused)]`` sorted by fused score, best first (ties by id).
    """
    if weights is None:
        weights = (1.0,) * len(rankings)
    if len(weights) != len(rankings):
        raise ConfigError(
            f"got {len(rankings)} rankings but {len(weights)} weights; give one weight per list"
        )
    fused: dict[str, float] = {}
    for ranking, w in zip(rankings, weights, strict=True):
        for doc, r in _rank(ranking).items():
            fused[doc] = fused.get(doc, 0.0) + w / (k + r)
    return _sorted_items(fused)


def normalize_scores(scores: Mapping[str, float], norm: Norm = "minmax") -> dict[str, float]:
    """Normalise one list's scores: min-max to ``[0, 1]`` or z-score (mean 0, sd 1).

    A list whose scores are all equal maps to 1.0 (min-max) or 0.0 (z-score).
    """
    if not scores:
        return {}
    vals = list(scores.values())
    if norm == "minmax":
        lo, hi = min(vals), max(vals)
        span = hi - lo
        if span <= 0:
            return dict.fromkeys(scores, 1.0)
        return {d: (s - lo) / span for d, s in scores.items()}
    if norm == "zscore":
        mean = sum(vals) / len(vals)
        var = sum((v - mean) ** 2 for v in vals) / len(vals)
        sd = math.sqrt(var)
        if sd <= 0:
            return dict.fromkeys(scores, 0.0)
        return {d: (s - mean) / sd for d, s in scores.items()}
    raise ConfigError(f"norm must be 'minmax' or 'zscore', got {norm!r}")


def weighted_score_fusion(
    dense: Mapping[str, float], lexical: Mapping[str, float], *, alpha: float = 0.5, norm: Norm = "minmax"
) -> list[tuple[str, float]]:
    """``alpha * norm(dense) + (1 - alpha) * norm(lexical)`` over the union of both lists.

    A document absent from a list gets that list's minimum normalised score.
    """
    nd = normalize_scores(dense, norm)
    nl = normalize_scores(lexical, norm)
    floor_d = min(nd.values()) if nd else 0.0
    floor_l = min(nl.values()) if nl else 0.0
    fused = {
        doc: alpha * nd.get(doc, floor_d) + (1.0 - alpha) * nl.get(doc, floor_l) for doc in set(nd) | set(nl)
    }
    return _sorted_items(fused)


def fuse(
    dense: Mapping[str, float], lexical: Mapping[str, float], config: FusionConfig = DEFAULT_FUSION
) -> list[tuple[str, float]]:
    """Fuse a dense and a lexical result list as ``config`` says; see the module docstring."""
    if config.method == "rrf":
        return reciprocal_rank_fusion(
            dense, lexical, k=config.k, weights=(2.0 * config.alpha, 2.0 * (1.0 - config.alpha))
        )
    return weighted_score_fusion(dense, lexical, alpha=config.alpha, norm=config.norm)


def fusion_config(fusion: FusionConfig | Mapping[str, Any] | str | None = None) -> dict[str, Any]:
    """The full fusion config as a JSON-safe dict: None (:data:`DEFAULT_FUSION`), a method name
    (``"rrf"``, ``"score"``), a dict of :class:`FusionConfig` fields (missing ones from the default) or a
    FusionConfig.

    Raises:
        ConfigError: an unknown field or method, or a value out of range.
    """
    if fusion is None:
        return DEFAULT_FUSION.to_dict()
    if isinstance(fusion, str):
        fusion = {"method": fusion}
    if isinstance(fusion, FusionConfig):
        fusion = fusion.to_dict()
    if not isinstance(fusion, Mapping):
        raise ConfigError(
            f"fusion must be None, a method name, a dict or a FusionConfig, got {type(fusion).__name__}"
        )
    return FusionConfig.from_dict({**DEFAULT_FUSION.to_dict(), **fusion}).to_dict()


def fuse_runs(
    dense: Mapping[str, float], lexical: Mapping[str, float], config: Mapping[str, Any]
) -> list[tuple[str, float]]:
    """:func:`fuse` with the config as a dict (see :func:`fusion_config`); ``[(id, fused)]`` best first."""
    return fuse(dense, lexical, FusionConfig.from_dict(dict(config)))
