"""What the classifiers read: plain texts, proposals (``ProposalDocument`` or its dict) or dataset columns.

Every ``texts`` argument of :mod:`govnlp.classify` takes a list (or a ``datasets.Dataset`` column) whose
items are either

* a plain ``str``: the text to tag. For a proposal, write the title (案由) on the first line and the
  full body after it (``title + "\\n" + text``), which is what :func:`document_text` builds; for a
  citizen message, the message itself;
* a :class:`~govnlp.documents.ProposalDocument` (from :func:`govnlp.parse_proposal`), or a dict with
  ``title`` and/or ``text`` (a proposal JSONL row, or ``ProposalDocument.to_dict()``): turned into the
  plain text above.

Trained methods read the whole text (word and character TF-IDF measured best on it); zero-shot tagging
reads a short focus of a proposal (:func:`focus_text`: title and suggestions), which is also what keeps it
fast on long proposals.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["FOCUS_CHARS", "check_text_list", "document_text", "focus_text", "normalize_text"]

_SPACES = re.compile(r"[\s\u00a0\u3000\u200b\ufeff]+")

#: Characters of the focus text that zero-shot tagging embeds (well inside one window of the default model;
#: 200 measured as good as 400 on the Jiangsu proposals at half the encoding time).
FOCUS_CHARS = 200


def normalize_text(text: str) -> str:
    """Remove Excel ``_x000D_`` escapes and collapse every kind of whitespace to one space.

    >>> normalize_text("\\n\\t您好：_x000D_\\n小区　停车难")
    '您好： 小区 停车难'
    """
    return _SPACES.sub(" ", text.replace("_x000D_", " ")).strip()


def _title_and_body(item: Any) -> tuple[str, str] | None:
    """``(title, body)`` of a ProposalDocument or a proposal dict; None for anything else."""
    from govnlp.documents import ProposalDocument

    if isinstance(item, ProposalDocument):
        return item.title or "", item.text or ""
    if isinstance(item, Mapping) and ("text" in item or "title" in item):
        title, body = item.get("title") or "", item.get("text") or ""
        if not isinstance(title, str) or not isinstance(body, str):
            raise TypeError(
                f"a proposal dict needs str 'title' and 'text', got {type(title).__name__} and "
                f"{type(body).__name__}"
            )
        return title, body
    return None


def document_text(item: Any) -> str:
    """The plain text a classifier reads for ``item``: a str as is; a proposal as title + newline + body.

    A body that already starts with its title (``parse_proposal`` of a text whose first line is the title)
    is not given the title twice.

    >>> document_text({"title": "关于加强农村饮用水安全的建议", "text": "调研情况：……"})
    '关于加强农村饮用水安全的建议\\n调研情况：……'
    """
    if isinstance(item, str):
        return item
    parts = _title_and_body(item)
    if parts is None:
        raise TypeError(
            f"expected a str, a ProposalDocument or a dict with 'title'/'text', got {type(item).__name__}"
        )
    title, body = (p.strip() for p in parts)
    if not title or body.startswith(title):
        return body or title
    return f"{title}\n{body}" if body else title


def focus_text(item: Any, max_chars: int = FOCUS_CHARS) -> str:
    """The part of a text that says what it is about: the title and the suggestions, at most ``max_chars``.

    Short texts (messages, titles) are returned whole. A long text is parsed with
    :func:`govnlp.parse_proposal`; its title is followed by its suggestion items (or, without any, its
    problem items, or the start of the body).

    >>> focus_text("关于加强老旧小区物业管理的建议\\n存在问题：物业服务企业管理不规范。\\n建议：一是加强对物业服务企业的监管考核；二是规范停车收费标准并公示。")
    '关于加强老旧小区物业管理的建议\\n存在问题：物业服务企业管理不规范。\\n建议：一是加强对物业服务企业的监管考核；二是规范停车收费标准并公示。'
    """
    from govnlp.documents import ProposalDocument
    from govnlp.parsing.proposal import parse_proposal

    text = document_text(item)
    if len(text) <= max_chars:
        return text
    if isinstance(item, ProposalDocument) and (item.suggestions or item.problems):
        doc = item
    else:
        parts = _title_and_body(item)
        doc = parse_proposal(parts[1], title=parts[0] or None) if parts else parse_proposal(text)
    items = doc.suggestions or doc.problems
    head = doc.title or ""
    body = "；".join(x.text for x in items) if items else text[len(head) :].strip()
    return (f"{head}。{body}" if head else body)[:max_chars]


def check_text_list(texts: Iterable[Any], what: str = "texts") -> list[str]:
    """Plain texts from ``texts``: a list (or ``datasets.Dataset`` column) of str, ProposalDocuments or dicts.

    Raises:
        TypeError: ``texts`` is a bare str (it would be iterated by character) or an item is none of those.
    """
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"{what} must be a list of texts, got a single str; wrap it: [text]")
    if isinstance(texts, Mapping) or _title_and_body(texts) is not None:
        raise TypeError(f"{what} must be a list, got a single {type(texts).__name__}; wrap it: [item]")
    out = []
    for i, t in enumerate(texts):
        if isinstance(t, str):
            out.append(t)
            continue
        try:
            out.append(document_text(t))
        except TypeError as exc:
            raise TypeError(
                f"{what} must contain str, ProposalDocument or proposal dicts; item {i} is {type(t).__name__}"
            ) from exc
    return out
