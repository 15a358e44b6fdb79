"""Saving and loading parsed corpora (lists of ReplyDocument) as JSON Lines or Parquet.

One document per row, in the interchange form of :meth:`ReplyDocument.to_dict`. Writes go to a temporary
file that is renamed into place, so an interrupted save never leaves a truncated corpus.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from govnlp.documents import ReplyDocument
from govnlp.errors import ConfigError, FormatError
from govnlp.storage import read_jsonl

__all__ = ["from_arrow_row", "load_corpus", "save_corpus", "to_arrow_row"]

_SUFFIXES = (".jsonl", ".parquet")


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in _SUFFIXES:
        raise ConfigError(f"corpus file {path} must end in .jsonl or .parquet, got {suffix or 'no suffix'!r}")
    return suffix


def to_arrow_row(doc: ReplyDocument) -> dict[str, Any]:
    """The interchange dict with ``meta`` as a JSON string (Arrow cannot store an empty struct)."""
    row = doc.to_dict()
    row["meta"] = json.dumps(row["meta"], ensure_ascii=False, sort_keys=True)
    return row


def from_arrow_row(row: dict[str, Any]) -> ReplyDocument:
    """Inverse of :func:`to_arrow_row`."""
    row = dict(row)
    meta = row.get("meta")
    if isinstance(meta, str):
        row["meta"] = json.loads(meta) if meta else {}
    return ReplyDocument.from_dict(row)


def save_corpus(docs: Iterable[ReplyDocument], path: str | os.PathLike[str]) -> int:
    """Write documents to ``path`` (.jsonl or .parquet, chosen by suffix); return how many were written.

    Example:
        >>> save_corpus([parse_reply(text)], "replies.parquet")
        1
    """
    path = Path(path)
    suffix = _suffix(path)
    docs = list(docs)
    for i, doc in enumerate(docs):
        if not isinstance(doc, ReplyDocument):
            raise TypeError(f"save_corpus expects ReplyDocument items; item {i} is {type(doc).__name__}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if suffix == ".jsonl":
            with open(tmp, "w", encoding="utf-8") as fh:
                for doc in docs:
                    fh.write(json.dumps(doc.to_dict(), ensure_ascii=False, sort_keys=True) + "\n")
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pylist([to_arrow_row(d) for d in docs])
            pq.write_table(table, tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return len(docs)


def load_corpus(path: str | os.PathLike[str]) -> list[ReplyDocument]:
    """Read documents written by :func:`save_corpus` (or any JSONL of interchange dicts)."""
    path = Path(path)
    suffix = _suffix(path)
    if not path.is_file():
        raise FormatError(f"corpus file {path} does not exist")
    try:
        if suffix == ".jsonl":
            return [ReplyDocument.from_dict(row) for row in read_jsonl(path)]
        import pyarrow.parquet as pq

        return [from_arrow_row(row) for row in pq.read_table(path).to_pylist()]
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, FormatError):
            raise
        raise FormatError(f"{path} is not a govnlp corpus ({type(exc).__name__}: {exc})") from exc
