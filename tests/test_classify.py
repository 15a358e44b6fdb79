"""TextClassifier: sklearn conventions, calibration, multi-label, abstaining, datasets, save/load."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from govnlp.classify import Taxonomy, TextClassifier, evaluate_classifier
from govnlp.classify.calibration import (
    expected_calibration_error,
    fit_platt,
    fit_temperature,
    softmax,
    tune_thresholds,
)
from govnlp.embedders import load_embedder
from govnlp.errors import ConfigError, EmbedderMismatchError, FormatError, TaxonomyError


@pytest.fixture(scope="module")
def fitted(data) -> TextClassifier:
    texts, labels = data
    return TextClassifier("tfidf", taxonomy="messages", random_state=0).fit(texts, labels)


def test_sklearn_conventions(data) -> None:
    texts, labels = data
    clf = TextClassifier("tfidf", random_state=0, method_params={"C": 1.0})
    params = clf.get_params()
    assert params["method"] == "tfidf" and params["random_state"] == 0
    twin = clone(clf)
    assert twin.get_params() == params and twin is not clf
    with pytest.raises(NotFittedError):
        clf.predict(["公交车太少"])
    assert clf.fit(texts, labels) is clf  # fit returns self
    assert clf.get_params() == params  # fit does not touch the constructor arguments
    assert not hasattr(twin, "classes_")  # learned state only on the fitted one
    assert list(clf.classes_) == sorted(set(labels))
    proba = clf.predict_proba(texts[:7])
    assert proba.shape == (7, len(clf.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    pred = clf.predict(texts[:7])
    np.testing.assert_array_equal(pred, clf.classes_[proba.argmax(axis=1)])
    assert clf.score(texts, labels) > 0.9  # ClassifierMixin.score works on training data
    clf.set_params(method="embedding")
    assert clf.method == "embedding"


def test_taxonomy_orders_classes_and_rejects_unknown(data, fitted) -> None:
    texts, labels = data
    order = [lab for lab in Taxonomy.load("messages").labels if lab in set(labels)]
    assert list(fitted.classes_) == order
    with pytest.raises(TaxonomyError, match="不存在的类"):
        TextClassifier("tfidf", taxonomy="messages").fit(texts, [*labels[:-1], "不存在的类"])


def test_bad_inputs(data) -> None:
    texts, labels = data
    with pytest.raises(TypeError, match="single str"):
        TextClassifier().fit("小区停车难", labels)
    with pytest.raises(ConfigError, match="labels"):
        TextClassifier().fit(texts, labels[:-1])
    with pytest.raises(ConfigError, match="2 classes"):
        TextClassifier().fit(texts[:3], ["交通运输"] * 3)
    with pytest.raises(ConfigError, match="unknown classification method"):
        TextClassifier("bert-magic").fit(texts, labels)
    clf = TextClassifier(random_state=0).fit(texts, labels)
    with pytest.raises(TypeError):
        clf.predict("公交车太少")
    assert clf.predict_proba([]).shape == (0, len(clf.classes_))


def test_learns_held_out_texts(data) -> None:
    texts, labels = data
    clf = TextClassifier("tfidf", random_state=0).fit(texts[:36], labels[:36])
    report = evaluate_classifier(clf, texts[36:], labels[36:])
    assert report.accuracy > 0.4  # 4 balanced classes: chance is 0.25
    m = clf.training_metrics_
    assert m["n_train"] == 36 and m["heldout_rows"] == 36 and 0 <= m["heldout_ece"] <= 1


def test_abstain_routes_low_confidence_to_none(fitted, data) -> None:
    texts, _ = data
    proba = fitted.predict_proba(texts)
    cut = float(np.median(proba.max(axis=1)))
    pred = fitted.predict(texts, abstain_below=cut)
    low = proba.max(axis=1) < cut
    assert all(p is None for p in pred[low])
    assert all(p is not None for p in pred[~low])
    assert all(p is not None for p in fitted.predict(texts, abstain_below=0.0))
    with pytest.raises(ConfigError):
        fitted.predict(texts, abstain_below=1.5)


def test_multilabel_thresholds(data) -> None:
    texts, labels = data
    multi = [[y, "交通运输"] if i % 4 == 0 and y != "交通运输" else [y] for i, y in enumerate(labels)]
    clf = TextClassifier("tfidf", random_state=0).fit(texts, multi)
    assert clf.multilabel_
    assert clf.thresholds_.shape == (len(clf.classes_),)
    assert np.all((clf.thresholds_ > 0) & (clf.thresholds_ < 1))
    proba = clf.predict_proba(texts)
    assert proba.shape == (len(texts), 4) and np.all((proba >= 0) & (proba <= 1))
    pred = clf.predict(texts)
    assert all(isinstance(p, tuple) for p in pred)
    for p, row in zip(pred, proba, strict=True):
        assert set(p) == {clf.classes_[j] for j in np.flatnonzero(row >= clf.thresholds_)}
    report = evaluate_classifier(clf, texts, multi)
    assert report.multilabel and report.macro_f1 > 0.5


def test_embedding_and_ensemble_with_hash_embedder(data) -> None:
    texts, labels = data
    for method in ("embedding", "ensemble"):
        clf = TextClassifier(method, embedder="hash", random_state=0).fit(texts, labels)
        np.testing.assert_allclose(clf.predict_proba(texts[:5]).sum(axis=1), 1.0)
        assert clf.score(texts, labels) > 0.8
    assert clf.member_names_ == ("tfidf", "embedding")


def test_save_load_round_trip(tmp_path, data) -> None:
    texts, labels = data
    clf = TextClassifier("ensemble", embedder="hash", taxonomy="messages", random_state=0).fit(texts, labels)
    path = clf.save(tmp_path / "tagger")
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "classifier" and manifest["method"] == "ensemble"
    assert manifest["embedder"]["name"] == load_embedder("hash").name
    assert manifest["embedder"]["fingerprint"] == load_embedder("hash").fingerprint()
    assert manifest["taxonomy"]["name"] == "messages"
    assert "heldout_macro_f1" in manifest["training_metrics"]
    assert not list(path.rglob("*.pkl")) and not list(path.rglob("*.pickle"))
    again = TextClassifier.load(path)
    np.testing.assert_array_equal(again.predict_proba(texts), clf.predict_proba(texts))
    np.testing.assert_array_equal(again.predict(texts), clf.predict(texts))
    assert list(again.classes_) == list(clf.classes_)
    assert again.taxonomy_ == clf.taxonomy_


def test_load_with_another_embedder_names_both(tmp_path, data) -> None:
    from govnlp.embedders.hashing import HashEmbedder

    texts, labels = data
    clf = TextClassifier("embedding", embedder=HashEmbedder(dim=512), random_state=0).fit(texts, labels)
    clf.save(tmp_path / "m")
    other = HashEmbedder(dim=256)
    with pytest.raises(EmbedderMismatchError) as err:
        TextClassifier.load(tmp_path / "m", embedder=other)
    assert HashEmbedder(dim=512).name in str(err.value) and other.name in str(err.value)
    same = TextClassifier.load(tmp_path / "m", embedder=HashEmbedder(dim=512))
    np.testing.assert_array_equal(same.predict_proba(texts), clf.predict_proba(texts))


def test_interrupted_save_leaves_nothing_loadable(tmp_path, data, monkeypatch) -> None:
    from govnlp.classify.methods.tfidf import TfidfMethod

    texts, labels = data
    clf = TextClassifier("tfidf", random_state=0).fit(texts, labels)
    target = tmp_path / "tagger"

    def boom(self, folder):  # the disk fills up half-way through the save
        (folder / "pipeline.skops").write_bytes(b"partial")
        raise OSError("No space left on device")

    monkeypatch.setattr(TfidfMethod, "save", boom)
    with pytest.raises(OSError):
        clf.save(target)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary folder left behind either
    monkeypatch.undo()
    clf.save(target)
    before = TextClassifier.load(target).predict_proba(texts)
    monkeypatch.setattr(TfidfMethod, "save", boom)
    with pytest.raises(OSError):
        TextClassifier("tfidf", random_state=1).fit(texts[:30], labels[:30]).save(target)
    # the earlier save is intact
    np.testing.assert_array_equal(TextClassifier.load(target).predict_proba(texts), before)


def test_load_refuses_broken_folders(tmp_path, fitted) -> None:
    with pytest.raises(FormatError, match="not a folder"):
        TextClassifier.load(tmp_path / "missing")
    (tmp_path / "half").mkdir()
    with pytest.raises(FormatError, match="interrupted"):
        TextClassifier.load(tmp_path / "half")
    path = fitted.save(tmp_path / "ok")
    (path / "member0" / "pipeline.skops").unlink()
    with pytest.raises(FormatError, match="missing"):
        TextClassifier.load(path)


def test_dataset_columns(data) -> None:
    datasets = pytest.importorskip("datasets")
    texts, labels = data
    ds = datasets.Dataset.from_dict({"content": texts, "category": labels})
    with pytest.raises(ConfigError) as err:
        TextClassifier().fit_dataset(ds)
    assert "content" in str(err.value) and "category" in str(err.value)
    clf = TextClassifier(random_state=0).fit_dataset(ds, text_column="content", label_column="category")
    assert set(clf.classes_) == set(labels)
    encoded = ds.class_encode_column("category")  # ClassLabel ids are mapped back to names
    clf2 = TextClassifier.from_dataset(
        encoded, text_column="content", label_column="category", random_state=0
    )
    assert set(clf2.classes_) == set(labels)
    np.testing.assert_allclose(clf2.predict_proba(texts), clf.predict_proba(texts))


def test_calibration_functions() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=2.0, size=(2000, 3))
    p_true = softmax(logits)  # labels drawn from softmax(logits): T = 1 is right for `logits`
    y = np.array([rng.choice(3, p=p) for p in p_true])
    over = logits * 5  # over-confident scores: the right temperature is about 5
    t = fit_temperature(over, y)
    assert 4 < t < 6
    before = softmax(over)
    after = softmax(over / t)
    ece = lambda p: expected_calibration_error(p.max(1), p.argmax(1) == y)  # noqa: E731
    assert ece(after) < ece(before)
    s = rng.normal(size=500)
    yb = (s + rng.normal(scale=0.5, size=500) > 0).astype(int)
    a, b = fit_platt(3 * s, yb)
    assert a > 0 and abs(b) < 0.5
    th = tune_thresholds(np.array([[0.9], [0.8], [0.3], [0.2]]), np.array([[1], [1], [0], [0]]))
    assert 0.3 < th[0] < 0.8
    assert expected_calibration_error(np.array([1.0, 1.0]), np.array([1, 1])) == 0.0


def test_platt_converges_on_large_separated_margins() -> None:
    """Large, nearly separable margins (as a weakly regularised model gives): plain Newton steps
    overshoot here; the line search must reach the log-loss minimum that a fine grid finds."""
    rng = np.random.default_rng(1)
    y = (rng.random(300) < 0.2).astype(int)
    s = np.where(y == 1, 80.0, -80.0) + rng.normal(scale=40.0, size=300)
    a, b = fit_platt(s, y)
    assert np.isfinite(a) and np.isfinite(b) and 0 < a < 10

    n_pos, n_neg = y.sum(), len(y) - y.sum()
    t = np.where(y > 0, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))

    def loss(a: float, b: float) -> float:
        f = a * s + b
        return float(np.sum(t * np.logaddexp(0, -f) + (1 - t) * np.logaddexp(0, f)))

    grid = min(loss(ga, gb) for ga in np.linspace(0.001, 1.0, 200) for gb in np.linspace(-10, 10, 201))
    assert loss(a, b) <= grid + 1e-6


def test_combine_members_trained_on_different_data(tmp_path, data) -> None:
    texts, labels = data
    a = TextClassifier("tfidf", random_state=0).fit(texts, labels)
    b = TextClassifier("embedding", embedder="hash", random_state=0).fit(texts[:40], labels[:40])
    both = TextClassifier.combine([a, b])
    assert both.method == "tfidf+embedding" and both.member_names_ == ("tfidf", "embedding")
    np.testing.assert_allclose(
        both.predict_proba(texts), (a.predict_proba(texts) + b.predict_proba(texts)) / 2
    )
    again = TextClassifier.load(both.save(tmp_path / "both"))
    np.testing.assert_array_equal(again.predict_proba(texts), both.predict_proba(texts))
    with pytest.raises(ConfigError, match="different classes"):
        TextClassifier.combine([a, TextClassifier("embedding", embedder="hash").fit(texts[:6], labels[:6])])
    with pytest.raises(ConfigError, match="at least 2"):
        TextClassifier.combine([a])


@pytest.mark.parametrize("name", ["tfidf", "tfidf-char", "embedding"])
def test_methods_follow_the_shared_contract(name: str) -> None:
    from govnlp.classify.methods.embedding import EmbeddingMethod
    from govnlp.classify.methods.tfidf import TfidfMethod
    from govnlp.testing.classify import check_classifier_method

    makers = {
        "tfidf": lambda: TfidfMethod(min_df=1, random_state=0),
        "tfidf-char": lambda: TfidfMethod(analyzer="char", min_df=1, random_state=0),
        "embedding": lambda: EmbeddingMethod(load_embedder("hash"), C=1.0, random_state=0),
    }
    check_classifier_method(makers[name])


def test_contract_catches_a_broken_method() -> None:
    from govnlp.classify.methods.tfidf import TfidfMethod
    from govnlp.testing.classify import check_classifier_method

    class Flipped(TfidfMethod):
        def decision_function(self, features):  # type: ignore[no-untyped-def]
            return -super().decision_function(features)

    with pytest.raises(AssertionError, match="own class"):
        check_classifier_method(lambda: Flipped(min_df=1, random_state=0))
