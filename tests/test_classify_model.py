"""Opt-in checks with the real default model (``-m model``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from govnlp.classify import TextClassifier, ZeroShotClassifier, evaluate_classifier

pytestmark = pytest.mark.model


def _data(fixtures_dir: Path) -> tuple[list[str], list[str]]:
    rows = [
        json.loads(x)
        for x in (fixtures_dir / "classify_messages.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    return [r["text"] for r in rows], [r["label"] for r in rows]


def test_embedding_method_with_default_model(tmp_path, fixtures_dir) -> None:
    texts, labels = _data(fixtures_dir)
    clf = TextClassifier("embedding", random_state=0).fit(texts[:36], labels[:36])
    assert evaluate_classifier(clf, texts[36:], labels[36:]).accuracy >= 0.5
    again = TextClassifier.load(clf.save(tmp_path / "m"))  # reloads the recorded (default) embedder
    np.testing.assert_allclose(again.predict_proba(texts[36:]), clf.predict_proba(texts[36:]), atol=1e-5)


def test_zero_shot_with_default_model(fixtures_dir) -> None:
    texts, labels = _data(fixtures_dir)
    zs = ZeroShotClassifier("messages", keywords=False).fit()
    assert evaluate_classifier(zs, texts, labels).accuracy > 0.5
