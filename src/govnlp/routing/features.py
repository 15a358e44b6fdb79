"""Pure functions behind the router: proposal text, TF-IDF, function-word and place-name hits.

Kept apart from :mod:`govnlp.routing.router` so that the benchmark and the tests can use them directly.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from govnlp.documents import ProposalDocument, ReplyDocument
from govnlp.routing.names import canonical_agency, split_level

__all__ = [
    "function_hits",
    "place_stem",
    "proposal_text",
    "reply_example",
    "route_text",
]

_BOILER = re.compile(r"^(?:关于)|(?:的(?:建议|提案|议案|意见))$")
_PLACE_SUFFIX = re.compile(r"(?:街道办事处|街道|镇|乡)$")


def route_text(text: str) -> str:
    """The text the router reads: whitespace collapsed, the 关于…的建议 frame of a title removed."""
    text = " ".join(text.split())
    return _BOILER.sub("", text).strip() or text


def proposal_text(item: Any) -> str:
    """The text of one proposal: a str, a :class:`ProposalDocument`, or the dict form of one.

    A document gives its title, cause and problems (not the whole body: titles and problems name the
    subject, and the routing data of offices has titles). A dict may also be a plain row with ``title``
    and/or ``text``.

    Raises:
        TypeError: anything else.
    """
    if isinstance(item, str):
        return item
    if isinstance(item, Mapping):
        if "problems" in item and "id" in item:
            with contextlib.suppress(KeyError, TypeError, ValueError):
                item = ProposalDocument.from_dict(dict(item))
        if isinstance(item, Mapping):
            parts = [str(item.get(k) or "") for k in ("title", "cause")]
            text = " ".join(p for p in parts if p).strip()
            return text or str(item.get("text") or "")
    if isinstance(item, ProposalDocument):
        parts = [item.title or "", item.cause or "", *(p.text for p in item.problems)]
        text = " ".join(p for p in parts if p).strip()
        return text or item.text
    raise TypeError(
        f"a proposal must be a str, a ProposalDocument or its dict form; got {type(item).__name__}"
    )


def reply_example(doc: ReplyDocument) -> tuple[str, str | None, tuple[str, ...]]:
    """(proposal text, lead agency, co-agencies) of a parsed reply, for learning from an archive.

    The text is the proposal's title (``proposal_title``, else the reply's title) and the problems the
    reply restates; the lead is ``lead_agency``, else ``replying_agency`` (a reply is signed by its lead).
    """
    title = doc.proposal_title or doc.title or ""
    parts = [title, *(p.text for p in doc.problems)]
    text = " ".join(p for p in parts if p).strip()
    lead = doc.lead_agency or doc.replying_agency
    co = tuple(a for a in doc.co_agencies if a and a != lead)
    return text, lead, co


def place_stem(agency: str) -> str | None:
    """The place name of a town or street agency (宗汉街道 → 宗汉, 观海卫镇 → 观海卫), else None."""
    name = canonical_agency(agency)
    if not _PLACE_SUFFIX.search(name):
        return None
    stem = _PLACE_SUFFIX.sub("", name)
    return stem if len(stem) >= 2 else None


def function_hits(
    texts: Sequence[str], agencies: Sequence[str], table: Mapping[str, Sequence[str]]
) -> np.ndarray:
    """How strongly each text points to each agency by its function words and place name.

    For agency ``a`` (full name after its level prefix, looked up in ``table``), the count of its words
    found in the text; a town or street agency also scores 2 when its place name is in the text.

    Returns:
        float32 array of shape ``(len(texts), len(agencies))``.
    """
    out = np.zeros((len(texts), len(agencies)), dtype=np.float32)
    words: list[tuple[str, ...]] = []
    places: list[str | None] = []
    for a in agencies:
        stem = split_level(canonical_agency(a))[1]
        words.append(tuple(table.get(stem, ())))
        places.append(place_stem(a))
    for i, text in enumerate(texts):
        for j in range(len(agencies)):
            n = sum(1 for w in words[j] if w in text)
            if places[j] and places[j] in text:  # type: ignore[operator]
                n += 2
            out[i, j] = n
    return out
