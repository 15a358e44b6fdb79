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
