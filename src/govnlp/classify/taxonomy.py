"""Category taxonomies: ordered labels, optional parents (multi-level trees), descriptions, keywords.

A :class:`Taxonomy` is a frozen value object. Labels are unique ids; in a multi-level tree built from
level columns the labels are paths joined by ``/`` (``城乡建设/安全生产/事故处理``) because the same
short name can occur under several parents, and :attr:`Category.name` keeps the short name.

Example:
    >>> tax = Taxonomy.load("messages")
    >>> tax.labels[:2]
    ('城乡建设', '环境保护')
    >>> tax.validate(["城乡建设", "不存在"])
    Traceback (most recent call last):
    ...
    govnlp.errors.TaxonomyError: ...
"""

from __future__ import annotations

import csv
import functools
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from govnlp.errors import TaxonomyError

__all__ = ["PATH_SEPARATOR", "Category", "Taxonomy", "builtin_taxonomies"]

PATH_SEPARATOR = "/"
_DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "taxonomies"


@dataclass(frozen=True)
class Category:
    """One category of a taxonomy.

    Attributes:
        label: the unique id used as a class label (a path ``a/b/c`` in level-column trees).
        parent: the parent's label, or None for a top-level category.
        name: the short display name (defaults to the label).
        description: a Chinese sentence describing what belongs here (used by zero-shot tagging).
        keywords: typical words of the category (also used by zero-shot tagging).
    """

    label: str
    parent: str | None = None
    name: str = ""
    description: str = ""
    keywords: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label.strip():
            raise TaxonomyError(f"a category label must be a non-empty str, got {self.label!r}")
        if not self.name:
            object.__setattr__(self, "name", self.label.rsplit(PATH_SEPARATOR, 1)[-1])
        object.__setattr__(self, "keywords", tuple(self.keywords))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``{"label", "parent", "name", "description", "keywords"}``."""
        return {
            "label": self.label,
            "parent": self.parent,
            "name": self.name,
            "description": self.description,
            "keywords": list(self.keywords),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Category:
        """Build a category from its JSON form; unknown keys raise TaxonomyError."""
        known = {"label", "parent", "name", "description", "keywords"}
        extra = set(data) - known
        if extra:
            raise TaxonomyError(f"unknown category keys {sorted(extra)}; expected some of {sorted(known)}")
        if "label" not in data:
            raise TaxonomyError(f"a category needs a 'label'; got keys {sorted(data)}")
        keywords = data.get("keywords") or ()
        if isinstance(keywords, str):
            keywords = _split_keywords(keywords)
        return cls(
            label=str(data["label"]),
            parent=data.get("parent") or None,
            name=str(data.get("name") or ""),
            description=str(data.get("description") or ""),
            keywords=tuple(str(k) for k in keywords),
        )


def _split_keywords(text: str) -> tuple[str, ...]:
    for sep in "；;，,、|":
        text = text.replace(sep, " ")
    return tuple(k for k in text.split() if k)


@dataclass(frozen=True)
class Taxonomy:
    """An ordered set of categories, flat or a tree.

    Args:
        categories: the categories, in the order labels should be listed.
        name: a short id of the taxonomy (``messages``, ``cppcc``...).
        description: what the taxonomy is for.

    Raises:
        TaxonomyError: duplicate labels, a parent that is not in the taxonomy, or a cycle.
    """

    categories: tuple[Category, ...]
    name: str = "custom"
    description: str = ""
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        cats = tuple(self.categories)
        object.__setattr__(self, "categories", cats)
        if not cats:
            raise TaxonomyError("a taxonomy needs at least one category")
        index: dict[str, int] = {}
        dups = []
        for i, c in enumerate(cats):
            if not isinstance(c, Category):
                raise TaxonomyError(f"categories must be Category objects; item {i} is {type(c).__name__}")
            if c.label in index:
                dups.append(c.label)
            index[c.label] = i
        if dups:
            raise TaxonomyError(f"duplicate labels in taxonomy {self.name!r}: {sorted(set(dups))}")
        orphans = sorted({c.parent for c in cats if c.parent is not None and c.parent not in index})
        if orphans:
            raise TaxonomyError(
                f"taxonomy {self.name!r} names parents that are not categories: {orphans}. "
                "Add them as categories or fix the parent column."
            )
        for c in cats:  # cycle check: walking up must end within len(cats) steps
            seen = {c.label}
            p = c.parent
            while p is not None:
                if p in seen:
                    raise TaxonomyError(f"taxonomy {self.name!r} has a parent cycle through {p!r}")
                seen.add(p)
                p = cats[index[p]].parent
        object.__setattr__(self, "_index", index)

    # --- views -------------------------------------------------------------------------------------

    @property
    def labels(self) -> tuple[str, ...]:
        """All labels, in order."""
        return tuple(c.label for c in self.categories)

    @property
    def depth(self) -> int:
        """The number of levels (1 for a flat taxonomy)."""
        return max(self.level(c.label) for c in self.categories)

    def __len__(self) -> int:
        return len(self.categories)

    def __iter__(self) -> Iterator[Category]:
        return iter(self.categories)

    def __contains__(self, label: object) -> bool:
        return label in self._index

    def __getitem__(self, label: str) -> Category:
        try:
            return self.categories[self._index[label]]
        except KeyError:
            raise TaxonomyError(self._unknown_message([label])) from None

    def level(self, label: str) -> int:
        """The level of a label: 1 for top-level categories."""
        n = 1
        p = self[label].parent
        while p is not None:
            n += 1
            p = self[p].parent
        return n

    def labels_at_level(self, level: int) -> tuple[str, ...]:
        """The labels of one level, in order (level 1 = the top-level categories)."""
        return tuple(c.label for c in self.categories if self.level(c.label) == level)

    def children(self, label: str | None) -> tuple[str, ...]:
        """The direct children of ``label`` (None: the top-level categories)."""
        if label is not None:
            self[label]
        return tuple(c.label for c in self.categories if c.parent == label)

    def path(self, label: str) -> tuple[str, ...]:
        """The labels from the top-level ancestor down to ``label``."""
        out = [label]
        p = self[label].parent
        while p is not None:
            out.append(p)
            p = self[p].parent
        return tuple(reversed(out))

    def ancestor(self, label: str, level: int = 1) -> str:
        """The ancestor of ``label`` at ``level`` (the label itself if it is at or above that level)."""
        path = self.path(label)
        return path[min(level, len(path)) - 1]

    def describe(self, label: str, *, keywords: bool = True) -> str:
        """The text that stands for a label in zero-shot tagging: name, description, keywords."""
        c = self[label]
        text = f"{c.name}：{c.description.rstrip('。')}" if c.description else c.name
        if keywords and c.keywords:
            text += "。关键词：" + "、".join(c.keywords)
        return text

    def restrict(self, labels: Iterable[str]) -> Taxonomy:
        """A flat taxonomy of only ``labels`` (in the taxonomy's order), keeping their texts."""
        wanted = list(labels)
        self.validate(wanted)
        keep = set(wanted)
        cats = tuple(
            Category(c.label, None, c.name, c.description, c.keywords)
            for c in self.categories
            if c.label in keep
        )
        return Taxonomy(cats, name=self.name, description=self.description)

    # --- checks ------------------------------------------------------------------------------------

    def validate(self, labels: Iterable[Any]) -> None:
        """Check that every label (or every label in each list, for multi-label data) is known.

        Raises:
            TaxonomyError: listing the unknown labels and how many rows carry them.
        """
        if isinstance(labels, str):
            labels = [labels]
        unknown: dict[str, int] = {}
        for item in labels:
            items = [item] if isinstance(item, str) or item is None else list(item)
            for lab in items:
                if lab not in self._index:
                    unknown[str(lab)] = unknown.get(str(lab), 0) + 1
        if unknown:
            raise TaxonomyError(self._unknown_message(list(unknown), counts=unknown))

    def _unknown_message(self, unknown: list[str], counts: Mapping[str, int] | None = None) -> str:
        shown = ", ".join(f"{u!r}" + (f" ({counts[u]}x)" if counts else "") for u in unknown[:20])
        more = f" and {len(unknown) - 20} more" if len(unknown) > 20 else ""
        known = ", ".join(self.labels[:20]) + (" ..." if len(self) > 20 else "")
        return (
            f"{len(unknown)} label(s) not in taxonomy {self.name!r}: {shown}{more}. "
            f"Known labels: {known}. Fix the labels or extend the taxonomy."
        )

    # --- (de)serialisation -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``{"name", "description", "categories": [...]}``."""
        return {
            "name": self.name,
            "description": self.description,
            "categories": [c.to_dict() for c in self.categories],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Taxonomy:
        """Build a taxonomy from its JSON form."""
        if not isinstance(data, Mapping) or "categories" not in data:
            raise TaxonomyError("a taxonomy JSON must be an object with a 'categories' list")
        return cls(
            tuple(Category.from_dict(c) for c in data["categories"]),
            name=str(data.get("name") or "custom"),
            description=str(data.get("description") or ""),
        )

    @classmethod
    def from_labels(
        cls,
        labels: Iterable[str],
        *,
        name: str = "custom",
        descriptions: Mapping[str, str] | None = None,
        keywords: Mapping[str, Iterable[str] | str] | None = None,
    ) -> Taxonomy:
        """A flat taxonomy of labels, in the given order (duplicates dropped).

        Args:
            labels: the label names.
            name: the taxonomy's name.
            descriptions: optional one-line description per label (used by zero-shot tagging).
            keywords: optional keywords per label (a list, or one str separated by ``、``/``;``/spaces).

        Raises:
            TaxonomyError: a description or keyword entry names a label that is not in ``labels``.

        Example:
            >>> Taxonomy.from_labels(["农林水利", "教育事业"], keywords={"农林水利": "农业、水利"}).describe("农林水利")
            '农林水利。关键词：农业、水利'
        """
        labels = list(dict.fromkeys(labels))
        descriptions = dict(descriptions or {})
        kws = {k: _split_keywords(v) if isinstance(v, str) else tuple(v) for k, v in (keywords or {}).items()}
        unknown = sorted((set(descriptions) | set(kws)) - set(labels))
        if unknown:
            raise TaxonomyError(
                f"descriptions/keywords given for {unknown}, which are not among the labels {labels}"
            )
        cats = tuple(
            Category(lab, description=descriptions.get(lab, ""), keywords=kws.get(lab, ())) for lab in labels
        )
        return cls(cats, name=name)

    def expanded(self) -> Taxonomy:
        """This taxonomy with bare categories (no description, no keywords) described from govnlp's glossary.

        The glossary (``govnlp/data/glossary/labels.json``) holds general descriptions and keywords of
        category names common in Chinese government proposal and message schemes (农林水利, 医卫体育,
        城建环保…), written from the meaning of the names. Categories the glossary does not know, and
        categories that already have a description or keywords, are kept as they are.
        """
        terms = _glossary()
        cats = []
        for c in self.categories:
            entry = terms.get(c.name) if not c.description and not c.keywords else None
            if entry:
                c = Category(
                    c.label,
                    c.parent,
                    c.name,
                    str(entry.get("description", "")),
                    tuple(entry.get("keywords", ())),
                )
            cats.append(c)
        return Taxonomy(tuple(cats), name=self.name, description=self.description)

    def to_json(self, path: str | os.PathLike[str]) -> None:
        """Write the JSON form (UTF-8, sorted keys)."""
        Path(path).write_text(
            json.dumps(self.to_dict(), ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> Taxonomy:
        """Read a taxonomy written by :meth:`to_json`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise TaxonomyError(f"cannot read taxonomy JSON {path}: {exc}") from exc
        return cls.from_dict(data)

    @classmethod
    def from_csv(cls, path: str | os.PathLike[str], *, name: str | None = None) -> Taxonomy:
        """Read a taxonomy from a UTF-8 CSV with a header row.

        Two layouts are understood:

        * ``label[,parent][,description][,keywords]``: one category per row (keywords separated by
          ``、``, ``;`` or spaces);
        * ``level1,level2,...``: one tree path per row; every prefix becomes a category whose label is
          the path joined by ``/`` (``城乡建设/安全生产``), and the short name is kept in ``name``.

        Raises:
            TaxonomyError: a missing file, an unknown layout, or an inconsistent tree.
        """
        path = Path(path)
        try:
            with open(path, encoding="utf-8-sig", newline="") as fh:
                rows = list(csv.DictReader(fh))
                header = [h.strip() for h in (rows[0].keys() if rows else [])]
        except OSError as exc:
            raise TaxonomyError(f"cannot read taxonomy CSV {path}: {exc}") from exc
        if not rows:
            raise TaxonomyError(f"taxonomy CSV {path} has no rows")
        rows = [{(k or "").strip(): (v or "").strip() for k, v in r.items()} for r in rows]
        name = name or path.stem
        levels = sorted(
            (h for h in header if h.startswith("level") and h[5:].isdigit()), key=lambda h: int(h[5:])
        )
        if "label" in header:
            cats = tuple(
                Category(
                    label=r["label"],
                    parent=r.get("parent") or None,
                    description=r.get("description", ""),
                    keywords=_split_keywords(r.get("keywords", "")),
                )
                for r in rows
            )
            return cls(cats, name=name)
        if levels:
            seen: dict[str, Category] = {}
            for r in rows:
                parent = None
                for col in levels:
                    part = r.get(col, "")
                    if not part:
                        break
                    if PATH_SEPARATOR in part:
                        raise TaxonomyError(f"{path}: category name {part!r} contains {PATH_SEPARATOR!r}")
                    label = part if parent is None else parent + PATH_SEPARATOR + part
                    if label not in seen:
                        seen[label] = Category(label=label, parent=parent, name=part)
                    parent = label
            return cls(tuple(seen.values()), name=name)
        raise TaxonomyError(
            f"taxonomy CSV {path} has columns {header}; expected 'label' (with optional 'parent', "
            "'description', 'keywords') or 'level1', 'level2', ..."
        )

    @classmethod
    def load(cls, name: str) -> Taxonomy:
        """Load a built-in taxonomy (see :func:`builtin_taxonomies`) or a ``.json``/``.csv`` file.

        Built-ins: ``messages`` (the 7 first-level categories of citizen messages), ``message_tree``
        (the 15-class, 3-level message tree), ``cppcc`` (a CPPCC proposal scheme, 2 levels).
        """
        p = Path(name)
        if p.suffix.lower() in (".json", ".csv") or p.is_file():
            if not p.is_file():
                raise TaxonomyError(f"taxonomy file {p} does not exist")
            return cls.from_csv(p) if p.suffix.lower() == ".csv" else cls.from_json(p)
        available = builtin_taxonomies()
        if name not in available:
            raise TaxonomyError(
                f"no built-in taxonomy {name!r}; available: {', '.join(available)} (or pass a .json/.csv path)"
            )
        text = (_DATA_DIR / f"{name}.json").read_text(encoding="utf-8")
        return cls.from_dict(json.loads(text))


@functools.lru_cache(maxsize=1)
def _glossary() -> dict[str, dict[str, Any]]:
    path = _DATA_DIR.parent / "glossary" / "labels.json"
    return dict(json.loads(path.read_text(encoding="utf-8"))["terms"])


def builtin_taxonomies() -> list[str]:
    """Names of the taxonomies shipped with govnlp."""
    if not _DATA_DIR.is_dir():
        return []
    return sorted(p.stem for p in _DATA_DIR.glob("*.json"))
