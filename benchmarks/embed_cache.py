"""A disk cache of embeddings for benchmarks (kept in /tmp, never in the repository).

``CachedEmbedder(inner)`` is an Embedder with the inner one's name, dim and fingerprint; ``encode``
returns cached vectors for texts it has seen (keyed by fingerprint, kind and the text's sha1) and
encodes the rest with ``inner``, writing them to the cache in chunks so that an interrupted run keeps
what it computed. The vectors are exactly what ``inner.encode`` returned for the same text and kind.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

logger = logging.getLogger("bench.embed_cache")

DEFAULT_CACHE = Path(os.environ.get("GOVNLP_BENCH_CACHE", "/tmp/govnlp_bench_cache"))


def _key(kind: str, text: str) -> str:
    return hashlib.sha1(f"{kind}\x00{text}".encode()).hexdigest()


class CachedEmbedder:
    """Wraps an Embedder with a per-fingerprint disk cache of its vectors."""

    def __init__(self, inner, cache_dir: Path = DEFAULT_CACHE, chunk: int = 64) -> None:
        self.inner = inner
        self.chunk = chunk
        self.folder = Path(cache_dir) / inner.fingerprint()[:24]
        self.folder.mkdir(parents=True, exist_ok=True)
        self._vecs: dict[str, np.ndarray] = {}
        self.encoded = 0  # texts actually encoded by inner in this process
        self.encode_seconds = 0.0
        for meta in sorted(self.folder.glob("shard-*.json")):
            npy = meta.with_suffix(".npy")
            if not npy.is_file():
                continue
            keys = json.loads(meta.read_text())
            arr = np.load(npy, allow_pickle=False)
            for k, v in zip(keys, arr, strict=True):
                self._vecs[k] = v

    # Embedder protocol ------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def fingerprint(self) -> str:
        return self.inner.fingerprint()

    def __getattr__(self, item: str):
        return getattr(self.inner, item)

    def encode(
        self,
        texts: Sequence[str],
        *,
        kind: str = "passage",
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
    ) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("encode() expects a list of texts")
        texts = list(texts)
        keys = [_key(kind, t) for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in self._vecs}.items())
        for start in range(0, len(missing), self.chunk):
            part = missing[start : start + self.chunk]
            t0 = time.perf_counter()
            vecs = self.inner.encode(
                [t for _, t in part], kind=kind, batch_size=batch_size, show_progress_bar=False
            )
            self.encode_seconds += time.perf_counter() - t0
            self.encoded += len(part)
            self._save([k for k, _ in part], vecs)
            logger.info(
                "%s: encoded %d/%d new %s texts (%.1f texts/s)",
                self.name,
                min(start + self.chunk, len(missing)),
                len(missing),
                kind,
                self.encoded / max(self.encode_seconds, 1e-9),
            )
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vecs[k] for k in keys]).astype(np.float32, copy=False)

    def _save(self, keys: list[str], vecs: np.ndarray) -> None:
        for k, v in zip(keys, vecs, strict=True):
            self._vecs[k] = np.asarray(v, dtype=np.float32)
        stem = self.folder / f"shard-{time.time_ns()}-{os.getpid()}"
        np.save(stem.with_suffix(".npy"), np.asarray(vecs, dtype=np.float32))
        tmp = stem.with_suffix(".json.part")
        tmp.write_text(json.dumps(keys))
        os.replace(tmp, stem.with_suffix(".json"))  # the shard counts only once its keys are written


class WindowCachedEmbedder:
    """An Embedder over a per-window disk cache, pooling long texts as ``"mean"`` or ``"first"``.

    Long texts are cut by ``inner.windows(text, kind=)`` exactly as the inner embedder cuts them; each
    window's unit vector is cached (so the window-averaged and the first-window variants of one text
    cost one encoding). ``pooling="mean"`` gives what ``inner.encode`` gives (the re-normalised mean of
    the windows; a window that re-tokenises past the limit is cut by the inner embedder, as its own
    ``encode`` does); ``"first"`` keeps the first window only (the text's first ``max_seq_length`` tokens).
    The fingerprint is the inner one for ``"mean"`` and marks ``"first"`` otherwise.
    """

    def __init__(self, inner, pooling: str = "mean", cache_dir: Path = DEFAULT_CACHE) -> None:
        if pooling not in ("mean", "first"):
            raise ValueError(f"pooling must be 'mean' or 'first', got {pooling!r}")
        self.inner = inner
        self.pooling = pooling
        self.pieces = CachedEmbedder(inner, cache_dir=Path(cache_dir) / "windows")

    @property
    def name(self) -> str:
        return self.inner.name + ("" if self.pooling == "mean" else "/first-window")

    @property
    def dim(self) -> int:
        return self.inner.dim

    def fingerprint(self) -> str:
        fp = self.inner.fingerprint()
        return fp if self.pooling == "mean" else hashlib.sha256(f"{fp}:first-window".encode()).hexdigest()

    def windows(self, text: str, *, kind: str = "passage") -> list[str]:
        """The inner embedder's windows of ``text`` (``[text]`` if it has none)."""
        windows = getattr(self.inner, "windows", None)
        return windows(text, kind=kind) if windows is not None else [text]

    def with_pooling(self, pooling: str) -> WindowCachedEmbedder:
        """The same cache with another pooling."""
        out = WindowCachedEmbedder.__new__(WindowCachedEmbedder)
        out.inner, out.pooling, out.pieces = self.inner, pooling, self.pieces
        return out

    def encode(
        self,
        texts: Sequence[str],
        *,
        kind: str = "passage",
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
    ) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("encode() expects a list of texts")
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        split = [self.windows(t, kind=kind) for t in texts]
        flat = [w for ws in split for w in ws]
        vecs = self.pieces.encode(flat, kind=kind, batch_size=batch_size)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        at = 0
        for i, ws in enumerate(split):
            v = vecs[at : at + len(ws)]
            at += len(ws)
            out[i] = v[0] if (len(ws) == 1 or self.pooling == "first") else v.mean(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.where(norms > 0, norms, 1.0)).astype(np.float32)
