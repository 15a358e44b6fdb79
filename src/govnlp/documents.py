"""Value objects for parsed replies and proposals.

All are frozen dataclasses with ``to_dict``/``from_dict``; the dict form is govnlp's documented JSON
interchange format (see README, "The reply format"). Lists are stored as tuples so that documents are
hashable and safe to share; ``to_dict`` writes them as JSON lists and every key is always present.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

__all__ = [
    "REPLY_KINDS",
    "Contact",
    "Figure",
    "Measure",
    "Paragraph",
    "Problem",
    "ProposalDocument",
    "ProposalItem",
    "ReplyDocument",
    "Section",
    "content_id",
]

#: The values of ``ReplyDocument.kind``.
REPLY_KINDS = ("提案答复", "建议答复", "议案答复", "留言答复", "其他")

#: The values of ``Paragraph.role``.
PARAGRAPH_ROLES = ("opening", "section_heading", "problem", "body", "closing", "contact")


_sha1 = hashlib.sha1
_T = TypeVar("_T")


def direct_constructor(cls: type[_T]) -> Callable[..., _T]:
    """A constructor of the frozen dataclass ``cls`` for the parser's hot loops: it sets the fields directly,
    where the generated ``__init__`` calls ``object.__setattr__`` once per field (a seed reply builds some
    120 paragraphs, measures and figures; ``benchmarks/bench_parse.py --baseline-src`` compares parse speed). Every field must be given, by name; the object
    equals, hashes and serialises as one made by ``cls(...)``.

    Raises:
        TypeError: ``cls`` has a ``__post_init__`` (it would be skipped), or a call misses or adds a field.
    """
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has __post_init__; build it with {cls.__name__}(...)")
    names = frozenset(f.name for f in fields(cls))  # type: ignore[arg-type]
    new = object.__new__

    def build(**values: Any) -> _T:
        if values.keys() != names:
            raise TypeError(f"{cls.__name__} needs exactly the fields {sorted(names)}, got {sorted(values)}")
        obj = new(cls)
        obj.__dict__.update(values)
        return obj

    build.__name__ = f"new_{cls.__name__.lower()}"
    return build


def content_id(*parts: str, prefix: str = "", length: int = 16) -> str:
    """A stable id from content: ``prefix`` + the first ``length`` hex digits of a sha1 of the parts.

    Any ``str`` gets an id: lone surrogates (not valid UTF-8) are hashed as their code points.
    """
    data = parts[0] if len(parts) == 1 and type(parts[0]) is str else "\x1f".join(parts)
    return prefix + _sha1(data.encode("utf-8", "surrogatepass")).hexdigest()[:length]


@dataclass(frozen=True)
class Figure:
    """A quantitative fact: ``压减检查计划数39.3%`` -> value 39.3, unit ``%``."""

    value: float
    unit: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "unit": self.unit, "text": self.text}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Figure:
        return cls(value=float(d["value"]), unit=str(d["unit"]), text=str(d["text"]))


@dataclass(frozen=True)
class Contact:
    """The contact line at the end of a reply (联系人, 联系电话, 单位/处室)."""

    name: str | None = None
    phone: str | None = None
    department: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "phone": self.phone, "department": self.department}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Contact:
        return cls(name=d.get("name"), phone=d.get("phone"), department=d.get("department"))


@dataclass(frozen=True)
class Section:
    """A top-level section ``一、完善机制，增强…``: number ``一``, heading, and the section's body text."""

    number: str
    heading: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "heading": self.heading, "text": self.text}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Section:
        return cls(number=str(d["number"]), heading=str(d["heading"]), text=str(d["text"]))


@dataclass(frozen=True)
class Problem:
    """A problem the reply restates, e.g. ``（一）针对"小微企业难以承受跨部门联合监管"的问题``.

    ``text`` is the problem itself (小微企业难以承受跨部门联合监管); ``section`` the number of the
    enclosing section (``二``) or None; ``number`` the problem's own enumerator as written (``一``).
    """

    id: str
    section: str | None
    number: str | None
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "section": self.section, "number": self.number, "text": self.text}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Problem:
        return cls(id=str(d["id"]), section=d.get("section"), number=d.get("number"), text=str(d["text"]))


