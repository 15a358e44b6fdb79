"""The contract every lexical index kind keeps (BM25, TF-IDF, their mix, or your own).

Run it on your own kind (anything with the methods of :class:`govnlp.search.bm25.BM25Index`)::

    from govnlp.testing.lexical import check_lexical_index

    def test_my_scorer(tmp_path):
        check_lexical_index(MyScorer, tmp_path=tmp_path, load=MyScorer.load)

Each check raises ``AssertionError`` naming the rule that broke.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from govnlp.errors import ConfigError

__all__ = ["CONTRACT_TEXTS", "check_lexical_index"]

#: Short replies written for this contract (not corpus text).
CONTRACT_TEXTS = (
    "推进老旧小区改造，支持既有住宅加装电梯，完善小区物业服务。",
    "加强物业服务企业监管，建立业主委员会指导机制。",
    "优化营商环境，推行首违不罚，减轻小微企业负担。",
    "市综合行政执法局会同市场监管局开展跨部门联合监管，压减检查计划数39.3%。",
    "12345热线受理群众诉求，按时办结率达到98.5%。",
    "增设公交线路，优化公共交通站点布局，方便群众出行。",
    "加强校园周边食品安全抽检，整治无证经营食品店。",
    "推进生活垃圾分类，完善餐厨垃圾收运体系。",
)
_QUERIES = ("老旧小区物业服务", "营商环境 小微企业", "12345热线", "垃圾分类收运", "公交站点")
_NO_MATCH = "火星探测器"


def _ranked(scores: np.ndarray, labels: np.ndarray, k: int) -> list[int]:
    """Labels of the ``k`` best positive scores, ties by the lower label."""
    order = sorted((-float(s), int(lab)) for s, lab in zip(scores, labels, strict=True) if s > 0)
    return [lab for _, lab in order[:k]]


def check_lexical_index(
    make: Callable[[], Any],
    *,
    tmp_path: Path | None = None,
    load: Callable[[Path], Any] | None = None,
) -> None:
    """Check a lexical index kind.

    Args:
        make: builds an empty index (e.g. ``lambda: make_lexical("bm25")``).
        tmp_path: a folder for the save/load round trip (skipped when None).
        load: reads what ``save`` wrote (default :func:`govnlp.search.lexical.load_lexical`).

    Raises:
        AssertionError: a rule of the contract is broken (the message names it).
    """
    texts = list(CONTRACT_TEXTS)
    labels = np.arange(100, 100 + len(texts), dtype=np.int64)
    index = make()
    assert len(index) == 0, "a new index must be empty"
    desc = index.describe()
    assert isinstance(desc, dict) and isinstance(desc.get("kind"), str), "describe() must name the kind"
    json.dumps(desc)  # JSON-safe (recorded in manifests)
    try:
        index.add(texts[0], labels[:1])
    except TypeError:
        pass
    else:
        raise AssertionError("add() must refuse a bare str (iterating it gives characters) with TypeError")
    index.add(texts[:5], labels[:5])
    index.add(texts[5:], labels[5:])
    assert len(index) == len(texts), f"len() is {len(index)} after adding {len(texts)} texts"
    assert sorted(index.labels().tolist()) == labels.tolist(), "labels() differs from what was added"

    held = index.labels()
    for q in _QUERIES:
        s = index.score(q)
        assert s.shape == (len(texts),), f"score() must give one score per document, got shape {s.shape}"
        assert np.isfinite(s).all() and (s >= 0).all(), "scores must be finite and non-negative"
        assert s.max() > 0, f"the query {q!r} shares terms with a text but scores 0 everywhere"
        for k in (1, 3):  # fewer than the documents held: the selection is checked, not only the order
            _scores, got_l = index.search(q, k=k)
            assert got_l.shape == (1, k), "search(q, k) must return (1, k) arrays for one query"
            want = _ranked(s, held, k)
            assert got_l[0][got_l[0] >= 0].tolist() == want, f"search({q!r}, k={k}) is not the top of score()"
        np.testing.assert_allclose(
            index.scores_for(q, np.array([labels[2], 999_999])),
            [s[list(held).index(labels[2])], 0.0],
            rtol=1e-6,
            err_msg="scores_for() must give score() per label and 0 for unknown labels",
        )
    assert not index.score(_NO_MATCH).any(), "a query sharing no term must score 0 everywhere"
    _s, none = index.search(_NO_MATCH, k=3)
    assert (none == -1).all(), "documents scoring 0 must not be returned (padding is -1)"
    _s, padded = index.search(_QUERIES[0], k=len(texts) + 5)
    assert (padded[0][len(texts) :] == -1).all(), "k larger than the index must be padded with -1"

    # filtered search: only the subset
    subset = labels[[0, 1, 6]]
    _s, sub = index.search(list(_QUERIES), k=5, subset=subset)
    assert set(sub[sub >= 0].tolist()) <= set(subset.tolist()), "subset search returned a label outside it"

    # refused input changes nothing
    for bad in (labels[:1], np.array([900, 900])):
        try:
            index.add(["新增文本一", "新增文本二"][: len(bad)], bad)
        except ConfigError:
            pass
        else:
            raise AssertionError(
                f"add() accepted labels {bad.tolist()} (held or repeated): expected ConfigError"
            )
    assert len(index) == len(texts), "a refused add() changed the index"

    # remove = a fresh build without those documents
    gone = labels[[1, 4]]
    assert index.remove(np.concatenate([gone, [999_999]])) == 2, "remove() must count the labels it held"
    assert index.remove(gone) == 0, "removing removed labels again must return 0"
    fresh = make()
    keep = [i for i in range(len(texts)) if labels[i] not in gone]
    fresh.add([texts[i] for i in keep], labels[keep])
    for q in _QUERIES:
        a = dict(zip(index.labels().tolist(), index.score(q).tolist(), strict=True))
        b = dict(zip(fresh.labels().tolist(), fresh.score(q).tolist(), strict=True))
        assert a.keys() == b.keys(), "labels after remove() differ from a fresh build"
        np.testing.assert_allclose(
            [a[x] for x in sorted(a)], [b[x] for x in sorted(b)], rtol=1e-5, atol=1e-7,
            err_msg=f"scores for {q!r} after remove() differ from a fresh build without those documents",
        )  # fmt: skip

    # save and load
    if tmp_path is not None:
        from govnlp.search.lexical import load_lexical

        index.save(tmp_path / "lexical")
        loaded = (load or load_lexical)(tmp_path / "lexical")
        assert loaded.describe() == index.describe(), "a reloaded index describes itself differently"
        assert loaded.labels().tolist() == index.labels().tolist(), "a reloaded index holds other labels"
        for q in (*_QUERIES, _NO_MATCH):
            np.testing.assert_array_equal(loaded.score(q), index.score(q), err_msg="reloaded scores differ")
