"""Sentence-transformers models from a folder on disk (the default model, or any model a user brings).

Two kinds of folder load:

- a sentence-transformers folder (it has ``modules.json``): its own pooling, normalisation and prompts
  (``config_sentence_transformers.json``) are used; ``query_prompt``/``passage_prompt`` override them;
- a plain Hugging Face encoder folder (``config.json`` and weights, no ``modules.json``): you must say how
  to pool, ``pooling="cls"`` (bge-*-zh) or ``"mean"`` (e5, m3e), because guessing wrong gives vectors
  that look fine and retrieve badly; prompts are optional.

Nothing touches the network: the offline flags are set before transformers is imported and the model
is opened with ``local_files_only=True``; a missing folder fails at once with ModelNotFoundError.

Long texts are not truncated silently. A text whose tokens (prompt and special tokens included) exceed
the model's ``max_seq_length`` is cut into overlapping windows of tokens (each window's text is the
exact substring of the original covering those tokens, so it fits the model with a small margin; windows
overlap by a quarter), the windows are embedded like any text, and the text's vector is the
re-normalised mean of its windows' unit vectors. :func:`token_windows` gives the window bounds.

Example:
    >>> emb = load_embedder("/models/bge-small-zh-v1.5", pooling="cls",
    ...                     query_prompt="为这个句子生成表示以用于检索相关文章：")
    >>> emb.encode(["小区停车难怎么办"], kind="query").shape
    (1, 512)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Set before transformers / huggingface_hub are first imported (they read these at import time).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np

from govnlp.embedders.base import Kind, check_kind, check_texts, l2_normalize
from govnlp.embedders.filehash import folder_digest
from govnlp.errors import ConfigError, ModelNotFoundError
from govnlp.progress import quiet_model_loading

__all__ = ["SentenceTransformerEmbedder", "token_windows"]

logger = logging.getLogger(__name__)

POOLING_MODES = ("cls", "mean")
_WINDOW_MARGIN = 2  # tokens kept free in each window: re-tokenising a substring may add one or two


def token_windows(n_tokens: int, size: int, overlap: int) -> list[tuple[int, int]]:
    """Half-open ``[start, end)`` token windows of ``size`` that overlap by ``overlap`` and cover all tokens.

    Windows start at ``0, size - overlap, 2 * (size - overlap), ...``; the last one ends at ``n_tokens``.

    Example:
        >>> token_windows(10, 4, 1)
        [(0, 4), (3, 7), (6, 10)]
    """
    if size < 1 or not 0 <= overlap < size:
        raise ValueError(f"need size >= 1 and 0 <= overlap < size, got size={size}, overlap={overlap}")
    if n_tokens <= size:
        return [(0, n_tokens)]
    stride = size - overlap
    out: list[tuple[int, int]] = []
    start = 0
    while True:
        end = min(start + size, n_tokens)
        out.append((start, end))
        if end >= n_tokens:
            return out
        start += stride


def _import_sentence_transformers() -> Any:
    import sentence_transformers

    return sentence_transformers


class SentenceTransformerEmbedder:
    """An :class:`~govnlp.embedders.base.Embedder` over a ``SentenceTransformer`` loaded from a folder.

    Build it with :meth:`from_path` (or ``govnlp.load_embedder(path, ...)``).

    Attributes:
        model: the underlying ``SentenceTransformer`` (e.g. for fine-tuning).
        path: the folder it was loaded from.
        query_prompt, passage_prompt: strings put before queries / passages.
    """

    def __init__(
        self,
        model: Any,
        path: Path,
        *,
        name: str,
        query_prompt: str,
        passage_prompt: str,
        pooling: str | None,
    ) -> None:
        self.model = model
        self.path = path
        self._name = name
        self.query_prompt = query_prompt
        self.passage_prompt = passage_prompt
        self._pooling = pooling
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self._dim = int(get_dim())
        self._fingerprint: str | None = None
        tok = model.tokenizer
        self._n_special = len(tok("", add_special_tokens=True)["input_ids"])

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_path(
        cls,
        path: str | os.PathLike[str],
        *,
        pooling: str | None = None,
        query_prompt: str | None = None,
        passage_prompt: str | None = None,
        max_seq_length: int | None = None,
        name: str | None = None,
        device: str = "cpu",
    ) -> SentenceTransformerEmbedder:
        """Load a sentence-transformers folder, or a plain HF encoder folder with explicit ``pooling``.

        Args:
            path: the model folder.
            pooling: ``"cls"`` or ``"mean"``; required for a plain HF folder, and for a
                sentence-transformers folder it must match the folder's own pooling if given.
            query_prompt: text put before every query (default: the folder's ``query`` prompt, or none).
            passage_prompt: text put before every passage (default: the folder's ``passage`` or
                ``document`` prompt, or none).
            max_seq_length: tokens per window (default: the folder's setting, capped by the model).
            name: display name (default: the folder name).
            device: torch device (``"cpu"``).

        Raises:
            ModelNotFoundError: the folder does not exist or holds no model.
            ConfigError: a plain HF folder without ``pooling``, or an unknown pooling.
        """
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise ModelNotFoundError(
                f"model folder {str(folder)!r} does not exist. Pass the path of a sentence-transformers "
                "folder, or of a Hugging Face encoder folder with pooling='cls'|'mean'; or a built-in "
                "spec: None (default model), 'e5-onnx', 'use-onnx', 'tfidf', 'hash'."
            )
        if pooling is not None and pooling not in POOLING_MODES:
            raise ConfigError(f"pooling must be one of {POOLING_MODES}, got {pooling!r}")
        is_st = (folder / "modules.json").is_file()
        if not is_st and not (folder / "config.json").is_file():
            raise ModelNotFoundError(
                f"{folder} holds neither modules.json (a sentence-transformers model) nor config.json "
                "(a Hugging Face model). Point to the folder that contains them."
            )
        if not is_st and pooling is None:
            raise ConfigError(
                f"{folder} is a plain Hugging Face model (no modules.json), so its pooling is unknown. "
                "Pass pooling='cls' (e.g. bge-*-zh) or pooling='mean' (e.g. e5, m3e): the wrong choice "
                "gives vectors that look fine but retrieve badly, so govnlp does not guess."
            )
        st = _import_sentence_transformers()
        if is_st:
            with quiet_model_loading():
                model = st.SentenceTransformer(str(folder), device=device, local_files_only=True)
            folder_pooling = _st_pooling(model)
            if pooling is not None and folder_pooling is not None and pooling != folder_pooling:
                raise ConfigError(
                    f"pooling={pooling!r} was asked, but the sentence-transformers folder {folder} pools "
                    f"with {folder_pooling!r}. Drop the pooling argument to use the folder's own."
                )
            prompts = dict(getattr(model, "prompts", {}) or {})
            q = str(prompts.get("query", "")) if query_prompt is None else query_prompt
            p = (
                str(prompts.get("passage", prompts.get("document", "")))
                if passage_prompt is None
                else passage_prompt
            )
        else:
            from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

            with quiet_model_loading():
                transformer = Transformer(str(folder), model_kwargs={"local_files_only": True})
            get_dim = (
                getattr(transformer, "get_embedding_dimension", None)
                or transformer.get_word_embedding_dimension
            )
            modules = [transformer, Pooling(int(get_dim()), pooling), Normalize()]
            model = st.SentenceTransformer(modules=modules, device=device)
            q, p = query_prompt or "", passage_prompt or ""
            folder_pooling = pooling
        model_max = _model_max_positions(model)
        if max_seq_length is not None:
            if max_seq_length < 8:
                raise ConfigError(f"max_seq_length must be >= 8, got {max_seq_length}")
            model.max_seq_length = min(max_seq_length, model_max) if model_max else max_seq_length
        elif model.max_seq_length is None or (model_max and model.max_seq_length > model_max):
            model.max_seq_length = model_max or 512
        model.eval()
        return cls(
            model,
            folder,
            name=name or folder.name,
            query_prompt=q,
            passage_prompt=p,
            pooling=folder_pooling,
        )

    # ------------------------------------------------------------------ protocol
    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def max_seq_length(self) -> int:
        """Tokens per model input (prompt and special tokens included)."""
        return int(self.model.max_seq_length)

    def fingerprint(self) -> str:
        """sha256 over the folder's files (weights, tokenizer, module configs) and the settings used here.

        The folder digest is a full sha256 of every file, cached on disk by (path, size, mtime), so it is
        computed once per model file.
        """
        if self._fingerprint is None:
            payload = {
                "embedder": "sentence-transformers",
                "version": 1,
                "files": folder_digest(self.path),
                "pooling": self._pooling,
                "query_prompt": self.query_prompt,
                "passage_prompt": self.passage_prompt,
                "normalize": True,
                "max_seq_length": self.max_seq_length,
                "long_text": "windows-mean-v1",
            }
            self._fingerprint = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        return self._fingerprint

    def encode(
        self,
        texts: Sequence[str],
        *,
        kind: Kind = "passage",
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
    ) -> np.ndarray:
        """Encode texts into an L2-normalised float32 array of shape ``(len(texts), dim)``.

        Texts longer than :attr:`max_seq_length` tokens are embedded by windows (see the module doc).
        """
        items = check_texts(texts)
        check_kind(kind)
        if not items:
            return np.zeros((0, self._dim), dtype=np.float32)
        if show_progress_bar is None:
            show_progress_bar = logger.getEffectiveLevel() <= logging.INFO and len(items) > batch_size
        prompt = self.query_prompt if kind == "query" else self.passage_prompt
        long_idx = self._long_indices(items, prompt)
        if not long_idx:
            return self._encode_plain(items, prompt, batch_size, show_progress_bar)
        out = np.empty((len(items), self._dim), dtype=np.float32)
        long_set = set(long_idx)
        short_idx = [i for i in range(len(items)) if i not in long_set]
        if short_idx:
            out[short_idx] = self._encode_plain(
                [items[i] for i in short_idx], prompt, batch_size, show_progress_bar
            )
        pieces: list[str] = []
        owners: list[int] = []
        for i in long_idx:
            for w in self.windows(items[i], kind=kind):
                pieces.append(w)
                owners.append(i)
        logger.info("embedding %d long texts as %d windows", len(long_idx), len(pieces))
        vecs = self._encode_plain(pieces, prompt, batch_size, show_progress_bar)
        owner_arr = np.asarray(owners)
        for i in long_idx:
            out[i] = vecs[owner_arr == i].mean(axis=0)
        out[long_idx] = l2_normalize(out[long_idx])
        return out

    # ------------------------------------------------------------------ long texts
    def windows(self, text: str, *, kind: Kind = "passage") -> list[str]:
        """The substrings of ``text`` that :meth:`encode` embeds (one item if the text fits)."""
        prompt = self.query_prompt if kind == "query" else self.passage_prompt
        tok = self.model.tokenizer
        if not getattr(tok, "is_fast", False):
            raise ConfigError("long-text windows need a fast (Rust) tokenizer; this model's is a slow one")
        enc = tok(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        offsets = enc["offset_mapping"]
        n_prompt = len(tok(prompt, add_special_tokens=False, verbose=False)["input_ids"]) if prompt else 0
        size = self.max_seq_length - self._n_special - n_prompt - _WINDOW_MARGIN
        if size < 4:
            raise ConfigError(
                f"max_seq_length {self.max_seq_length} leaves no room for text after the prompt"
            )
        if len(offsets) <= size:
            return [text]
        out = []
        for start, end in token_windows(len(offsets), size, size // 4):
            out.append(text[offsets[start][0] : offsets[end - 1][1]])
        return out

    def _long_indices(self, items: list[str], prompt: str) -> list[int]:
        tok = self.model.tokenizer
        limit = self.max_seq_length
        ids = tok([prompt + t for t in items], add_special_tokens=True, verbose=False)["input_ids"]
        return [i for i, row in enumerate(ids) if len(row) > limit]

    def _encode_plain(self, texts: list[str], prompt: str, batch_size: int, show: bool) -> np.ndarray:
        vecs = self.model.encode(
            texts,
            prompt=prompt,
            batch_size=batch_size,
            show_progress_bar=show,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.asarray(vecs, dtype=np.float32)

    def __repr__(self) -> str:
        return f"SentenceTransformerEmbedder(name={self._name!r}, dim={self._dim}, path={str(self.path)!r})"


def _st_pooling(model: Any) -> str | None:
    for module in model:
        mode = getattr(module, "pooling_mode", None)
        if mode is not None:
            if isinstance(mode, str):
                return {"cls": "cls", "mean": "mean"}.get(mode, mode)
            return "+".join(mode)
    return None


def _model_max_positions(model: Any) -> int | None:
    try:
        cfg = model[0].auto_model.config
    except (AttributeError, IndexError, TypeError):
        return None
    n = getattr(cfg, "max_position_embeddings", None)
    if not n:
        return None
    # XLM-R style models reserve padding_idx + 1 positions.
    if getattr(cfg, "model_type", "") in ("xlm-roberta", "roberta", "camembert"):
        n -= 2
    return int(n)
