"""Progress bars for long operations, tied to the log level as in sentence-transformers.

``show_progress_bar=None`` means: show a bar when the ``govnlp`` logger is at INFO or DEBUG (the CLI
sets INFO, and WARNING with ``--quiet``); library users who configure no logging see no bars.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

__all__ = ["progress", "quiet_model_loading", "resolve_show"]

T = TypeVar("T")


def resolve_show(show_progress_bar: bool | None) -> bool:
    """The effective setting: the argument if given, else whether govnlp logs at INFO or below."""
    if show_progress_bar is not None:
        return bool(show_progress_bar)
    return logging.getLogger("govnlp").getEffectiveLevel() <= logging.INFO


def progress(
    iterable: Iterable[T],
    *,
    desc: str,
    unit: str = "it",
    total: int | None = None,
    show_progress_bar: bool | None = None,
) -> Iterator[T]:
    """Iterate with a tqdm bar (to stderr) when :func:`resolve_show` says so."""
    if not resolve_show(show_progress_bar):
        yield from iterable
        return
    from tqdm.auto import tqdm

    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    yield from tqdm(iterable, desc=desc, unit=unit, total=total, leave=False)


@contextmanager
def quiet_model_loading(show_progress_bar: bool | None = None) -> Iterator[None]:
    """Hide transformers' "Loading weights" bar while a model loads, unless bars are on (see above).

    transformers 5 draws a bar for every model it loads, which floods the output of scripts and the
    CLI; the setting is restored afterwards.
    """
    if resolve_show(show_progress_bar):
        yield
        return
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - transformers is a dependency
        yield
        return
    was_on = hf_logging.is_progress_bar_enabled()
    if was_on:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            hf_logging.enable_progress_bar()
