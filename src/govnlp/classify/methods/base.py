"""The contract every classification method implements, and helpers they share.

A method turns texts into raw scores ``(n, C)``: logits for single-label data (turned into
probabilities by softmax after temperature scaling) or per-label margins for multi-label data (turned
into probabilities by per-label Platt scaling). Calibration, thresholds and label names live in
:class:`govnlp.classify.TextClassifier`; a method only knows class indices.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from govnlp.errors import FormatError

__all__ = ["SKOPS_TYPES", "Method", "load_skops", "save_skops", "take"]

#: Every type a skops file saved by govnlp holds (the tfidf and embedding heads, single- and multi-label,
#: svm and logreg; tests/test_safety_skops.py checks that a fresh save of each needs nothing else). A type
#: that skops itself does not trust is loaded only if it is in this exact list: never by prefix, since
#: ``builtins.eval`` or ``numpy.testing._private.utils.runstring`` would run code from the file.
SKOPS_TYPES = frozenset(
    {
        "builtins.dict",
        "builtins.list",
        "builtins.slice",
        "builtins.str",
        "builtins.tuple",
        "numpy.float32",
        "numpy.float64",
        "numpy.ndarray",
        "sklearn.compose._column_transformer.ColumnTransformer",
        "sklearn.feature_extraction.text.TfidfTransformer",
        "sklearn.feature_extraction.text.TfidfVectorizer",
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.multiclass.OneVsRestClassifier",
        "sklearn.pipeline.Pipeline",
        "sklearn.preprocessing._data.StandardScaler",
        "sklearn.preprocessing._label.LabelBinarizer",
        "sklearn.svm._classes.LinearSVC",
    }
)


class Method(Protocol):
    """A classification method: features -> raw scores over class indices."""

    name: ClassVar[str]
    #: True when held-out scores for calibration come from cross-validation (cheap methods);
    #: False when the method keeps its own validation split (``validation_scores_``).
    cross_validate: ClassVar[bool]

    def prepare(self, texts: list[str]) -> Any:
        """Features of ``texts`` that can be subset with :func:`take` and reused across folds."""
        ...

    def fit(self, features: Any, y: np.ndarray, *, n_classes: int, multilabel: bool) -> Method:
        """Fit on features; ``y`` is ``(n,)`` class indices or an ``(n, C)`` indicator matrix."""
        ...

    def decision_function(self, features: Any) -> np.ndarray:
        """Raw scores of shape ``(n, n_classes)``."""
        ...

    def save(self, folder: Path) -> dict[str, Any]:
        """Write the fitted state into ``folder``; return JSON-able info for the manifest."""
        ...

    @classmethod
    def load(cls, folder: Path, info: dict[str, Any], **context: Any) -> Method:
        """Rebuild a fitted method from ``folder`` and the info :meth:`save` returned."""
        ...


def take(features: Any, idx: Sequence[int] | np.ndarray) -> Any:
    """Rows ``idx`` of features that are a list (texts) or an array (vectors)."""
    if isinstance(features, np.ndarray):
        return features[np.asarray(idx, dtype=np.int64)]
    return [features[i] for i in idx]


def scores_2d(scores: np.ndarray, n_classes: int) -> np.ndarray:
    """sklearn returns ``(n,)`` margins for two classes; make them ``(n, 2)`` logits."""
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim == 1:
        s = np.column_stack([np.zeros_like(s), s])
    if s.shape[1] != n_classes:
        raise ValueError(f"expected {n_classes} score columns, got {s.shape[1]}")
    return s


def save_skops(obj: Any, path: Path) -> None:
    """Persist a fitted scikit-learn object with skops (no pickle)."""
    import skops.io as sio

    sio.dump(obj, path)


def load_skops(path: Path) -> Any:
    """Load a skops file written by govnlp, refusing any type outside :data:`SKOPS_TYPES`.

    Raises:
        FormatError: the file is missing, is not a skops file (a pickle renamed, a damaged zip), or
            holds a type govnlp never saves (nothing from the file is constructed then).
    """
    import skops.io as sio

    if not path.is_file():
        raise FormatError(f"{path} is missing; the classifier folder is incomplete. Save it again.")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # skops raises zipfile, json, key and type errors on foreign files
        raise FormatError(
            f"{path} is not a skops file written by govnlp ({type(exc).__name__}: {exc}); pickles and "
            "other formats are never loaded. Train and save the classifier again with govnlp."
        ) from exc
    bad = sorted(set(untrusted) - SKOPS_TYPES)
    if bad:
        raise FormatError(
            f"{path} holds types govnlp never saves and will not load: {bad}. The file was not written "
            "by govnlp or was altered; load classifiers only from sources you trust, or train it again."
        )
    try:
        return sio.load(path, trusted=sorted(set(untrusted)))
    except Exception as exc:
        raise FormatError(
            f"{path} could not be loaded ({type(exc).__name__}: {exc}); save it again."
        ) from exc
