"""SearchIndex.fit_ranker: a learned ranking head on (query, relevant id) pairs (hash embedder, own texts)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from govnlp.errors import ConfigError
from govnlp.search import SearchIndex
from govnlp.search.ranker import FEATURES, candidate_features

TOPICS = [
    ("老旧小区加装电梯", "对加装电梯给予每台15万元补助，简化规划审批"),
    ("农村饮水安全", "延伸城区供水管网至山区乡镇，新建蓄水池41座"),
    ("公交线路优化", "新开通两条社区公交线路，增设站点12个"),
    ("学校周边交通拥堵", "上下学高峰增派交警疏导，设置临时停车区"),
    ("工地夜间施工噪音", "严格夜间施工审批，对违规工地立案处罚"),
    ("占道经营整治", "划定临时经营区域，开展联合执法"),
    ("垃圾分类推进", "新建分类投放点300个，推行定时定点收运"),
    ("养老服务不足", "建设社区居家养老服务中心，提供助餐服务"),
    ("小微企业融资难", "设立应急转贷资金池，推广信用贷款"),
    ("农产品销售渠道单一", "建设村级电商服务站，组织产销对接"),
    ("背街小巷路灯不亮", "更换节能路灯3200盏，建立巡查维修机制"),
    ("停车位紧缺", "挖潜建设公共停车场，错时开放机关停车位"),
]


def _records() -> list[dict[str, str]]:
    out = []
    for i, (topic, measure) in enumerate(TOPICS):
        out.append({"id": f"m{i}", "text": f"针对{topic}问题，{measure}。", "unit": "measure"})
        out.append({"id": f"p{i}", "text": f"关于{topic}的情况说明，相关部门正在研究。", "unit": "paragraph"})
    return out


def _pairs() -> list[tuple[str, str]]:
    return [(f"建议解决{topic}的问题", f"m{i}") for i, (topic, _) in enumerate(TOPICS)] + [
        (f"{topic}亟待改善", f"m{i}") for i, (topic, _) in enumerate(TOPICS)
    ]


def test_candidate_features_shape_and_signals() -> None:
    recs = [
        {"text": "压减检查计划39.3%", "unit": "measure", "lead_agency": "丽水市综合行政执法局"},
        {"text": "其他内容", "unit": "problem"},
    ]
    x = candidate_features(
        "综合行政执法局压减检查39.3%",
        recs,
        np.array([0.9, 0.5]),
        np.array([3.0, 0.0]),
        np.array([1, 2]),
        np.array([1, 0]),
    )
    f = {name: x[:, j] for j, name in enumerate(FEATURES)}
    assert x.shape == (2, len(FEATURES))
    assert f["agency_match"].tolist() == [1.0, 0.0]  # the short name without the city matches
    assert f["figure_overlap"].tolist() == [1.0, 0.0]
    assert f["unit_measure"].tolist() == [1.0, 0.0] and f["unit_problem"].tolist() == [0.0, 1.0]
    assert f["lexical_rr"].tolist() == [1.0, 0.0] and f["in_both"].tolist() == [1.0, 0.0]


@pytest.mark.parametrize("method", ["logreg", "lambdarank"])
def test_fit_ranker_ranks_saves_and_loads(method: str, tmp_path: Path) -> None:
    if method == "lambdarank":
        pytest.importorskip("lightgbm")
    index = SearchIndex.build(_records(), embedder="hash", index_type="numpy")
    before = index.search("建议解决停车位紧缺的问题", k=3)
    assert before[0].relevance is None  # no ranker yet
    index.fit_ranker(_pairs(), method=method, depth=10)
    hits = index.search_batch(["停车位紧缺亟待改善", "建议推进垃圾分类"], k=3)
    for hs in hits:
        assert [h.rank for h in hs] == [1, 2, 3]
        assert all(h.relevance is not None and 0.0 <= h.relevance <= 1.0 for h in hs)
        assert hs[0].score >= hs[1].score >= hs[2].score
        assert hs[0].to_dict()["relevance"] == hs[0].relevance
    assert hits[0][0].id == "m11"
    # the measure is preferred to the paragraph of the same topic
    assert hits[1][0].id == "m6"
    index.save(tmp_path / "idx")
    assert (tmp_path / "idx" / "ranker" / "ranker.json").is_file()
    again = SearchIndex.load(tmp_path / "idx")
    hits2 = again.search_batch(["停车位紧缺亟待改善", "建议推进垃圾分类"], k=3)
    assert [[(h.id, round(h.relevance, 6)) for h in hs] for hs in hits2] == [
        [(h.id, round(h.relevance, 6)) for h in hs]
        for hs in hits  # type: ignore[arg-type]
    ]
    # the other modes are not re-ranked
    assert again.search("停车位紧缺", k=2, mode="dense")[0].relevance is None


def test_fit_ranker_refuses_bad_pairs() -> None:
    index = SearchIndex.build(_records(), embedder="hash", index_type="numpy")
    with pytest.raises(ConfigError, match="not in the index"):
        index.fit_ranker([*_pairs(), ("某问题", "no-such-id")])
    with pytest.raises(ConfigError, match="at least 10"):
        index.fit_ranker(_pairs()[:3])
    with pytest.raises(TypeError):
        index.fit_ranker("建议")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="method"):
        index.fit_ranker(_pairs(), method="svm")


def test_match_says_no_close_past_measure() -> None:
    from govnlp.pipeline import Pipeline, format_result

    index = SearchIndex.build(_records(), embedder="hash", index_type="numpy")
    pipe = Pipeline(index)
    plain = pipe.match("建议解决停车位紧缺的问题", k=3)
    assert plain.items[0].hits[0].relevance is None and not plain.items[0].no_close_match  # no ranker
    index.fit_ranker(_pairs(), depth=10)
    res = pipe.match("建议解决停车位紧缺的问题", k=3)
    item = res.items[0]
    best = max(h.relevance for h in item.hits)  # type: ignore[type-var]
    assert item.no_close_match == (best < 0.5)
    assert item.to_dict()["no_close_match"] == item.no_close_match
    assert item.to_dict()["hits"][0]["relevance"] == item.hits[0].relevance
    assert not pipe.match("建议解决停车位紧缺的问题", k=3, min_relevance=0.0).items[0].no_close_match
    far = pipe.match("建议解决停车位紧缺的问题", k=3, min_relevance=1.01)
    assert far.items[0].no_close_match
    assert "no close past measure" in format_result(far)
