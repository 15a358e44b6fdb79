"""Character n-gram TF-IDF + a linear model: fast, strong, no weights to download."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from govnlp.classify.methods.base import load_skops, save_skops, scores_2d
from govnlp.classify.text import normalize_text

__all__ = ["TfidfMethod"]


class TfidfMethod:
    """Character n-grams (sublinear TF, min_df 2) and a linear SVM (or logistic regression).

    Args:
        ngram_range: character n-gram lengths.
        C: inverse regularisation strength of the linear model.
        head: ``"svm"`` (LinearSVC, scores are margins) or ``"logreg"``.
        min_df: drop n-grams seen in fewer documents.
        max_features: cap on the vocabulary (None: no cap).
        random_state: seed of the linear solver.
    """

    name: ClassVar[str] = "tfidf"
    cross_validate: ClassVar[bool] = True

    def __init__(
        self,
        *,
        ngram_range: tuple[int, int] = (1, 2),
        C: float = 0.5,
        head: str = "svm",
        min_df: int = 2,
        max_features: int | None = None,
        random_state: int | None = None,
    ) -> None:
        self.ngram_range = tuple(ngram_range)
        self.C = C
        self.head = head
        self.min_df = min_df
        self.max_features = max_features
        self.random_state = random_state
        self.pipeline_: Any = None

    def prepare(self, texts: list[str]) -> list[str]:
        return [normalize_text(t) for t in texts]

    def _head(self) -> Any:
        from sklearn.linear_model import LogisticRegression
        from sklearn.svm import LinearSVC

        if self.head == "svm":
            return LinearSVC(C=self.C, random_state=self.random_state)
        if self.head == "logreg":
            return LogisticRegression(C=self.C, max_iter=2000, random_state=self.random_state)
        from govnlp.errors import ConfigError

        raise ConfigError(f"tfidf head must be 'svm' or 'logreg', got {self.head!r}")

    def fit(self, features: list[str], y: np.ndarray, *, n_classes: int, multilabel: bool) -> TfidfMethod:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.multiclass import OneVsRestClassifier
        from sklearn.pipeline import Pipeline

        # min_df cannot exceed the number of documents on tiny data
        min_df = self.min_df if len(features) >= 4 * self.min_df else 1
        vec = TfidfVectorizer(
            analyzer="char",
            ngram_range=self.ngram_range,
            sublinear_tf=True,
            min_df=min_df,
            max_features=self.max_features,
            dtype=np.float32,
        )
        head = OneVsRestClassifier(self._head()) if multilabel else self._head()
        self.n_classes_ = n_classes
        self.pipeline_ = Pipeline([("tfidf", vec), ("head", head)]).fit(features, y)
        return self

    def decision_function(self, features: list[str]) -> np.ndarray:
        return scores_2d(self.pipeline_.decision_function(features), self.n_classes_)

    def save(self, folder: Path) -> dict[str, Any]:
        save_skops(self.pipeline_, folder / "pipeline.skops")
        return {
            "ngram_range": list(self.ngram_range),
            "C": self.C,
            "head": self.head,
            "min_df": self.min_df,
            "max_features": self.max_features,
            "random_state": self.random_state,
            "n_classes": self.n_classes_,
            "files": ["pipeline.skops"],
        }

    @classmethod
    def load(cls, folder: Path, info: dict[str, Any], **context: Any) -> TfidfMethod:
        m = cls(
            ngram_range=tuple(info["ngram_range"]),
            C=info["C"],
            head=info["head"],
            min_df=info["min_df"],
            max_features=info["max_features"],
            random_state=info["random_state"],
        )
        m.pipeline_ = load_skops(folder / "pipeline.skops")
        m.n_classes_ = int(info["n_classes"])
        return m