@dataclass(frozen=True)
class Measure:
    """A concrete measure: ``一是优化议事协调体系，"整体化"推进改革任务。…``.

    ``ordinal`` as written (一是, 1., （1）, ①); ``title`` the lead clause; ``text`` the whole measure;
    ``problem`` the text of the problem it answers, or None; ``figures`` the figures inside it.
    """

    id: str
    section: str | None
    problem: str | None
    ordinal: str | None
    title: str
    text: str
    figures: tuple[Figure, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "section": self.section,
            "problem": self.problem,
            "ordinal": self.ordinal,
            "title": self.title,
            "text": self.text,
            "figures": [f.to_dict() for f in self.figures],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Measure:
        return cls(
            id=str(d["id"]),
            section=d.get("section"),
            problem=d.get("problem"),
            ordinal=d.get("ordinal"),
            title=str(d["title"]),
            text=str(d["text"]),
            figures=tuple(Figure.from_dict(f) for f in d.get("figures") or ()),
        )


@dataclass(frozen=True)
class Paragraph:
    """A body paragraph with its place in the structure, the unit of indexing.

    ``role`` is one of ``opening`` (salutation, acknowledgement), ``section_heading``, ``problem``,
    ``body``, ``closing`` (thanks, signature, date) or ``contact``. ``measures`` lists the ids of the
    measures found inside the paragraph.
    """

    id: str
    index: int
    role: str
    section: str | None
    problem: str | None
    text: str
    measures: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "index": self.index,
            "role": self.role,
            "section": self.section,
            "problem": self.problem,
            "text": self.text,
            "measures": list(self.measures),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Paragraph:
        return cls(
            id=str(d["id"]),
            index=int(d["index"]),
            role=str(d["role"]),
            section=d.get("section"),
            problem=d.get("problem"),
            text=str(d["text"]),
            measures=tuple(d.get("measures") or ()),
        )


_NESTED: dict[str, Any] = {  # field name -> the dataclass of its items (each has from_dict)
    "sections": Section,
    "problems": Problem,
    "measures": Measure,
    "figures": Figure,
    "paragraphs": Paragraph,
}


@dataclass(frozen=True)
class ReplyDocument:
    """A parsed government reply (答复). Build one with :func:`govnlp.parse_reply`.

    ``date`` is the date of signing (the 落款), ``replying_agency`` who signs; ``published`` (the page's
    publication date) and ``source_agency`` (the page's 发布机构/来源) come from page metadata and are
    never taken for them.

    Example:
        >>> doc = parse_reply("丽水市综合行政执法局关于对市政协五届三次会议第14号提案的答复\\n民进市委会：…")
        >>> doc.kind, doc.proposal_number
        ('提案答复', '14')
    """

    id: str
    title: str | None = None
    kind: str = "其他"
    assembly: str | None = None
    session: str | None = None
    proposal_number: str | None = None
    proposal_title: str | None = None
    addressee: str | None = None
    lead_agency: str | None = None
    co_agencies: tuple[str, ...] = ()
    replying_agency: str | None = None
    source_agency: str | None = None
    document_number: str | None = None
    date: str | None = None
    published: str | None = None
    handling_class: str | None = None
    contact: Contact | None = None
    sections: tuple[Section, ...] = ()
    problems: tuple[Problem, ...] = ()
    measures: tuple[Measure, ...] = ()
    figures: tuple[Figure, ...] = ()
    paragraphs: tuple[Paragraph, ...] = ()
    text: str = ""
    source: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)

    def to_dict(self) -> dict[str, Any]:
        """The JSON interchange form: every key present, ``None`` or ``[]`` when absent."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _NESTED:
                out[f.name] = [item.to_dict() for item in value]
            elif f.name == "contact":
                out[f.name] = value.to_dict() if value is not None else None
            elif f.name == "co_agencies":
                out[f.name] = list(value)
            elif f.name == "meta":
                out[f.name] = dict(value)
            else:
                out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReplyDocument:
        """Read the interchange form back (``from_dict(doc.to_dict()) == doc``); missing keys (dicts written
        before a field existed, e.g. without ``published``/``source_agency``) take their defaults."""
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in d:
                continue
            value = d[f.name]
            if f.name in _NESTED:
                kwargs[f.name] = tuple(_NESTED[f.name].from_dict(x) for x in value or ())
            elif f.name == "contact":
                kwargs[f.name] = Contact.from_dict(value) if value is not None else None
            elif f.name == "co_agencies":
                kwargs[f.name] = tuple(value or ())
            elif f.name == "meta":
                kwargs[f.name] = dict(value or {})
            else:
                kwargs[f.name] = value
        if "id" not in kwargs:
            kwargs["id"] = content_id(str(d.get("text", "")), prefix="doc-")
        return cls(**kwargs)

    @property
    def year(self) -> int | None:
        """The year of ``date`` (or None)."""
        return int(self.date[:4]) if self.date and self.date[:4].isdigit() else None


@dataclass(frozen=True)
class ProposalItem:
    """One problem or suggestion of a proposal, short enough to match against past measures."""

    id: str
    ordinal: str | None
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "ordinal": self.ordinal, "text": self.text}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ProposalItem:
        return cls(id=str(d["id"]), ordinal=d.get("ordinal"), text=str(d["text"]))


@dataclass(frozen=True)
class ProposalDocument:
    """A parsed proposal / suggestion / message: its title, cause (案由), problems and suggestions."""

    id: str
    title: str | None = None
    cause: str | None = None
    problems: tuple[ProposalItem, ...] = ()
    suggestions: tuple[ProposalItem, ...] = ()
    text: str = ""
    #: the background and analysis prose (调研情况 / 问题分析 …), apart from the problem and suggestion items
    analysis: str | None = None

    def queries(self) -> list[ProposalItem]:
        """The items to match against past measures: problems, then suggestions; the whole text if none."""
        items = [*self.problems, *self.suggestions]
        if not items:
            body = self.cause or self.title or self.text
            if body:
                items = [ProposalItem(id=content_id(body, prefix="q-"), ordinal=None, text=body)]
        return items

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "cause": self.cause,
            "problems": [p.to_dict() for p in self.problems],
            "suggestions": [s.to_dict() for s in self.suggestions],
            "text": self.text,
            "analysis": self.analysis,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ProposalDocument:
        return cls(
            id=str(d["id"]),
            title=d.get("title"),
            cause=d.get("cause"),
            problems=tuple(ProposalItem.from_dict(x) for x in d.get("problems") or ()),
            suggestions=tuple(ProposalItem.from_dict(x) for x in d.get("suggestions") or ()),
            text=str(d.get("text", "")),
            analysis=d.get("analysis"),
        )
