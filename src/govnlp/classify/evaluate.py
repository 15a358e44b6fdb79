"""Honest evaluation of a classifier: accuracy, macro-F1, per-class scores, confusion, calibration.

Example:
    >>> report = evaluate_classifier(clf, test_texts, test_labels)    # doctest: +SKIP
    >>> report.macro_f1, report.ece                                   # doctest: +SKIP
    >>> report.plot_confusion("confusion.png")                        # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from govnlp.classify.calibration import expected_calibration_error
from govnlp.classify.text import check_text_list
from govnlp.errors import ConfigError, missing_extra

__all__ = [
    "ClassScores",
    "ClassificationReport",
    "coverage_curve",
    "evaluate_classifier",
    "evaluate_predictions",
]

logger = logging.getLogger(__name__)

#: Coverages of the coverage/accuracy curve in a report.
COVERAGES = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)

_CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans CJK",
    "Noto Serif CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
    "AR PL UMing CN",
    "AR PL UKai CN",
    "Droid Sans Fallback",
)


@dataclass(frozen=True)
class ClassScores:
    """Precision, recall, F1 and support of one class."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "support": self.support,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClassScores:
        return cls(
            str(data["label"]),
            float(data["precision"]),
            float(data["recall"]),
            float(data["f1"]),
            int(data["support"]),
        )


@dataclass(frozen=True)
class ClassificationReport:
    """The result of :func:`evaluate_classifier`.

    Attributes:
        labels: the classes, in the order of ``per_class`` and of the confusion-matrix rows/columns.
        accuracy: share of texts whose prediction is exactly right (subset accuracy for multi-label).
        macro_f1: unweighted mean of the per-class F1.
        per_class: precision/recall/F1/support per class.
        confusion: ``confusion[i][j]`` = texts of class ``labels[i]`` predicted as ``labels[j]``
            (single-label; empty for multi-label).
        coverage: ``(coverage, abstain_below, accuracy)`` points: the accuracy when only the most
            confident share of texts is tagged and the rest is routed to a person (single-label with
            probabilities; see :func:`coverage_curve`).
        ece: expected calibration error of the predicted probabilities (15 bins).
        n: number of texts evaluated.
        multilabel: whether the data were multi-label.
    """

    labels: tuple[str, ...]
    accuracy: float
    macro_f1: float
    per_class: tuple[ClassScores, ...]
    confusion: tuple[tuple[int, ...], ...]
    ece: float
    n: int
    multilabel: bool = False
    coverage: tuple[tuple[float, float, float], ...] = ()

    def accuracy_at(self, coverage: float) -> float | None:
        """Accuracy on the ``coverage`` share of most confident texts (None without a curve point there)."""
        for c, _threshold, acc in self.coverage:
            if abs(c - coverage) < 1e-9:
                return acc
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels),
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "per_class": [c.to_dict() for c in self.per_class],
            "confusion": [list(r) for r in self.confusion],
            "ece": self.ece,
            "n": self.n,
            "multilabel": self.multilabel,
            "coverage": [list(c) for c in self.coverage],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClassificationReport:
        return cls(
            labels=tuple(data["labels"]),
            accuracy=float(data["accuracy"]),
            macro_f1=float(data["macro_f1"]),
            per_class=tuple(ClassScores.from_dict(c) for c in data["per_class"]),
            confusion=tuple(tuple(int(v) for v in r) for r in data["confusion"]),
            ece=float(data["ece"]),
            n=int(data["n"]),
            multilabel=bool(data.get("multilabel", False)),
            coverage=tuple((float(c), float(t), float(a)) for c, t, a in data.get("coverage", ())),
        )

    def summary(self) -> str:
        """A plain-text table of the scores."""
        width = max([len(lab) for lab in self.labels] + [5])
        lines = [
            f"n={self.n}  accuracy={self.accuracy:.4f}  macro-F1={self.macro_f1:.4f}  ECE={self.ece:.4f}",
            f"{'label':<{width}}  precision  recall  f1      support",
        ]
        for c in self.per_class:
            lines.append(f"{c.label:<{width}}  {c.precision:.4f}     {c.recall:.4f}  {c.f1:.4f}  {c.support}")
        if self.coverage:
            lines.append("coverage  abstain_below  accuracy   (the rest goes to a person)")
            lines.extend(f"{c:8.2f}  {t:13.4f}  {a:.4f}" for c, t, a in self.coverage)
        return "\n".join(lines)

    def plot_confusion(self, path: str | os.PathLike[str], *, normalize: bool = True) -> Path:
        """Write the confusion matrix as a PNG (matplotlib, Agg backend).

        If no installed font has Chinese glyphs, the axes show class indices and the index -> label key
        is written next to the PNG as ``<name>.labels.txt`` (and named in the title), instead of boxes
        and a stream of missing-glyph warnings.

        Returns:
            the PNG path.
        """
        if self.multilabel or not self.confusion:
            raise ConfigError(
                "plot_confusion needs a single-label report (multi-label reports have no confusion matrix)"
            )
        try:
            import matplotlib
        except ImportError:
            raise missing_extra("matplotlib", "plot", "ClassifierReport.plot_confusion") from None

        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        cm = np.asarray(self.confusion, dtype=np.float64)
        shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
        font = _cjk_font() if any(not lab.isascii() for lab in self.labels) else ""
        needs_key = font is None
        ticks = [str(i) for i in range(len(self.labels))] if needs_key else list(self.labels)
        size = max(4.0, 0.55 * len(self.labels) + 2.5)
        fig = Figure(figsize=(size + 1, size))
        ax = fig.add_subplot()
        im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        ax.set_xticks(range(len(ticks)))
        ax.set_yticks(range(len(ticks)))
        kw: dict[str, Any] = {"fontfamily": font} if font else {}
        ax.set_xticklabels(
            ticks, rotation=45 if not needs_key else 0, ha="right" if not needs_key else "center", **kw
        )
        ax.set_yticklabels(ticks, **kw)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        for i in range(cm.shape[0]):
            for j in range(cm.shape[1]):
                if cm[i, j]:
                    val = f"{shown[i, j]:.2f}" if normalize else str(int(cm[i, j]))
                    ax.text(
                        j,
                        i,
                        val,
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if shown[i, j] > 0.5 * shown.max() else "black",
                    )
        title = f"accuracy {self.accuracy:.3f}, macro-F1 {self.macro_f1:.3f}, n={self.n}"
        if needs_key:
            key_path = path.with_suffix(".labels.txt")
            key_path.write_text(
                "".join(f"{i}\t{lab}\n" for i, lab in enumerate(self.labels)), encoding="utf-8"
            )
            title += f"\nclass key: {key_path.name}"
            logger.info("no CJK font found; confusion axes show indices, key written to %s", key_path)
        ax.set_title(title, fontsize=9)
        fig.tight_layout()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # glyph warnings, if a listed font lacks one
            fig.savefig(path, dpi=120)
        return path


