"""Zero-shot tagging for a cold start: rank labels by similarity to their descriptions.

Each label is represented by the embedding of its name, description and (optionally) keywords from a
:class:`Taxonomy`; bare label names are first described from govnlp's glossary of common category names
(:meth:`Taxonomy.expanded`). A proposal (a ``ProposalDocument`` or a dict with a title) is represented by
its focus (:func:`~govnlp.classify.text.focus_text`: the title and the suggestions, at most
``focus_chars``), so it costs one short model window, not one per 512 tokens; plain strings are embedded
whole (``focus=True`` focuses them too). Labels get ranked by cosine similarity; probabilities are a softmax
of the similarities at a temperature that belongs to the model (``temperature``).

A handful of labelled examples per class turns it into a nearest-prototype classifier:
``fit(texts, labels)`` moves each label's vector towards the mean of its examples.

Example:
    >>> zs = ZeroShotClassifier(Taxonomy.from_labels(["农林水利", "教育事业"])).fit()   # doctest: +SKIP
    >>> zs.predict(["关于加强高标准农田水利建设的建议"])                               # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np

from govnlp.classify.calibration import softmax
from govnlp.classify.taxonomy import Taxonomy
from govnlp.classify.text import FOCUS_CHARS, check_text_list, document_text, focus_text, normalize_text
from govnlp.errors import ConfigError

if TYPE_CHECKING:
    from govnlp.embedders.base import Embedder

__all__ = ["ZeroShotClassifier"]

_KINDS = ("query", "passage")
_Kind = Literal["query", "passage"]


class ZeroShotClassifier:
    """Label texts without training data, from the label descriptions of a taxonomy.

    Args:
        taxonomy: a :class:`Taxonomy` or built-in name; all its labels are candidates unless ``level``.
        embedder: None (the default model), a spec for ``load_embedder`` or an Embedder.
        level: only the labels of this tree level (1 = top level); None = all labels.
        keywords: include the keywords in the label texts.
        expand: describe bare label names from govnlp's glossary (:meth:`Taxonomy.expanded`).
        focus: ``"auto"`` (default): proposals (ProposalDocuments, dicts with a title) are cut to their focus,
            plain strings are embedded whole (the focus cost citizen messages accuracy: 0.692 vs 0.733 on
            120 messages over 400 characters); True: every text longer than ``focus_chars``; False: none.
            On the Jiangsu proposals' time split the whole text (``focus=False``, all 512-token windows)
            scored macro-F1 0.647 against 0.515 for the focus, at about six times the encoding time
            (2.9 vs 0.46 s per proposal on a busy 2-core machine): the accurate, slow choice.
        focus_chars: the focus's length. 200 measured as good as 400 on the Jiangsu time split (macro-F1
            0.515 vs 0.521) at half the encoding time.
        label_kind, text_kind: the e5 prompt each side is encoded with (``"query"``/``"passage"``).
        example_weight: in ``fit(texts, labels)``, the weight of a label's mean example vector against its
            description's; None (default) gives ``n / (n + 2)`` for a label with ``n`` examples, so one
            example counts a third and many count nearly as much as the description.
            ``benchmarks/bench_classify.py --proposals`` measured fixed weights 0.25 / 0.5 / 1.0 on the
            Jiangsu time split: best 0.25 with one example per class, 0.5 with three, 1.0 with five.
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
        expand: bool = True,
        focus: bool | str = "auto",
        focus_chars: int = FOCUS_CHARS,
        label_kind: str = "query",
        text_kind: str = "query",
        example_weight: float | None = None,
        temperature: float = 0.02,
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
    ) -> None:
        self.taxonomy = taxonomy
        self.embedder = embedder
        self.level = level
        self.keywords = keywords
        self.expand = expand
        self.focus = focus
        self.focus_chars = focus_chars
        self.label_kind = label_kind
        self.text_kind = text_kind
        self.example_weight = example_weight
        self.temperature = temperature
        self.batch_size = batch_size
        self.show_progress_bar = show_progress_bar

    def fit(
        self, texts: Sequence[Any] | None = None, labels: Sequence[Any] | None = None
    ) -> ZeroShotClassifier:
        """Embed the label descriptions; with ``texts`` and ``labels`` (a few per class), add their examples.

        Returns:
            self.

        Raises:
            ConfigError: a bad taxonomy or prompt kind, only one of texts/labels, or lengths that differ.
            TaxonomyError: a label outside the taxonomy.
        """
        from govnlp.embedders import load_embedder

        if self.label_kind not in _KINDS or self.text_kind not in _KINDS:
            raise ConfigError(
                f"label_kind and text_kind must be 'query' or 'passage', got {self.label_kind!r}, "
                f"{self.text_kind!r}"
            )
        tax = Taxonomy.load(self.taxonomy) if isinstance(self.taxonomy, str) else self.taxonomy
        if not isinstance(tax, Taxonomy):
            raise ConfigError(f"taxonomy must be a Taxonomy or a built-in name, got {type(tax).__name__}")
        if self.expand:
            tax = tax.expanded()
        emb = self.embedder
        if emb is None or isinstance(emb, (str, os.PathLike)):
            emb = load_embedder(None if emb is None else str(emb))
        classes = tax.labels if self.level is None else tax.labels_at_level(self.level)
        if not classes:
            raise ConfigError(f"taxonomy {tax.name!r} has no labels at level {self.level}")
        self.taxonomy_ = tax
        self.embedder_ = emb
        self.classes_ = np.array(classes, dtype=object)
        self.label_texts_ = [tax.describe(lab, keywords=self.keywords) for lab in classes]
        vecs = np.asarray(
            emb.encode(self.label_texts_, kind=cast(_Kind, self.label_kind), batch_size=self.batch_size)
        )
        if (texts is None) != (labels is None):
            raise ConfigError("pass both texts and labels (a few examples per class), or neither")
        self.n_examples_ = np.zeros(len(classes), dtype=np.int64)
        if texts is not None and labels is not None:
            vecs = self._add_examples(vecs, tax, texts, labels)
        self.label_vectors_ = vecs / np.linalg.norm(vecs, axis=1, keepdims=True).clip(1e-12)
        return self

    def _add_examples(
        self, vecs: np.ndarray, tax: Taxonomy, texts: Sequence[Any], labels: Sequence[Any]
    ) -> np.ndarray:
        texts = list(texts)
        check_text_list(texts)
        labels = list(labels)
        if len(texts) != len(labels):
            raise ConfigError(f"got {len(texts)} texts but {len(labels)} labels; pass one label per text")
        tax.validate(labels)
        index = {c: i for i, c in enumerate(self.classes_)}
        ex = self._encode(texts)
        vecs = vecs.copy()
        for j in range(len(self.classes_)):
            rows = [i for i, y in enumerate(labels) if index.get(y) == j]
            if rows:
                mean = ex[rows].mean(axis=0)
                w = len(rows) / (len(rows) + 2) if self.example_weight is None else self.example_weight
                vecs[j] = vecs[j] / max(float(np.linalg.norm(vecs[j])), 1e-12) + w * mean / max(
                    float(np.linalg.norm(mean)), 1e-12
                )
                self.n_examples_[j] = len(rows)
        return vecs

    def _encode(self, items: list[Any]) -> np.ndarray:
        if self.focus not in ("auto", True, False):
            raise ConfigError(f"focus must be 'auto', True or False, got {self.focus!r}")
        texts = [
            focus_text(x, self.focus_chars)
            if self.focus is True or (self.focus == "auto" and _is_proposal(x))
            else document_text(x)
            for x in items
        ]
        return np.asarray(
            self.embedder_.encode(
                [normalize_text(t) for t in texts],
                kind=cast(_Kind, self.text_kind),
                batch_size=self.batch_size,
                show_progress_bar=self.show_progress_bar,
            )
        )

    def similarities(self, texts: Sequence[Any]) -> np.ndarray:
        """Cosine similarities ``(n, n_labels)`` between texts and label vectors.

        ``texts``: str, ProposalDocuments or proposal dicts (see :mod:`govnlp.classify.text`).
        """
        if not hasattr(self, "classes_"):
            self.fit()
        items = list(texts) if not isinstance(texts, (str, bytes)) else texts
        check_text_list(items)
        if not items:
            return np.zeros((0, len(self.classes_)))
        return self._encode(list(items)) @ self.label_vectors_.T

    def predict_proba(self, texts: Sequence[Any]) -> np.ndarray:
        """Softmax of the similarities at ``temperature``; rows sum to 1, columns in ``classes_`` order."""
        return softmax(self.similarities(texts) / self.temperature)

    def predict(self, texts: Sequence[Any], *, abstain_below: float | None = None) -> np.ndarray:
        """The most similar label per text (None where the top probability is below ``abstain_below``)."""
        proba = self.predict_proba(texts)
        out = self.classes_[proba.argmax(axis=1)].astype(object) if len(proba) else np.array([], dtype=object)
        if abstain_below is not None:
            out[proba.max(axis=1) < abstain_below] = None
        return out

    def rank(self, texts: Sequence[Any], k: int = 3) -> list[list[tuple[str, float]]]:
        """The ``k`` most similar labels per text with their cosine similarity, best first."""
        sims = self.similarities(texts)
        order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        return [
            [(str(self.classes_[j]), float(s[j])) for j in row] for s, row in zip(sims, order, strict=False)
        ]


def _is_proposal(item: Any) -> bool:
    """A ProposalDocument or a dict with a non-empty title (a proposal row)."""
    from govnlp.documents import ProposalDocument

    if isinstance(item, ProposalDocument):
        return True
    return isinstance(item, Mapping) and bool(item.get("title"))
