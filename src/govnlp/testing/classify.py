"""The classifier-method contract, as a check a user's own method can run.

A classification method (see :class:`govnlp.classify.methods.Method`) turns texts into raw scores over
class indices; :class:`govnlp.classify.TextClassifier` does calibration, labels and saving around it.
:func:`check_classifier_method` fits a method on small separable data and checks every rule the
classifier relies on.

Example:
    >>> from govnlp.classify.methods.tfidf import TfidfMethod
    >>> from govnlp.testing.classify import check_classifier_method
    >>> check_classifier_method(lambda: TfidfMethod(min_df=1))   # doctest: +SKIP
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CONTRACT_TEXTS", "check_classifier_method"]

#: Small separable texts (three classes, four texts each) the contract fits on.
CONTRACT_TEXTS: tuple[tuple[str, int], ...] = (
    ("公交线路调整后车站太远，出行不便", 0),
    ("地铁站附近公交车班次太少，等车时间长", 0),
    ("希望增开早高峰公交车，缓解乘车拥挤", 0),
    ("公交车司机开车太快，乘客站不稳", 0),
    ("学校周边校外培训机构太多，学生负担重", 1),
    ("希望增加公办幼儿园学位，孩子入园难", 1),
    ("学校课后服务时间太短，家长接孩子困难", 1),
    ("中小学教师待遇偏低，乡村学校留不住老师", 1),
    ("小区旁工厂排放废气，气味刺鼻", 2),
    ("河道污水直排，水体发黑发臭", 2),
    ("夜间施工噪音扰民，影响居民休息", 2),
    ("工厂烟囱冒黑烟，空气污染严重", 2),
)


def check_classifier_method(make: Callable[[], Any], *, multilabel: bool = True) -> None:
    """Check that the methods ``make()`` builds follow the classifier-method contract.

    Rules checked: ``name`` and ``cross_validate`` class attributes; ``prepare`` gives features that
    :func:`~govnlp.classify.methods.take` can subset; ``fit`` returns the method; ``decision_function``
    gives finite float scores of shape ``(n, n_classes)`` that rank each training text's own class first
    on separable data; the same scores for a subset as for the whole; two-class data gives two columns;
    multi-label indicator data fits (unless ``multilabel`` is False); ``save`` returns JSON-able info and
    ``load`` of it gives the same scores.

    Raises:
        AssertionError: naming the broken rule.
    """
    import json

    from govnlp.classify.methods import take

    texts = [t for t, _ in CONTRACT_TEXTS]
    y = np.array([c for _, c in CONTRACT_TEXTS], dtype=np.int64)
    method = make()
    assert isinstance(getattr(type(method), "name", None), str), "a method needs a class attribute name: str"
    assert isinstance(getattr(type(method), "cross_validate", None), bool), (
        "a method needs a class attribute cross_validate: bool"
    )
    features = method.prepare(texts)
    assert len(features) == len(texts), "prepare must give one feature row per text"
    fitted = method.fit(features, y, n_classes=3, multilabel=False)
    assert fitted is method, "fit must return the method itself"
    scores = method.decision_function(features)
    assert isinstance(scores, np.ndarray) and scores.shape == (len(texts), 3), (
        f"decision_function must give an (n, n_classes) array, got {getattr(scores, 'shape', type(scores))}"
    )
    assert np.isfinite(scores).all(), "decision_function gave non-finite scores"
    acc = float(np.mean(scores.argmax(axis=1) == y))
    assert acc >= 0.9, f"on separable training texts the own class must rank first; accuracy {acc:.2f}"
    rows = [0, 5, 10]
    sub = method.decision_function(take(features, rows))
    np.testing.assert_allclose(sub, scores[rows], rtol=1e-5, atol=1e-6, err_msg="scores depend on the batch")

    two = make()
    keep = [i for i in range(len(y)) if y[i] < 2]
    two.fit(take(two.prepare(texts), keep), y[keep], n_classes=2, multilabel=False)
    assert two.decision_function(two.prepare(texts[:2])).shape == (2, 2), (
        "two-class data must still give two score columns"
    )

    if multilabel:
        ind = np.zeros((len(y), 3), dtype=np.int64)
        ind[np.arange(len(y)), y] = 1
        ind[0, 1] = 1
        ml = make()
        ml.fit(ml.prepare(texts), ind, n_classes=3, multilabel=True)
        assert ml.decision_function(ml.prepare(texts[:3])).shape == (3, 3), (
            "multi-label scores must be (n, n_labels)"
        )

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        info = method.save(folder)
        json.dumps(info)  # the manifest must be able to hold it
        context: dict[str, Any] = {"embedder": getattr(method, "embedder", None)}
        back = type(method).load(folder, json.loads(json.dumps(info)), **context)
        np.testing.assert_allclose(
            back.decision_function(back.prepare(texts)),
            scores,
            rtol=1e-5,
            atol=1e-6,
            err_msg="a loaded method must give the scores it gave before saving",
        )
