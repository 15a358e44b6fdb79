"""Index records: one flat JSON-safe dict per searchable unit, built from ReplyDocuments or dicts.

A :class:`~govnlp.documents.ReplyDocument` gives one record per measure (unit ``measure``), per problem
(unit ``problem``) and per body paragraph that holds no measure (unit ``paragraph``); openings,
section headings, closings and contact lines are boilerplate and are not indexed. A document with none
of these gives one record of its whole text (unit ``document``). Every record carries the document's
metadata, so that filters can use it.

Record ids are stable strings: ``{doc.id}/{unit id}`` for documents; for dicts the value of
``id_field``, else a content hash of the text and metadata (``r-`` + 16 hex digits).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from govnlp.documents import ReplyDocument, content_id
from govnlp.errors import ConfigError

__all__ = [
    "BOILERPLATE_ROLES",
    "DOCUMENT_FIELDS",
    "RESERVED_FIELDS",
    "build_records",
    "check_record",
    "check_unicode",
    "document_metadata",
    "document_records",
]

#: Paragraph roles that carry no content and are never indexed.
BOILERPLATE_ROLES = frozenset({"opening", "section_heading", "closing", "contact"})

#: The metadata every record built from a ReplyDocument carries.
DOCUMENT_FIELDS = (
    "doc_id",
    "title",
    "kind",
    "assembly",
    "session",
    "proposal_number",
    "lead_agency",
    "co_agencies",
    "replying_agency",
    "date",
    "year",
    "section",
    "section_heading",
    "problem",
    "ordinal",
    "figures",
    "unit",
)

#: Keys the index writes itself: ``id``, ``text`` (the original) and ``index_text`` (what was embedded
#: and tokenised: the cleaned text).
RESERVED_FIELDS = ("id", "text", "index_text")


def document_metadata(doc: ReplyDocument) -> dict[str, Any]:
    """The metadata of a parsed reply that every record (and dataset row) built from it carries."""
    return {
        "doc_id": doc.id,
        "title": doc.title,
        "kind": doc.kind,
        "assembly": doc.assembly,
        "session": doc.session,
        "proposal_number": doc.proposal_number,
        "lead_agency": doc.lead_agency,
        "co_agencies": list(doc.co_agencies),
        "replying_agency": doc.replying_agency,
        "date": doc.date,
        "year": doc.year,
    }


def document_records(doc: ReplyDocument) -> list[dict[str, Any]]:
    """The records of one parsed reply: measures, problems, then uncovered body paragraphs."""
    meta = document_metadata(doc)
    headings = {s.number: s.heading for s in doc.sections}
    out: list[dict[str, Any]] = []

    def unit(
        uid: str, unit_name: str, text: str, section: str | None, problem: str | None, **extra: Any
    ) -> None:
        if not text.strip():
            return
        out.append(
            {
                **meta,
                "id": f"{doc.id}/{uid}",
                "text": text,
                "unit": unit_name,
                "section": section,
                "section_heading": headings.get(section) if section else None,
                "problem": problem,
                "ordinal": extra.get("ordinal"),
                "figures": extra.get("figures", []),
            }
        )

    for m in doc.measures:
        unit(
            m.id,
            "measure",
            m.text,
            m.section,
            m.problem,
            ordinal=m.ordinal,
            figures=[f.to_dict() for f in m.figures],
        )
    for p in doc.problems:
        unit(p.id, "problem", p.text, p.section, p.text, ordinal=p.number)
    for para in doc.paragraphs:
        if para.role in BOILERPLATE_ROLES or para.role == "problem" or para.measures:
            continue
        unit(para.id, "paragraph", para.text, para.section, para.problem)
    if not out and doc.text.strip():
        unit("document", "document", doc.text, None, None)
    return out


def check_unicode(text: str, what: str) -> None:
    """Refuse a str holding a lone surrogate (not text: it cannot be written as UTF-8).

    Raises:
        ConfigError: naming ``what``, the character, its position and the fix.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ConfigError(
            f"{what} holds the lone surrogate {text[exc.start]!r} at position {exc.start}, which is not "
            "text; decode the input correctly (or drop that character)."
        ) from None


def check_record(record: dict[str, Any], where: str) -> None:
    """Refuse a record that could not be saved and reloaded as it is.

    Its text and id must be encodable as UTF-8 (no lone surrogates) and its metadata plain JSON: str,
    int, float (not NaN or infinity), bool, None, lists and dicts of those.

    Raises:
        ConfigError: naming ``where`` (which record), the field and the fix.
    """
    for key in ("id", "text"):
        value = record.get(key)
        if isinstance(value, str):
            check_unicode(value, f"{where}: field {key!r}")
    for key, value in record.items():
        if key in ("id", "text"):
            continue
        try:
            json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"{where}: metadata field {key!r} = {value!r:.80} cannot be saved as JSON ({exc}); use str, int, "
                "float (not NaN or infinity), bool, None, or lists and dicts of these."
            ) from None


def _dict_record(item: dict[str, Any], i: int, text_field: str, id_field: str) -> dict[str, Any]:
    if text_field not in item:
        raise ConfigError(
            f"record {i} has no text field {text_field!r} (its keys: {sorted(item)[:20]}); "
            "pass text_field= (CLI: --text-field) naming the field that holds the text."
        )
    text = item[text_field]
    if not isinstance(text, str):
        raise ConfigError(f"record {i}: field {text_field!r} must be a str, got {type(text).__name__}")
    meta = {k: v for k, v in item.items() if k not in (text_field, id_field, "index_text")}
    if item.get(id_field) is not None:
        rid = str(item[id_field])
    else:
        rid = content_id(text, json.dumps(meta, ensure_ascii=False, sort_keys=True, default=str), prefix="r-")
    meta.pop("id", None)
    meta.pop("text", None)
    return {**meta, "id": rid, "text": text}


def build_records(
    items: Iterable[Any], *, text_field: str = "text", id_field: str = "id"
) -> list[dict[str, Any]]:
    """Records of ``items`` (ReplyDocuments and/or dicts), in order.

    Raises:
        TypeError: ``items`` is a bare str, or an item is neither a ReplyDocument nor a dict.
        ConfigError: a dict item lacks ``text_field``, or a record holds a lone surrogate or metadata that
            is not plain JSON (see :func:`check_record`).
    """
    if isinstance(items, (str, bytes)):
        raise TypeError(
            "expected a list of ReplyDocuments or dict records, got a single str; wrap it in a list"
        )
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        if isinstance(item, ReplyDocument):
            for rec in document_records(item):
                check_record(rec, f"record {rec['id']!r} of item {i}")
                out.append(rec)
        elif isinstance(item, dict):
            rec = _dict_record(item, i, text_field, id_field)
            check_record(rec, f"record {i} (id {rec['id']!r})")
            out.append(rec)
        else:
            raise TypeError(
                f"item {i} is a {type(item).__name__}; expected a ReplyDocument (govnlp.parse_reply) or a dict record"
            )
    return out
