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

__all__ = ["Method", "load_skops", "save_skops", "take"]

# type-name prefixes a saved sklearn head may contain; anything else is refused at load time
_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.")


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
    """Load a skops file, trusting only scikit-learn / numpy / scipy types.

    Raises:
        FormatError: the file is missing or holds types outside those libraries.
    """
    import skops.io as sio

    if not path.is_file():
        raise FormatError(f"{path} is missing; the classifier folder is incomplete. Save it again.")
    untrusted = sio.get_untrusted_types(file=path)
    bad = [t for t in untrusted if not t.startswith(_TRUSTED_PREFIXES)]
    if bad:
        raise FormatError(
            f"{path} contains types govnlp does not trust: {bad}. Only scikit-learn, numpy and scipy "
            "objects are loaded; rebuild the classifier with govnlp."
        )
    return sio.load(path, trusted=untrusted)
