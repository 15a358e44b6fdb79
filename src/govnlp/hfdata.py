"""Hugging Face ``datasets`` interop: parsed replies to a ``datasets.Dataset`` and back.

Levels:
    - ``"document"``: one row per reply, the interchange form of :meth:`ReplyDocument.to_dict` (``meta``
      as a JSON string); :func:`from_dataset` gives back equal ``ReplyDocument`` objects.
    - ``"measure"``: one row per measure, with its document's metadata (``doc_id``, ``title`` of the reply,
      ``kind``, agencies, ``date``…), its place (``section``, ``problem``, ``ordinal``), its lead clause
      (``measure_title``), ``text`` and ``figures``.
    - ``"paragraph"``: one row per body paragraph, with the same metadata and its ``role``.

Measure and paragraph rows come back from :func:`from_dataset` as plain dict records, the form
:meth:`govnlp.SearchIndex.build` accepts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from govnlp.corpus import from_arrow_row, to_arrow_row
from govnlp.documents import ReplyDocument
from govnlp.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import datasets

__all__ = ["LEVELS", "document_rows", "from_dataset", "to_dataset"]

Level = Literal["document", "measure", "paragraph"]
LEVELS: tuple[str, ...] = ("document", "measure", "paragraph")

#: Header fields copied onto measure / paragraph rows beside the index records' document metadata
#: (:func:`govnlp.search.records.document_metadata`).
EXTRA_DOC_FIELDS = ("proposal_title", "document_number", "handling_class")


def _doc_meta(doc: ReplyDocument) -> dict[str, Any]:
    """The index records' document metadata plus the header fields a dataset user may also want."""
    from govnlp.search.records import document_metadata

    return {**document_metadata(doc), **{name: getattr(doc, name) for name in EXTRA_DOC_FIELDS}}


def document_rows(doc: ReplyDocument, level: Level) -> list[dict[str, Any]]:
    """The rows of one document at ``level`` (see the module docstring)."""
    if level == "document":
        return [to_arrow_row(doc)]
    meta = _doc_meta(doc)
    if level == "measure":
        rows = []
        for m in doc.measures:
            row = {**meta, **m.to_dict()}
            row["title"] = doc.title  # the reply's title; the measure's lead clause is measure_title
            row["measure_title"] = m.title
            row["figures"] = json.dumps(row["figures"], ensure_ascii=False)
            rows.append(row)
        return rows
    if level == "paragraph":
        return [{**meta, **p.to_dict()} for p in doc.paragraphs]
    raise ConfigError(f"level must be one of {LEVELS}, got {level!r}")


def to_dataset(docs: Iterable[ReplyDocument], level: Level = "measure") -> datasets.Dataset:
    """Turn parsed replies into a ``datasets.Dataset``.

    Args:
        docs: parsed replies (``ReplyDocument``).
        level: ``"document"``, ``"measure"`` or ``"paragraph"``.

    Example:
        >>> ds = to_dataset([parse_reply(seed_text)], level="measure")
        >>> ds[0]["ordinal"], ds[0]["lead_agency"]
        ('一是', '市综合执法局')
    """
    import datasets

    if level not in LEVELS:
        raise ConfigError(f"level must be one of {LEVELS}, got {level!r}")
    rows: list[dict[str, Any]] = []
    for i, doc in enumerate(docs):
        if not isinstance(doc, ReplyDocument):
            raise TypeError(f"to_dataset expects ReplyDocument items; item {i} is {type(doc).__name__}")
        rows.extend(document_rows(doc, level))
    ds = datasets.Dataset.from_list(rows)
    ds.info.description = f"govnlp replies, level={level}"
    return ds


def from_dataset(ds: datasets.Dataset, level: Level | None = None) -> list[Any]:
    """Read a dataset made by :func:`to_dataset` back.

    Args:
        ds: the dataset.
        level: its level; inferred from the columns when None.

    Returns:
        ``ReplyDocument`` objects for the document level, dict records for the other levels (figures decoded).
    """
    columns = set(ds.column_names)
    if level is None:
        if {"paragraphs", "measures", "sections"} <= columns:
            level = "document"
        elif "ordinal" in columns and "figures" in columns:
            level = "measure"
        elif "role" in columns:
            level = "paragraph"
        else:
            raise ConfigError(
                f"cannot tell the level of a dataset with columns {sorted(columns)}; "
                f"pass level= one of {LEVELS}"
            )
    if level == "document":
        missing = {"id", "text", "paragraphs"} - columns
        if missing:
            raise ConfigError(
                f"a document-level dataset needs columns {sorted(missing)}; found {sorted(columns)}"
            )
        return [from_arrow_row(row) for row in ds]
    if level == "measure":
        out = []
        for row in ds:
            row = dict(row)
            if isinstance(row.get("figures"), str):
                row["figures"] = json.loads(row["figures"])
            out.append(row)
        return out
    if level == "paragraph":
        return [dict(row) for row in ds]
    raise ConfigError(f"level must be one of {LEVELS}, got {level!r}")
