"""Embedder vectors + standardisation + logistic regression.

Raw e5 vectors sit in a narrow cone; a linear head on them underfits badly unless the features are
standardised first (../MODELS.md measured 0.55 -> 0.875 on a topic test), so a StandardScaler comes first.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from govnlp.classify.methods.base import load_skops, save_skops, scores_2d
from govnlp.classify.text import normalize_text

if TYPE_CHECKING:
    from govnlp.embedders.base import Embedder

__all__ = ["EmbeddingMethod"]


class EmbeddingMethod:
    """Texts -> ``embedder.encode(kind="query")`` -> StandardScaler -> LogisticRegression.

    e5-family models expect the ``query: `` prefix for symmetric tasks such as classification, so the
    texts are encoded as queries.

    Args:
        embedder: a loaded :class:`govnlp.embedders.base.Embedder`.
        C: inverse regularisation strength of the logistic regression.
        batch_size: encoding batch size.
        show_progress_bar: passed to ``encode``.
        random_state: seed of the solver.
    """

    name: ClassVar[str] = "embedding"
    cross_validate: ClassVar[bool] = True

    def __init__(
        self,
        embedder: Embedder,
        *,
        C: float = 0.05,
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        random_state: int | None = None,
    ) -> None:
        self.embedder = embedder
        self.C = C
        self.batch_size = batch_size
        self.show_progress_bar = show_progress_bar
        self.random_state = random_state
        self.pipeline_: Any = None

    def prepare(self, texts: list[str]) -> np.ndarray:
        return self.embedder.encode(
            [normalize_text(t) for t in texts],
            kind="query",
            batch_size=self.batch_size,
            show_progress_bar=self.show_progress_bar,
        )

    def fit(
        self, features: np.ndarray, y: np.ndarray, *, n_classes: int, multilabel: bool
    ) -> EmbeddingMethod:
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        head: Any = LogisticRegression(C=self.C, max_iter=3000, random_state=self.random_state)
        if multilabel:
            head = OneVsRestClassifier(head)
        self.n_classes_ = n_classes
        self.pipeline_ = Pipeline([("scale", StandardScaler()), ("head", head)]).fit(features, y)
        return self

    def decision_function(self, features: np.ndarray) -> np.ndarray:
        return scores_2d(self.pipeline_.decision_function(features), self.n_classes_)

    def save(self, folder: Path) -> dict[str, Any]:
        save_skops(self.pipeline_, folder / "pipeline.skops")
        return {
            "C": self.C,
            "batch_size": self.batch_size,
            "random_state": self.random_state,
            "n_classes": self.n_classes_,
            "files": ["pipeline.skops"],
        }

    @classmethod
    def load(cls, folder: Path, info: dict[str, Any], **context: Any) -> EmbeddingMethod:
        m = cls(
            context["embedder"], C=info["C"], batch_size=info["batch_size"], random_state=info["random_state"]
        )
        m.pipeline_ = load_skops(folder / "pipeline.skops")
        m.n_classes_ = int(info["n_classes"])
        return m
