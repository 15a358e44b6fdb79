"""``TextClassifier``: trainable category tagging with calibrated probabilities.

Example:
    >>> clf = TextClassifier("tfidf", random_state=0).fit(texts, labels)   # doctest: +SKIP
    >>> clf.predict(["小区物业乱收费，停车难"], abstain_below=0.6)          # doctest: +SKIP
    array(['城乡建设'], dtype=object)
    >>> clf.save("models/message-tagger")                                    # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from govnlp.classify.calibration import (
    Calibrator,
    expected_calibration_error,
    fit_calibrator,
    tune_thresholds,
)
from govnlp.classify.methods import method_class, parse_method
from govnlp.classify.taxonomy import Taxonomy
from govnlp.classify.text import check_text_list
from govnlp.errors import ConfigError, FormatError
from govnlp.storage import atomic_folder, consistent_load, read_manifest, write_manifest

if TYPE_CHECKING:
    from govnlp.embedders.base import Embedder

__all__ = ["FORMAT", "FORMAT_VERSION", "TextClassifier", "dataset_columns"]

logger = logging.getLogger(__name__)

FORMAT = "classifier"
FORMAT_VERSION = 1


def _is_multilabel(labels: Sequence[Any]) -> bool:
    return any(isinstance(y, (list, tuple, set, frozenset, np.ndarray)) for y in labels)


class TextClassifier(ClassifierMixin, BaseEstimator):
    """Tag texts with categories; scikit-learn conventions (``fit`` returns self, ``classes_``...).

    Args:
        method: ``"tfidf"`` (default: jieba word + character n-gram TF-IDF + logistic regression), ``"embedding"`` (embedder +
            standardisation + logistic regression), ``"finetune"`` (fine-tuned transformer encoder),
            ``"ensemble"`` (= ``"tfidf+embedding"``) or any ``+``-joined list of methods, whose
            calibrated probabilities are averaged.
        embedder: for embedding-based members: None (the default model), a spec string for
            :func:`govnlp.embedders.load_embedder` (``"hash"``, a folder path...) or an Embedder.
        taxonomy: None, a :class:`Taxonomy` or a built-in taxonomy name; training labels are validated
            against it and ``classes_`` follow its order.
        multilabel: ``"auto"`` (multi-label when labels are lists), True or False.
        calibration_folds: folds of the cross-validation that gives held-out scores for calibration and
            for multi-label thresholds (methods with their own validation split, like ``finetune``, use it).
        method_params: keyword arguments of the method, or ``{method_name: {...}}`` for ensembles, e.g.
            ``{"C": 1.0}`` or ``{"finetune": {"epochs": 2}}``.
        random_state: seed for folds, solvers and fine-tuning.
        show_progress_bar: progress bars while embedding and fine-tuning (None: at INFO log level).

    Attributes:
        classes_: the labels, in the column order of :meth:`predict_proba`.
        thresholds_: per-label decision thresholds (multi-label only).
        training_metrics_: held-out accuracy, macro-F1 and ECE measured while fitting, sizes and times.
    """

    def __init__(
        self,
        method: str = "tfidf",
        *,
        embedder: str | Embedder | None = None,
        taxonomy: Taxonomy | str | None = None,
        multilabel: bool | str = "auto",
        calibration_folds: int = 3,
        method_params: dict[str, Any] | None = None,
        random_state: int | None = None,
        show_progress_bar: bool | None = None,
    ) -> None:
        self.method = method
        self.embedder = embedder
        self.taxonomy = taxonomy
        self.multilabel = multilabel
        self.calibration_folds = calibration_folds
        self.method_params = method_params
        self.random_state = random_state
        self.show_progress_bar = show_progress_bar

    # --- construction helpers -----------------------------------------------------------------------

    def _taxonomy(self) -> Taxonomy | None:
        if self.taxonomy is None or isinstance(self.taxonomy, Taxonomy):
            return self.taxonomy
        if isinstance(self.taxonomy, str):
            return Taxonomy.load(self.taxonomy)
        raise ConfigError(
            f"taxonomy must be a Taxonomy, a built-in name or None, got {type(self.taxonomy).__name__}"
        )

    def _params_for(self, name: str, members: tuple[str, ...]) -> dict[str, Any]:
        params = dict(self.method_params or {})
        if params and set(params) <= {"tfidf", "embedding", "finetune"}:
            return dict(params.get(name, {}))
        if params and len(members) > 1:
            raise ConfigError(
                f"method_params for the ensemble {self.method!r} must be keyed by member name, e.g. "
                "{'tfidf': {...}, 'embedding': {...}}"
            )
        return params

    def _resolve_embedder(self) -> tuple[Embedder, str | None]:
        from govnlp.embedders import load_embedder

        if self.embedder is None or isinstance(self.embedder, (str, os.PathLike)):
            spec = None if self.embedder is None else str(self.embedder)
            return load_embedder(spec), spec
        return self.embedder, None

    def _new_method(self, name: str, members: tuple[str, ...], embedder: Embedder | None) -> Any:
        cls = method_class(name)
        params = self._params_for(name, members)
        params.setdefault("random_state", self.random_state)
        if name in ("embedding", "finetune"):
            params.setdefault("show_progress_bar", self.show_progress_bar)
        if name == "embedding":
            return cls(embedder, **params)
        return cls(**params)

    # --- fitting ------------------------------------------------------------------------------------

    def fit(self, texts: Sequence[Any], labels: Sequence[Any]) -> TextClassifier:
        """Fit on texts and their labels (a str each, or a list of str each for multi-label data).

        Returns:
            self.

        Raises:
            TypeError: ``texts`` is a bare str.
            ConfigError: lengths differ, fewer than two classes, or a bad method.
            TaxonomyError: labels outside the given taxonomy.
        """
        t0 = time.perf_counter()
        texts = check_text_list(texts)
        if isinstance(labels, str):
            raise TypeError("labels must be a list (one label per text), got a single str")
        labels = list(labels)
        if len(texts) != len(labels):
            raise ConfigError(f"got {len(texts)} texts but {len(labels)} labels; pass one label per text")
        multilabel = _is_multilabel(labels) if self.multilabel == "auto" else bool(self.multilabel)
        if multilabel:
            labels = [[y] if isinstance(y, str) else list(y) for y in labels]
        elif any(y is None for y in labels):
            raise ConfigError("labels contain None; drop unlabelled rows before fitting")
        taxonomy = self._taxonomy()
        if taxonomy is not None:
            taxonomy.validate(labels)
        seen = {y for ys in labels for y in ys} if multilabel else set(labels)
        if taxonomy is not None:
            classes = [lab for lab in taxonomy.labels if lab in seen]
        else:
            classes = sorted(seen, key=str)
        if len(classes) < 2:
            raise ConfigError(f"need at least 2 classes to train a classifier, found {classes}")
        index = {c: i for i, c in enumerate(classes)}
        if multilabel:
            y = np.zeros((len(labels), len(classes)), dtype=np.int64)
            for i, ys in enumerate(labels):
                for lab in ys:
                    y[i, index[lab]] = 1
        else:
            y = np.array([index[lab] for lab in labels], dtype=np.int64)

        members = parse_method(self.method)
        embedder: Embedder | None = None
        spec: str | None = None
        if "embedding" in members:
            embedder, spec = self._resolve_embedder()

        n = len(texts)
        heldout: list[tuple[np.ndarray, np.ndarray]] = []  # (row indices, raw scores) per member
        fitted: list[Any] = []
        for name in members:
            method = self._new_method(name, members, embedder)
            features = method.prepare(texts)
            if method.cross_validate:
                rows, scores = self._oof_scores(
                    name, members, embedder, features, y, len(classes), multilabel
                )
            fitted.append(method.fit(features, y, n_classes=len(classes), multilabel=multilabel))
            if not method.cross_validate:
                rows, scores = method.validation_indices_, method.validation_scores_
            heldout.append((rows, scores))

        calibrators = []
        for rows, scores in heldout:
            if len(rows) >= 2:
                calibrators.append(fit_calibrator(scores, y[rows], multilabel=multilabel))
            else:
                logger.warning("too little data for held-out calibration; probabilities are uncalibrated")
                calibrators.append(Calibrator("platt" if multilabel else "temperature"))
        common = heldout[0][0]
        for rows, _ in heldout[1:]:
            common = np.intersect1d(common, rows)
        proba_h = np.zeros((len(common), len(classes)))
        for (rows, scores), cal in zip(heldout, calibrators, strict=False):
            pos = np.searchsorted(rows, common)
            proba_h += cal.transform(scores[pos])
        proba_h /= len(heldout)

        self.classes_ = np.array(classes, dtype=object)
        self.multilabel_ = multilabel
        self.members_ = fitted
        self.member_names_ = members
        self.calibrators_ = calibrators
        self.embedder_ = embedder
        self.embedder_spec_ = spec
        self.taxonomy_ = taxonomy
        self.thresholds_ = (
            tune_thresholds(proba_h, y[common]) if multilabel and len(common) else np.full(len(classes), 0.5)
        )
        self.training_metrics_ = _heldout_metrics(proba_h, y[common], multilabel, self.thresholds_)
        self.training_metrics_.update(
            {
                "n_train": n,
                "class_counts": {
                    str(c): int(v)
                    for c, v in zip(
                        classes,
                        (y.sum(0) if multilabel else np.bincount(y, minlength=len(classes))),
                        strict=False,
                    )
                },
                "fit_seconds": round(time.perf_counter() - t0, 3),
            }
        )
        return self

    def _oof_scores(
        self,
        name: str,
        members: tuple[str, ...],
        embedder: Embedder | None,
        features: Any,
        y: np.ndarray,
        n_classes: int,
        multilabel: bool,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Out-of-fold raw scores of a cheap method (rows with a held-out score, sorted; scores).

        ``sklearn.model_selection.cross_val_predict`` over stratified folds (plain folds for multi-label
        data), with as many folds as the rarest class allows (at most ``calibration_folds``).
        """
        from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict

        n = len(y)
        if multilabel:
            folds = min(self.calibration_folds, n // 2)
            splitter: Any = KFold(folds, shuffle=True, random_state=self.random_state) if folds >= 2 else None
        else:
            # every class has at least `folds` rows, so every training fold sees every class
            folds = min(self.calibration_folds, int(np.bincount(y).min()))
            splitter = (
                StratifiedKFold(folds, shuffle=True, random_state=self.random_state) if folds >= 2 else None
            )
        if splitter is None:
            return np.arange(0), np.zeros((0, n_classes))
        est = _MethodEstimator(lambda: self._new_method(name, members, embedder), n_classes, multilabel)
        scores = cross_val_predict(est, features, y, cv=splitter, method="decision_function")
        return np.arange(n), np.asarray(scores, dtype=np.float64).reshape(n, n_classes)

    def fit_dataset(
        self,
        dataset: Any,
        *,
        text_column: str = "text",
        label_column: str = "label",
        title_column: str | None = None,
    ) -> TextClassifier:
        """Fit on a Hugging Face ``datasets.Dataset``.

        ``ClassLabel`` columns (and sequences of them, for multi-label data) are mapped to their names.
        With ``title_column`` (e.g. ``"title"`` for proposals) each row is read as title, newline, text.

        Raises:
            ConfigError: a named column is missing (the message lists the dataset's columns).
        """
        texts, labels = dataset_columns(dataset, text_column, label_column)
        if title_column is not None:
            from govnlp.classify.text import document_text

            titles, _ = dataset_columns(dataset, title_column, label_column)
            texts = [
                document_text({"title": t or "", "text": x or ""}) for t, x in zip(titles, texts, strict=True)
            ]
        return self.fit(texts, labels)

    @classmethod
    def from_dataset(
        cls, dataset: Any, *, text_column: str = "text", label_column: str = "label", **params: Any
    ) -> TextClassifier:
        """Build a classifier with ``params`` and fit it on a ``datasets.Dataset``."""
        return cls(**params).fit_dataset(dataset, text_column=text_column, label_column=label_column)

    @classmethod
    def combine(cls, classifiers: Sequence[TextClassifier]) -> TextClassifier:
        """An ensemble of fitted single-label classifiers that averages their calibrated probabilities.

        Use it when the members need different training data, e.g. a TF-IDF member that also learns
        from token-only rows that an embedding member cannot use. The members must share ``classes_``
        (same order) and at most one embedder fingerprint. The result saves and loads like any
        TextClassifier.

        Raises:
            ConfigError: fewer than two classifiers, unfitted or multi-label ones, or different classes.
        """
        clfs = list(classifiers)
        if len(clfs) < 2:
            raise ConfigError(f"combine needs at least 2 fitted classifiers, got {len(clfs)}")
        for c in clfs:
            c._check_fitted()
            if c.multilabel_:
                raise ConfigError(
                    "combine supports single-label classifiers only (thresholds would not carry over)"
                )
            if list(c.classes_) != list(clfs[0].classes_):
                raise ConfigError(
                    f"cannot combine classifiers with different classes: {list(clfs[0].classes_)} vs "
                    f"{list(c.classes_)}; train them on the same label set"
                )
        embedders = {c.embedder_.fingerprint(): c for c in clfs if c.embedder_ is not None}
        if len(embedders) > 1:
            raise ConfigError("cannot combine classifiers built with different embedders")
        names = tuple(n for c in clfs for n in c.member_names_)
        if len(set(names)) != len(names):
            raise ConfigError(f"combined members must be distinct methods, got {names}")
        with_emb = next(iter(embedders.values()), None)
        out = cls(
            "+".join(names),
            embedder=with_emb.embedder if with_emb is not None else None,
            taxonomy=clfs[0].taxonomy_,
            random_state=clfs[0].random_state,
        )
        out.classes_ = clfs[0].classes_.copy()
        out.multilabel_ = False
        out.members_ = [m for c in clfs for m in c.members_]
        out.member_names_ = names
        out.calibrators_ = [k for c in clfs for k in c.calibrators_]
        out.embedder_ = with_emb.embedder_ if with_emb is not None else None
        out.embedder_spec_ = with_emb.embedder_spec_ if with_emb is not None else None
        out.taxonomy_ = clfs[0].taxonomy_
        out.thresholds_ = np.full(len(out.classes_), 0.5)
        out.training_metrics_ = {"combined_from": [dict(c.training_metrics_, method=c.method) for c in clfs]}
        return out

    # --- prediction ---------------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "classes_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(
                "this TextClassifier is not fitted yet; call fit(texts, labels) or load(path)"
            )

    def predict_proba(self, texts: Sequence[Any]) -> np.ndarray:
        """Calibrated probabilities, shape ``(n, len(classes_))``, columns in ``classes_`` order.

        Single-label rows sum to 1; multi-label columns are independent per-label probabilities.
        """
        self._check_fitted()
        texts = check_text_list(texts)
        if not texts:
            return np.zeros((0, len(self.classes_)))
        proba = np.zeros((len(texts), len(self.classes_)))
        for method, cal in zip(self.members_, self.calibrators_, strict=False):
            proba += cal.transform(method.decision_function(method.prepare(texts)))
        return proba / len(self.members_)

    def predict(self, texts: Sequence[Any], *, abstain_below: float | None = None) -> Any:
        """Predicted labels.

        Args:
            texts: the texts to tag.
            abstain_below: when given, a text whose top probability is below it gets None (route it to
                a person).

        Returns:
            single-label: an object array of labels (or None); multi-label: a list with a tuple of the
            labels above their thresholds for each text (or None).
        """
        proba = self.predict_proba(texts)
        if abstain_below is not None and not 0.0 <= abstain_below <= 1.0:
            raise ConfigError(f"abstain_below must be a probability in [0, 1], got {abstain_below}")
        top = proba.max(axis=1) if len(proba) else np.zeros(0)
        abstain = top < abstain_below if abstain_below is not None else np.zeros(len(proba), dtype=bool)
        if self.multilabel_:
            return [
                None if a else tuple(self.classes_[j] for j in np.flatnonzero(p >= self.thresholds_))
                for p, a in zip(proba, abstain, strict=False)
            ]
        out = self.classes_[proba.argmax(axis=1)] if len(proba) else np.array([], dtype=object)
        out = out.astype(object)
        out[abstain] = None
        return out

    # --- persistence --------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save as a folder: ``manifest.json`` + one sub-folder per member (skops heads / safetensors).

        The folder is written to a temporary sibling and renamed into place, so an interrupted save never
        leaves a folder that loads. Returns the path.
        """
        self._check_fitted()
        path = Path(path)
        with atomic_folder(path) as tmp:
            members = []
            for i, (name, method, cal) in enumerate(
                zip(self.member_names_, self.members_, self.calibrators_, strict=False)
            ):
                sub = tmp / f"member{i}"
                sub.mkdir()
                members.append(
                    {
                        "method": name,
                        "folder": sub.name,
                        "info": method.save(sub),
                        "calibration": cal.to_dict(),
                    }
                )
            emb = None
            if self.embedder_ is not None:
                emb = {
                    "name": self.embedder_.name,
                    "dim": int(self.embedder_.dim),
                    "fingerprint": self.embedder_.fingerprint(),
                    "spec": self.embedder_spec_,
                }
            write_manifest(
                tmp,
                FORMAT,
                FORMAT_VERSION,
                method=self.method,
                members=members,
                classes=[str(c) for c in self.classes_],
                multilabel=bool(self.multilabel_),
                thresholds=[float(t) for t in self.thresholds_],
                taxonomy=self.taxonomy_.to_dict() if self.taxonomy_ is not None else None,
                embedder=emb,
                training_metrics=self.training_metrics_,
                params={"calibration_folds": self.calibration_folds, "random_state": self.random_state},
            )
        return path

    @classmethod
    @consistent_load
    def load(cls, path: str | os.PathLike[str], *, embedder: str | Embedder | None = None) -> TextClassifier:
        """Load a folder written by :meth:`save`.

        Args:
            path: the folder.
            embedder: for classifiers with an embedding member: None loads the recorded embedder spec
                (the default model when none was recorded); a spec or Embedder is checked against the
                recorded fingerprint.

        Raises:
            FormatError: not a saved classifier, an interrupted save, or a newer format.
            EmbedderMismatchError: ``embedder`` is not the one the classifier was trained with.
        """
        path = Path(path)
        manifest = read_manifest(path, FORMAT, FORMAT_VERSION)
        try:
            emb_info = manifest["embedder"]
            members_info = manifest["members"]
            classes = manifest["classes"]
        except KeyError as exc:
            raise FormatError(f"{path}/manifest.json lacks {exc}; save the classifier again") from exc
        emb: Embedder | None = None
        if emb_info is not None:
            from govnlp.embedders import load_embedder
            from govnlp.embedders.base import check_fingerprint

            if embedder is None or isinstance(embedder, (str, os.PathLike)):
                emb = load_embedder(emb_info["spec"] if embedder is None else str(embedder))
            else:
                emb = embedder
            check_fingerprint(
                emb_info["name"], emb_info["fingerprint"], emb, what=f"the classifier in {path}"
            )
        taxonomy = Taxonomy.from_dict(manifest["taxonomy"]) if manifest.get("taxonomy") else None
        params = manifest.get("params", {})
        clf = cls(
            manifest["method"],
            embedder=emb_info["spec"] if emb_info else None,
            taxonomy=taxonomy,
            multilabel=bool(manifest["multilabel"]),
            calibration_folds=int(params.get("calibration_folds", 3)),
            random_state=params.get("random_state"),
        )
        members, names, cals = [], [], []
        for m in members_info:
            names.append(m["method"])
            sub = str(m["folder"])
            if not sub or sub in (".", "..") or Path(sub).name != sub or "\\" in sub:
                raise FormatError(
                    f"{path}/manifest.json names member folder {sub!r}, which is not a plain sub-folder "
                    "name; a classifier only reads inside its own folder. Save the classifier again."
                )
            members.append(method_class(m["method"]).load(path / sub, m["info"], embedder=emb))
            cals.append(Calibrator.from_dict(m["calibration"]))
        clf.classes_ = np.array(classes, dtype=object)
        clf.multilabel_ = bool(manifest["multilabel"])
        clf.members_ = members
        clf.member_names_ = tuple(names)
        clf.calibrators_ = cals
        clf.embedder_ = emb
        clf.embedder_spec_ = emb_info["spec"] if emb_info else None
        clf.taxonomy_ = taxonomy
        clf.thresholds_ = np.asarray(manifest["thresholds"], dtype=np.float64)
        clf.training_metrics_ = manifest.get("training_metrics", {})
        if len(clf.thresholds_) != len(classes):
            raise FormatError(
                f"{path}: {len(classes)} classes but {len(clf.thresholds_)} thresholds; save it again"
            )
        return clf


class _MethodEstimator(BaseEstimator):
    """A classification method seen as an sklearn estimator, for ``cross_val_predict``."""

    def __init__(self, factory: Any, n_classes: int, multilabel: bool) -> None:
        self.factory = factory
        self.n_classes = n_classes
        self.multilabel = multilabel

    def fit(self, features: Any, y: np.ndarray) -> _MethodEstimator:
        self.method_ = self.factory().fit(features, y, n_classes=self.n_classes, multilabel=self.multilabel)
        self.classes_ = np.arange(self.n_classes)
        return self

    def decision_function(self, features: Any) -> np.ndarray:
        return np.asarray(self.method_.decision_function(features))

    def predict(self, features: Any) -> np.ndarray:
        scores = self.decision_function(features)
        return (scores > 0).astype(int) if self.multilabel else scores.argmax(axis=1)


def dataset_columns(dataset: Any, text_column: str, label_column: str) -> tuple[list[str], list[Any]]:
    """Texts and labels (ClassLabel ids mapped to names) from a ``datasets.Dataset``."""
    columns = list(getattr(dataset, "column_names", None) or [])
    missing = [c for c in (text_column, label_column) if c not in columns]
    if missing:
        raise ConfigError(
            f"the dataset has no column(s) {missing}; its columns are {columns}. "
            "Pass text_column= and label_column= naming the text and label columns."
        )
    texts = list(dataset[text_column])
    labels = list(dataset[label_column])
    feature = dataset.features.get(label_column) if hasattr(dataset, "features") else None
    names = getattr(feature, "names", None)
    inner = getattr(feature, "feature", None)
    if isinstance(feature, list) and feature:  # datasets' list-of-feature form
        inner = feature[0]
    inner_names = getattr(inner, "names", None)
    if names is not None:
        labels = [names[y] if isinstance(y, (int, np.integer)) else y for y in labels]
    elif inner_names is not None:
        labels = [[inner_names[v] if isinstance(v, (int, np.integer)) else v for v in ys] for ys in labels]
    return texts, labels


def _heldout_metrics(
    proba: np.ndarray, y: np.ndarray, multilabel: bool, thresholds: np.ndarray
) -> dict[str, Any]:
    """Accuracy, macro-F1 and ECE of held-out (out-of-fold or validation) predictions."""
    from sklearn.metrics import accuracy_score, f1_score

    if len(y) == 0:
        return {"heldout_rows": 0}
    if multilabel:
        pred = (proba >= thresholds).astype(int)
        ece = expected_calibration_error(proba.ravel(), y.ravel())
        return {
            "heldout_rows": len(y),
            "heldout_subset_accuracy": round(float(accuracy_score(y, pred)), 4),
            "heldout_macro_f1": round(float(f1_score(y, pred, average="macro", zero_division=0)), 4),
            "heldout_ece": round(ece, 4),
        }
    pred = proba.argmax(axis=1)
    ece = expected_calibration_error(proba.max(axis=1), pred == y)
    return {
        "heldout_rows": len(y),
        "heldout_accuracy": round(float(accuracy_score(y, pred)), 4),
        "heldout_macro_f1": round(float(f1_score(y, pred, average="macro", zero_division=0)), 4),
        "heldout_ece": round(ece, 4),
    }
