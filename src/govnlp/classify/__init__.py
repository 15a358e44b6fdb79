"""Category tagging: taxonomies, trainable classifiers, zero-shot tagging and evaluation.

Example:
    >>> from govnlp.classify import Taxonomy, TextClassifier, evaluate_classifier
    >>> clf = TextClassifier("tfidf", taxonomy="messages", random_state=0)   # doctest: +SKIP
    >>> clf.fit(texts, labels).predict(["公交线路调整后出行不便"])           # doctest: +SKIP
"""

from __future__ import annotations

from govnlp.classify.calibration import Calibrator, expected_calibration_error
from govnlp.classify.classifier import TextClassifier
from govnlp.classify.evaluate import (
    ClassificationReport,
    ClassScores,
    evaluate_classifier,
    evaluate_predictions,
)
from govnlp.classify.taxonomy import Category, Taxonomy, builtin_taxonomies
from govnlp.classify.zeroshot import ZeroShotClassifier

__all__ = [
    "Calibrator",
    "Category",
    "ClassScores",
    "ClassificationReport",
    "Taxonomy",
    "TextClassifier",
    "ZeroShotClassifier",
    "builtin_taxonomies",
    "evaluate_classifier",
    "evaluate_predictions",
    "expected_calibration_error",
]
