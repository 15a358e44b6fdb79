"""The Embedder protocol and the helpers every backend shares.

An embedder turns texts into L2-normalised float32 vectors of shape ``(n, dim)``. Its ``fingerprint()``
changes whenever the vectors would change (weights, pooling, prompts, normalisation), so that an index
or classifier can refuse vectors from another model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from govnlp.errors import EmbedderMismatchError

__all__ = ["Embedder", "Kind", "check_fingerprint", "check_texts", "l2_normalize"]

Kind = Literal["passage", "query"]


@runtime_checkable
class Embedder(Protocol):
    """What govnlp needs of an embedding model."""

    @property
    def name(self) -> str:
        """A human-readable name, e.g. ``multilingual-e5-small``."""
        ...

    @property
    def dim(self) -> int:
        """The vector dimension."""
        ...

    def fingerprint(self) -> str:
        """A hex digest that changes whenever the vectors would change."""
        ...

    def encode(
        self,
        texts: Sequence[str],
        *,
        kind: Kind = "passage",
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
    ) -> np.ndarray:
        """Encode texts into an L2-normalised float32 array of shape ``(len(texts), dim)``.

        Raises:
            TypeError: ``texts`` is a bare ``str`` (iterating it would yield characters).
        """
        ...


def check_texts(texts: Sequence[str]) -> list[str]:
    """Validate the ``texts`` argument of ``encode``: a sequence of str, not a bare str."""
    if isinstance(texts, (str, bytes)):
        raise TypeError("encode() expects a list of texts, got a single str; wrap it: encode([text])")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(f"encode() expects str items; item {i} is {type(t).__name__}")
    return out


def check_kind(kind: str) -> None:
    """Raise ValueError unless kind is 'passage' or 'query'."""
    if kind not in ("passage", "query"):
        from govnlp.errors import ConfigError

        raise ConfigError(f"kind must be 'passage' or 'query', got {kind!r}")


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Row-wise L2 normalisation to float32; zero rows stay zero."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D array, got shape {x.shape}")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (x / norms).astype(np.float32, copy=False)


def check_fingerprint(
    expected_name: str, expected_fingerprint: str, embedder: Embedder, *, what: str = "this index"
) -> None:
    """Refuse an embedder whose fingerprint differs from the one recorded by ``what``.

    Raises:
        EmbedderMismatchError: naming both embedders and the fix.
    """
    got = embedder.fingerprint()
    if got != expected_fingerprint:
        raise EmbedderMismatchError(
            f"{what} was built with embedder {expected_name!r} (fingerprint {expected_fingerprint[:12]}), "
            f"but was given {embedder.name!r} (fingerprint {got[:12]}). Vectors of two models cannot be "
            "compared: load it with the original embedder (embedder=None uses the recorded one) or rebuild it."
        )
