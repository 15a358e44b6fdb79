"""evaluate_classifier / ClassificationReport and the confusion plot."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from govnlp.classify import ClassificationReport, TextClassifier, ZeroShotClassifier, evaluate_classifier
from govnlp.classify.evaluate import evaluate_predictions


def test_report_numbers_match_sklearn() -> None:
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    rng = np.random.default_rng(1)
    labels = ["城乡建设", "环境保护", "交通运输"]
    y_true = [labels[i] for i in rng.integers(0, 3, 200)]
    y_pred = [y if rng.random() < 0.7 else labels[rng.integers(0, 3)] for y in y_true]
    rep = evaluate_predictions(y_true, y_pred, classes=labels)
    assert rep.accuracy == pytest.approx(accuracy_score(y_true, y_pred))
    assert rep.macro_f1 == pytest.approx(f1_score(y_true, y_pred, average="macro"), abs=1e-6)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels)
    for j, c in enumerate(rep.per_class):
        assert (c.precision, c.recall, c.f1, c.support) == pytest.approx((p[j], r[j], f[j], s[j]), abs=1e-6)
    np.testing.assert_array_equal(np.array(rep.confusion), confusion_matrix(y_true, y_pred, labels=labels))
    assert ClassificationReport.from_dict(json.loads(json.dumps(rep.to_dict()))) == rep
    with pytest.raises(AttributeError):
        rep.accuracy = 1.0  # frozen


def test_evaluate_classifier_and_plot(tmp_path, fixtures_dir) -> None:
    rows = [
        json.loads(x)
        for x in (fixtures_dir / "classify_messages.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    texts, labels = [r["text"] for r in rows], [r["label"] for r in rows]
    clf = TextClassifier(random_state=0).fit(texts[:36], labels[:36])
    rep = evaluate_classifier(clf, texts[36:], labels[36:])
    assert rep.n == 12 and 0 <= rep.ece <= 1
    assert sum(c.support for c in rep.per_class) == 12
    assert sum(map(sum, rep.confusion)) == 12
    assert "macro-F1" in rep.summary()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no glyph-warning spam
        png = rep.plot_confusion(tmp_path / "plots" / "cm.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    key = png.with_suffix(".labels.txt")
    if key.exists():  # no CJK font here: indices on the axes, key next to the PNG
        assert all(lab in key.read_text(encoding="utf-8") for lab in rep.labels)


def test_zero_shot_ranks_by_description() -> None:
    zs = ZeroShotClassifier("messages", embedder="hash", keywords=True).fit()
    assert len(zs.classes_) == 7
    proba = zs.predict_proba(["医院 医生 看病 医疗 药品"])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    ranked = zs.rank(["医院 医生 看病 医疗 药品 卫生院"], k=3)[0]
    assert ranked[0][0] == "卫生计生"
    assert ranked[0][1] >= ranked[1][1] >= ranked[2][1]
    rep = evaluate_classifier(zs, ["学校 老师 学生 入学 招生"], ["教育文体"])
    assert rep.accuracy == 1.0
    tree = ZeroShotClassifier("cppcc", embedder="hash", level=1).fit()
    assert list(tree.classes_) == ["经济建设", "政治建设", "文化建设", "社会建设", "生态文明建设"]