def _cjk_font() -> str | None:
    """The name of an installed font with Chinese glyphs, or None."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in _CJK_FONTS:
        if name in installed:
            return name
    for name in sorted(installed):
        if "CJK" in name or "Hei" in name or "Song" in name:
            return name
    return None


_ABSTAINED = "\x00abstained"


def coverage_curve(
    confidence: np.ndarray, correct: np.ndarray, coverages: Sequence[float] = COVERAGES
) -> tuple[tuple[float, float, float], ...]:
    """``(coverage, threshold, accuracy)`` when only the most confident share of texts is tagged.

    The rest would go to a person: at coverage 0.8 the 80 % most confident predictions are kept and
    ``threshold`` is the lowest top probability among them (pass it as ``abstain_below``).

    >>> coverage_curve(np.array([0.9, 0.8, 0.6, 0.3]), np.array([1, 1, 0, 1]), coverages=(1.0, 0.5))
    ((1.0, 0.3, 0.75), (0.5, 0.8, 1.0))
    """
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    if not len(confidence):
        return ()
    order = np.argsort(-confidence, kind="stable")
    out = []
    for c in coverages:
        k = max(1, round(c * len(order)))
        kept = order[:k]
        out.append((float(c), round(float(confidence[kept].min()), 6), round(float(correct[kept].mean()), 6)))
    return tuple(out)


def evaluate_predictions(
    y_true: Sequence[Any],
    y_pred: Sequence[Any],
    proba: np.ndarray | None = None,
    classes: Sequence[str] | None = None,
) -> ClassificationReport:
    """Score predictions (pure function; the counts are ``sklearn.metrics``').

    Args:
        y_true: true labels (str each; lists of str for multi-label).
        y_pred: predicted labels, same form (None counts as wrong).
        proba: optional ``(n, C)`` probabilities with columns in ``classes`` order, for the ECE and the
            coverage/accuracy curve.
        classes: the label order of ``proba`` and of the report (labels not in it are appended).
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support
    from sklearn.preprocessing import MultiLabelBinarizer

    y_true, y_pred = list(y_true), list(y_pred)
    if len(y_true) != len(y_pred):
        raise ConfigError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    multilabel = any(isinstance(y, (list, tuple, set)) for y in y_true)
    seen = [str(y) for ys in y_true for y in (ys if multilabel else [ys])]
    seen += [str(y) for ys in y_pred if ys is not None for y in (ys if multilabel else [ys])]
    labels = list(classes or [])
    labels += sorted(set(seen) - set(labels))
    n = len(y_true)
    confusion: tuple[tuple[int, ...], ...] = ()
    ece = 0.0
    curve: tuple[tuple[float, float, float], ...] = ()
    if multilabel:
        mlb = MultiLabelBinarizer(classes=labels)
        T = mlb.fit_transform([[str(v) for v in t] for t in y_true])
        P = mlb.transform([[str(v) for v in p] if p is not None else [] for p in y_pred])
        prec, rec, f1, support = precision_recall_fscore_support(T, P, zero_division=0)
        predicted = P.sum(0)
        accuracy = float(np.mean((T == P).all(axis=1))) if n else 0.0
        if proba is not None and classes is not None:
            k = len(classes)
            ece = expected_calibration_error(
                np.where(proba >= 0.5, proba, 1 - proba).ravel(),
                ((proba >= 0.5) == T[:, :k].astype(bool)).ravel(),
            )
    else:
        t = [str(v) for v in y_true]
        p = [_ABSTAINED if v is None else str(v) for v in y_pred]
        kw: dict[str, Any] = {"labels": labels, "zero_division": 0}
        prec, rec, f1, support = (
            precision_recall_fscore_support(t, p, **kw) if n else [np.zeros(len(labels))] * 4
        )
        cm = confusion_matrix(t, p, labels=labels) if n else np.zeros((len(labels), len(labels)), dtype=int)
        predicted = cm.sum(0)
        accuracy = float(np.mean([a == b for a, b in zip(t, p, strict=True)])) if n else 0.0
        confusion = tuple(tuple(int(v) for v in row) for row in cm)
        if proba is not None and classes is not None and n:
            pred_idx = proba.argmax(axis=1)
            correct = np.array([str(classes[j]) == str(t) for j, t in zip(pred_idx, y_true, strict=False)])
            ece = expected_calibration_error(proba.max(axis=1), correct)
            curve = coverage_curve(proba.max(axis=1), correct)
    per = tuple(
        ClassScores(
            lab, round(float(prec[j]), 6), round(float(rec[j]), 6), round(float(f1[j]), 6), int(support[j])
        )
        for j, lab in enumerate(labels)
    )
    present = (np.asarray(support) > 0) | (np.asarray(predicted) > 0)
    return ClassificationReport(
        labels=tuple(labels),
        accuracy=round(accuracy, 6),
        macro_f1=round(float(np.mean(np.asarray(f1)[present])) if present.any() else 0.0, 6),
        per_class=per,
        confusion=confusion,
        ece=round(float(ece), 6),
        n=n,
        multilabel=multilabel,
        coverage=curve,
    )


def evaluate_classifier(clf: Any, texts: Sequence[Any], labels: Sequence[Any]) -> ClassificationReport:
    """Evaluate a fitted classifier (anything with ``classes_``, ``predict_proba`` and ``predict``).

    Args:
        clf: a fitted :class:`TextClassifier` or :class:`ZeroShotClassifier`.
        texts: test texts (never seen in training): str, ProposalDocuments or proposal dicts.
        labels: their true labels.

    Returns:
        a :class:`ClassificationReport`; macro-F1 averages the classes present in the test labels or
        predictions.
    """
    if isinstance(texts, (str, bytes)):
        check_text_list(texts)  # raises: a bare str
    texts = list(texts)  # passed on as given: a zero-shot classifier reads proposals by their focus
    check_text_list(texts)
    labels = list(labels)
    if len(texts) != len(labels):
        raise ConfigError(f"got {len(texts)} texts but {len(labels)} labels")
    proba = clf.predict_proba(texts)
    classes = [str(c) for c in clf.classes_]
    if getattr(clf, "multilabel_", False):
        thresholds = clf.thresholds_
        pred: list[Any] = [tuple(classes[j] for j in np.flatnonzero(p >= thresholds)) for p in proba]
        labels = [[y] if isinstance(y, str) else list(y) for y in labels]
    else:
        pred = [classes[j] for j in proba.argmax(axis=1)] if len(proba) else []
    return evaluate_predictions(labels, pred, proba, classes)
