"""Light text clean-up shared by the classification methods."""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["check_text_list", "normalize_text"]

_SPACES = re.compile(r"[\s\u00a0\u3000\u200b\ufeff]+")


def normalize_text(text: str) -> str:
    """Remove Excel ``_x000D_`` escapes and collapse every kind of whitespace to one space.

    >>> normalize_text("\\n\\t您好：_x000D_\\n小区　停车难")
    '您好： 小区 停车难'
    """
    return _SPACES.sub(" ", text.replace("_x000D_", " ")).strip()


def check_text_list(texts: Sequence[str], what: str = "texts") -> list[str]:
    """A list of str from ``texts``; a bare str is a TypeError (it would be iterated by character)."""
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"{what} must be a list of texts, got a single str; wrap it: [text]")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(f"{what} must contain str; item {i} is {type(t).__name__}")
    return out
