"""The ``tfidf`` method: jieba word + character TF-IDF, the character-only variant, save/load."""

from __future__ import annotations

import json

import numpy as np
import pytest

from govnlp.classify import TextClassifier
from govnlp.classify.methods.tfidf import STOP_WORDS, TfidfMethod, segment_words
from govnlp.errors import ConfigError


def test_segment_words_drops_function_words_and_keeps_lexicon_terms() -> None:
    words = segment_words("我们小区的停车位被占用了，请综合行政执法局处理！")
    assert "综合行政执法局" in words  # from govnlp's government lexicon, kept whole
    assert "小区" in words and "停车位" in words
    assert not set(words) & STOP_WORDS
    assert not any(w in "，！ " for w in words)
    assert segment_words("") == []


def test_prepare_gives_character_and_word_views() -> None:
    m = TfidfMethod()
    feats = m.prepare(["小区停车位被占用", "小区 停车位 占用"])
    assert feats.shape == (2, 2)
    assert feats[0, 0] == "小区停车位被占用" and feats[1, 0] == "小区停车位占用"  # spaces dropped for chars
    assert feats[0, 1].split() == feats[1, 1].split() == ["小区", "停车位", "占用"]
    assert TfidfMethod(analyzer="char").prepare(["小区　停车"]) == ["小区 停车"]


def test_presegmented_rows_teach_the_raw_texts(data) -> None:
    """Rows given as space-separated words without function words (like tokenised corpora) share the
    word features of raw sentences, so a model trained on them alone tags raw texts."""
    texts, labels = data
    seg = [" ".join(segment_words(t)) for t in texts]
    clf = TextClassifier("tfidf", random_state=0).fit(seg, labels)
    acc = float(np.mean(clf.predict(texts) == np.array(labels, dtype=object)))
    assert acc > 0.9


def test_default_is_word_plus_char_svm_and_roundtrips(tmp_path, data) -> None:
    texts, labels = data
    clf = TextClassifier("tfidf", random_state=0).fit(texts, labels)
    method = clf.members_[0]
    assert method.analyzer == "word+char" and method._resolved_head() == "svm"
    names = method.pipeline_.named_steps["tfidf"].get_feature_names_out()
    assert any(n.startswith("words__") for n in names) and any(n.startswith("chars__") for n in names)
    clf.save(tmp_path / "m")
    info = json.loads((tmp_path / "m" / "manifest.json").read_text(encoding="utf-8"))["members"][0]["info"]
    assert info["analyzer"] == "word+char" and info["head"] == "svm" and info["C"] == 0.5
    again = TextClassifier.load(tmp_path / "m")
    np.testing.assert_allclose(again.predict_proba(texts), clf.predict_proba(texts))


def test_character_only_variant_and_older_folders(tmp_path, data) -> None:
    texts, labels = data
    params = {"analyzer": "char", "head": "svm", "C": 0.5, "class_weight": None}
    clf = TextClassifier("tfidf", method_params=params, random_state=0).fit(texts, labels)
    assert clf.score(texts, labels) > 0.9
    path = clf.save(tmp_path / "char")
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    info = manifest["members"][0]["info"]
    for key in ("analyzer", "word_ngram_range", "class_weight"):  # as written before these existed
        info.pop(key)
    (path / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    old = TextClassifier.load(path)
    assert old.members_[0].analyzer == "char"
    np.testing.assert_allclose(old.predict_proba(texts), clf.predict_proba(texts))


def test_logistic_regression_head(data) -> None:
    texts, labels = data
    clf = TextClassifier("tfidf", method_params={"head": "logreg"}, random_state=0).fit(texts, labels)
    assert clf.members_[0]._resolved_head() == "logreg" and clf.members_[0]._C() == 20.0
    assert clf.score(texts, labels) > 0.9


def test_multilabel_defaults_to_the_svm_head(data) -> None:
    texts, labels = data
    multi = [[y, "交通运输"] if i % 4 == 0 and y != "交通运输" else [y] for i, y in enumerate(labels)]
    clf = TextClassifier("tfidf", random_state=0).fit(texts, multi)
    assert clf.members_[0]._resolved_head() == "svm"
    a = np.asarray(clf.calibrators_[0].to_dict()["a"])
    assert np.all(np.abs(a) < 1e3)  # Platt scaling converged


def test_bad_settings() -> None:
    with pytest.raises(ConfigError, match="analyzer"):
        TfidfMethod(analyzer="bigram")
    with pytest.raises(ConfigError, match="head"):
        TfidfMethod(head="forest")
