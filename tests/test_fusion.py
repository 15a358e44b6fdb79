"""Tests of govnlp.search.fusion."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govnlp.errors import ConfigError
from govnlp.search.fusion import (
    DEFAULT_FUSION,
    FusionConfig,
    fuse,
    normalize_scores,
    reciprocal_rank_fusion,
    weighted_score_fusion,
)


def test_rrf_matches_hand_computation() -> None:
    dense = {"a": 0.9, "b": 0.8, "c": 0.7}
    lexical = {"c": 5.0, "b": 4.0}
    out = dict(reciprocal_rank_fusion(dense, lexical, k=10))
    assert out["a"] == pytest.approx(1 / 11)
    assert out["b"] == pytest.approx(1 / 12 + 1 / 12)
    assert out["c"] == pytest.approx(1 / 13 + 1 / 11)
    assert [d for d, _ in reciprocal_rank_fusion(dense, lexical, k=10)] == ["c", "b", "a"]


def test_rrf_weights_and_ties_are_deterministic() -> None:
    dense = {"a": 1.0, "b": 0.5}
    lexical = {"b": 1.0, "a": 0.5}
    assert [d for d, _ in reciprocal_rank_fusion(dense, lexical)] == ["a", "b"]  # tie -> by id
    assert [d for d, _ in reciprocal_rank_fusion(dense, lexical, weights=(0.2, 1.8))] == ["b", "a"]
    with pytest.raises(ConfigError):
        reciprocal_rank_fusion(dense, lexical, weights=(1.0,))


def test_normalize_scores() -> None:
    assert normalize_scores({"a": 2.0, "b": 4.0, "c": 3.0}) == {"a": 0.0, "b": 1.0, "c": 0.5}
    z = normalize_scores({"a": 1.0, "b": 3.0}, "zscore")
    assert z == {"a": pytest.approx(-1.0), "b": pytest.approx(1.0)}
    assert normalize_scores({"a": 5.0, "b": 5.0}) == {"a": 1.0, "b": 1.0}
    assert normalize_scores({}) == {}


def test_weighted_score_fusion_alpha_extremes() -> None:
    dense = {"a": 0.9, "b": 0.1, "c": 0.5}
    lexical = {"b": 9.0, "c": 1.0, "d": 0.5}
    assert weighted_score_fusion(dense, lexical, alpha=1.0)[0][0] == "a"
    assert weighted_score_fusion(dense, lexical, alpha=0.0)[0][0] == "b"
    # a document only in one list gets the other list's floor, never more
    mid = dict(weighted_score_fusion(dense, lexical, alpha=0.5))
    assert mid["a"] == pytest.approx(0.5 * 1.0 + 0.5 * 0.0)


def test_fuse_dispatch_and_config_roundtrip() -> None:
    cfg = FusionConfig(method="score", alpha=0.7, norm="zscore", depth=50)
    again = FusionConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg
    dense = {"a": 0.9, "b": 0.1}
    lexical = {"b": 2.0, "a": 1.0}
    assert fuse(dense, lexical, cfg) == weighted_score_fusion(dense, lexical, alpha=0.7, norm="zscore")
    assert fuse(dense, lexical, FusionConfig(method="rrf", k=5)) == reciprocal_rank_fusion(
        dense, lexical, k=5, weights=(1.0, 1.0)
    )
    assert isinstance(DEFAULT_FUSION, FusionConfig)


@pytest.mark.parametrize(
    "bad", [{"method": "max"}, {"alpha": 1.5}, {"k": 0}, {"norm": "rank"}, {"depth": 0}, {"weight": 1}]
)
def test_config_errors(bad: dict) -> None:
    with pytest.raises(ConfigError):
        FusionConfig.from_dict(bad)


scores = st.dictionaries(st.sampled_from(list("abcdefgh")), st.floats(-10, 10), max_size=8)


@given(scores, scores, st.floats(0, 1))
def test_fused_ids_are_the_union(dense: dict, lexical: dict, alpha: float) -> None:
    for cfg in (FusionConfig(method="rrf", alpha=alpha), FusionConfig(method="score", alpha=alpha)):
        out = fuse(dense, lexical, cfg)
        assert sorted(d for d, _ in out) == sorted(set(dense) | set(lexical))
        vals = [s for _, s in out]
        assert vals == sorted(vals, reverse=True)
