"""Re-score search hits with a cross-encoder from a local folder: :class:`CrossEncoderReranker`.

A cross-encoder reads the query and a candidate together and gives one relevance score per pair; it is
slower than the index (one transformer pass per candidate) but can see the wording of both at once. Use
one by passing ``reranker=`` to :meth:`SearchIndex.search <govnlp.search.SearchIndex.search>` /
``search_batch``, or by setting it on the index::

    >>> hits = index.search("小区幼儿园迟迟没有开工", k=5, reranker="models/my-reranker")
    >>> index.reranker = CrossEncoderReranker("models/my-reranker", rerank_top=30)  # every search
    >>> index.search("小区幼儿园迟迟没有开工", k=5, reranker=False)  # this search without it

The index first finds ``max(k, rerank_top)`` candidates as usual (default ``rerank_top`` 20); the
cross-encoder scores each of them against the query and the best ``k`` come back in that order.

What the reranked hits hold: ``score`` is the cross-encoder score (what they are now ranked by; the
model's activation applied, a sigmoid for a one-logit model, so higher is better), ``rank`` the new rank;
``dense_score``, ``lexical_score``, ``relevance`` and ``record`` are the index's, unchanged.

The folder is any ``sentence_transformers.CrossEncoder`` folder with a one-score head (for example a
bge-reranker you downloaded yourself, or one trained with ``benchmarks/bench_rerank.py``). It is only
ever read from disk: nothing is downloaded. The reranker is **not saved with the index**: a saved index
folder never depends on a reranker folder; set ``index.reranker`` again after :meth:`SearchIndex.load`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from govnlp.errors import ConfigError, ModelNotFoundError
from govnlp.search.hit import Hit

if TYPE_CHECKING:
    from govnlp.search.search_index import SearchIndex

__all__ = ["DEFAULT_RERANK_TOP", "CrossEncoderReranker", "reranked_search", "resolve_reranker"]

logger = logging.getLogger(__name__)

#: How many fused candidates a reranker re-scores by default (at least ``k`` are always re-scored).
DEFAULT_RERANK_TOP = 20


def _check_folder(folder: Path) -> dict[str, Any]:
    """Raise a clear error unless ``folder`` holds a cross-encoder (a sequence-classification model)."""
    if not folder.is_dir():
        raise ModelNotFoundError(
            f"reranker folder {str(folder)!r} does not exist. Pass the path of a local "
            "sentence-transformers CrossEncoder folder (nothing is downloaded), or reranker=None."
        )
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise ModelNotFoundError(
            f"{folder} holds no config.json, so it is not a cross-encoder model folder. Point reranker= "
            "to the folder that contains config.json and the weights (CrossEncoder.save_pretrained writes it)."
        )
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelNotFoundError(
            f"{config_path} cannot be read as JSON ({exc}); save the model again"
        ) from None
    archs = config.get("architectures") or [] if isinstance(config, Mapping) else []
    if not any(str(a).endswith("ForSequenceClassification") for a in archs):
        raise ConfigError(
            f"{folder} holds a {', '.join(map(str, archs)) or 'model'} without a classification head, which "
            "is an encoder, not a cross-encoder: its scores would be random. Pass a CrossEncoder folder "
            "(architectures ending in ForSequenceClassification), or train one from it first."
        )
    n = config.get("num_labels", len(config.get("id2label") or {}) or 1)
    if n != 1:
        raise ConfigError(
            f"{folder} is a cross-encoder with {n} labels; a reranker needs one relevance score per pair "
            "(num_labels=1)"
        )
    return dict(config)


class CrossEncoderReranker:
    """A ``sentence_transformers.CrossEncoder`` that re-orders search hits.

    Args:
        path_or_model: a local CrossEncoder folder (str or Path), or a loaded ``CrossEncoder``.
        batch_size: pairs per forward pass.
        max_length: tokens per (query, text) pair (None: the model's own limit); longer pairs are cut.
        rerank_top: how many fused candidates a search re-scores (at least ``k``).
        text_field: the record field the model reads; ``"index_text"`` (the cleaned text the index
            searched, falling back to ``"text"``) or any other record field.
        device: torch device.

    Raises:
        ModelNotFoundError: the folder does not exist or holds no model.
        ConfigError: the folder holds an encoder without a one-score classification head, or a bad option.

    Example:
        >>> rr = CrossEncoderReranker("models/my-reranker", max_length=256)
        >>> rr.rerank("小区幼儿园迟迟没有开工", index.search("小区幼儿园迟迟没有开工", k=20), top_n=5)
    """

    def __init__(
        self,
        path_or_model: str | Path | Any,
        *,
        batch_size: int = 32,
        max_length: int | None = 256,
        rerank_top: int = DEFAULT_RERANK_TOP,
        text_field: str = "index_text",
        device: str = "cpu",
    ) -> None:
        for name, value in (("batch_size", batch_size), ("rerank_top", rerank_top)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"{name} must be a positive int, got {value!r}")
        if max_length is not None and (not isinstance(max_length, int) or max_length <= 2):
            raise ConfigError(f"max_length must be an int > 2 or None, got {max_length!r}")
        self.batch_size = batch_size
        self.max_length = max_length
        self.rerank_top = rerank_top
        self.text_field = text_field
        self.path: Path | None
        if isinstance(path_or_model, str | Path):
            self.path = Path(path_or_model).expanduser()
            config = _check_folder(self.path)
            limit = config.get("max_position_embeddings")
            if max_length is not None and isinstance(limit, int) and limit > 2:
                max_length = min(max_length, limit)  # no longer than the model's positions
            from sentence_transformers import CrossEncoder

            from govnlp.progress import quiet_model_loading

            with quiet_model_loading():
                self.model = CrossEncoder(
                    str(self.path), device=device, max_length=max_length, local_files_only=True
                )
        else:
            if not hasattr(path_or_model, "predict"):
                raise ConfigError(
                    f"reranker must be a CrossEncoder folder or a CrossEncoder, got {type(path_or_model).__name__}"
                )
            self.path = None
            self.model = path_or_model
        self.name = self.path.name if self.path is not None else type(self.model).__name__

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """The cross-encoder scores of ``(query, text)`` for each text, shape ``(len(texts),)`` float32."""
        if not texts:
            return np.zeros(0, np.float32)
        scores = self.model.predict(
            [(query, t) for t in texts], batch_size=self.batch_size, show_progress_bar=False
        )
        return np.asarray(scores, dtype=np.float32).reshape(len(texts))

    def _text(self, hit: Hit) -> str:
        rec = hit.record
        value = rec.get(self.text_field) or rec.get("text") or ""
        return str(value)

    def rerank(self, query: str, hits: Sequence[Hit], top_n: int | None = None) -> list[Hit]:
        """``hits`` re-ordered by the cross-encoder score, the best ``top_n`` (None: all of them).

        Every given hit is scored; the returned hits are copies with ``score`` = the cross-encoder score
        and ``rank`` renumbered from 1 (ties keep the given order).
        """
        if top_n is not None and (not isinstance(top_n, int) or isinstance(top_n, bool) or top_n <= 0):
            raise ConfigError(f"top_n must be a positive int or None, got {top_n!r}")
        hits = list(hits)
        if not hits or not query.strip():
            return hits[:top_n]
        scores = self.score(query, [self._text(h) for h in hits])
        order = np.argsort(-scores, kind="stable")[:top_n]
        return [
            dataclasses.replace(hits[i], score=float(scores[i]), rank=r + 1)
            for r, i in enumerate(order.tolist())
        ]

    def __repr__(self) -> str:
        return (
            f"CrossEncoderReranker({self.name!r}, rerank_top={self.rerank_top}, max_length={self.max_length})"
        )


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, stamp: float) -> CrossEncoderReranker:
    return CrossEncoderReranker(path)


def resolve_reranker(spec: Any) -> CrossEncoderReranker | None:
    """None/False: None; a CrossEncoderReranker as is; a folder: loaded once (cached while its config.json
    is unchanged); a loaded ``CrossEncoder``: wrapped with the defaults."""
    if spec is None or spec is False:
        return None
    if isinstance(spec, CrossEncoderReranker):
        return spec
    if isinstance(spec, str | Path):
        folder = Path(spec).expanduser()
        _check_folder(folder)
        return _load_cached(str(folder.resolve()), (folder / "config.json").stat().st_mtime)
    return CrossEncoderReranker(spec)


def reranked_search(
    index: SearchIndex,
    queries: list[str],
    *,
    k: int,
    reranker: Any,
    **search_options: Any,
) -> list[list[Hit]]:
    """``index.search_batch(queries, k=max(k, rerank_top))`` re-ordered by ``reranker``, the best ``k``
    each. ``search_options`` (mode, filters, show_progress_bar) go to ``search_batch``."""
    rr = resolve_reranker(reranker)
    if rr is None:
        return index.search_batch(queries, k=k, reranker=False, **search_options)
    candidates = index.search_batch(queries, k=max(k, rr.rerank_top), reranker=False, **search_options)
    return [rr.rerank(q, hits, top_n=k) for q, hits in zip(queries, candidates, strict=True)]
