"""Zero-shot tagging for a cold start: rank labels by similarity to their descriptions.

Each label is represented by the embedding of its name, description and (optionally) keywords from a
:class:`Taxonomy`; a text gets the labels ranked by cosine similarity. Cosine scales differ between
models, so probabilities are a softmax of the similarities at a temperature that belongs to the model
(``temperature``); the ranking does not depend on it.

Example:
    >>> zs = ZeroShotClassifier(Taxonomy.load("messages"), embedder="hash").fit()   # doctest: +SKIP
    >>> zs.predict(["小区垃圾清运不及时，臭味扰民"])                                 # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from govnlp.classify.calibration import softmax
from govnlp.classify.taxonomy import Taxonomy
from govnlp.classify.text import check_text_list, normalize_text
from govnlp.errors import ConfigError

if TYPE_CHECKING:
    from govnlp.embedders.base import Embedder

__all__ = ["ZeroShotClassifier"]


class ZeroShotClassifier:
    """Label texts without training data, from the label descriptions of a taxonomy.

    Args:
        taxonomy: a :class:`Taxonomy` or built-in name; all its labels are candidates unless ``level``.
        embedder: None (the default model), a spec for ``load_embedder`` or an Embedder.
        level: only the labels of this tree level (1 = top level); None = all labels.
        keywords: include the keywords in the label texts.
        temperature: softmax temperature over cosine similarities (model-specific).
        batch_size: encoding batch size.
        show_progress_bar: passed to ``encode``.
    """

    def __init__(
        self,
        taxonomy: Taxonomy | str,
        *,
        embedder: str | Embedder | None = None,
        level: int | None = None,
        keywords: bool = True,
        temperature: float = 0.02,
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
    ) -> None:
        self.taxonomy = taxonomy
        self.embedder = embedder
        self.level = level
        self.keywords = keywords
        self.temperature = temperature
        self.batch_size = batch_size
        self.show_progress_bar = show_progress_bar

    def fit(
        self, texts: Sequence[str] | None = None, labels: Sequence[Any] | None = None
    ) -> ZeroShotClassifier:
        """Embed the label descriptions. ``texts``/``labels`` are ignored (zero-shot); returns self."""
        from govnlp.embedders import load_embedder

        tax = Taxonomy.load(self.taxonomy) if isinstance(self.taxonomy, str) else self.taxonomy
        if not isinstance(tax, Taxonomy):
            raise ConfigError(f"taxonomy must be a Taxonomy or a built-in name, got {type(tax).__name__}")
        emb = self.embedder
        if emb is None or isinstance(emb, (str, os.PathLike)):
            emb = load_embedder(None if emb is None else str(emb))
        labels = tax.labels if self.level is None else tax.labels_at_level(self.level)
        if not labels:
            raise ConfigError(f"taxonomy {tax.name!r} has no labels at level {self.level}")
        self.taxonomy_ = tax
        self.embedder_ = emb
        self.classes_ = np.array(labels, dtype=object)
        self.label_texts_ = [tax.describe(lab, keywords=self.keywords) for lab in labels]
        self.label_vectors_ = emb.encode(self.label_texts_, kind="query", batch_size=self.batch_size)
        return self

    def similarities(self, texts: Sequence[str]) -> np.ndarray:
        """Cosine similarities ``(n, n_labels)`` between texts and label descriptions."""
        if not hasattr(self, "classes_"):
            self.fit()
        texts = check_text_list(texts)
        vecs = self.embedder_.encode(
            [normalize_text(t) for t in texts],
            kind="query",
            batch_size=self.batch_size,
            show_progress_bar=self.show_progress_bar,
        )
        return vecs @ self.label_vectors_.T

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Softmax of the similarities at ``temperature``; rows sum to 1, columns in ``classes_`` order."""
        return softmax(self.similarities(texts) / self.temperature)

    def predict(self, texts: Sequence[str], *, abstain_below: float | None = None) -> np.ndarray:
        """The most similar label per text (None where the top probability is below ``abstain_below``)."""
        proba = self.predict_proba(texts)
        out = self.classes_[proba.argmax(axis=1)].astype(object) if len(proba) else np.array([], dtype=object)
        if abstain_below is not None:
            out[proba.max(axis=1) < abstain_below] = None
        return out

    def rank(self, texts: Sequence[str], k: int = 3) -> list[list[tuple[str, float]]]:
        """The ``k`` most similar labels per text with their cosine similarity, best first."""
        sims = self.similarities(texts)
        order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        return [
            [(str(self.classes_[j]), float(s[j])) for j in row] for s, row in zip(sims, order, strict=False)
        ]
