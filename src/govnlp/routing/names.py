"""Agency names: one spelling per agency, renames over time, and what each kind of agency handles.

The rule of :func:`canonical_agency`, applied in this order:

1. Whitespace is removed and brackets are made full-width; a bracketed alias after the name is dropped
   (``市综合行政执法局（市城管局）`` → ``市综合行政执法局``): the name outside the brackets is the agency.
2. The **level prefix** is one leading ``省``/``市``/``县``/``区`` (``市`` in ``市住建局``). It is kept, so
   ``市教育局`` and ``区教育局`` stay two agencies, and a name written without one (``教育局``) stays
   without one: govnlp does not guess a level. A place name before the level (``慈溪市住建局``,
   ``莲都区教育局``) is dropped, keeping the level (``市住房和城乡建设局``, ``区教育局``), but only when
   what follows is a name the tables know, so ``杭州湾新区管委会`` stays whole.
3. A known short form at the end of the name is written out in full from the package table
   ``data/abbreviations.json`` (``住建局`` → ``住房和城乡建设局``). Short forms that could mean two agencies
   are not in the table, and anything the table does not know is returned as written (after steps 1-2).
4. Only with ``renames=True``: old names are followed to the newest name in the rename table
   (``data/renames.json``, extendable with :func:`add_renames`), e.g. 卫生和计划生育局 → 卫生健康局.
   Renames merge agencies (工商 + 质监 + 食药 → 市场监管), so they are off by default.

Example:
    >>> canonical_agency("市住建局")
    '市住房和城乡建设局'
    >>> canonical_agency("市综合行政执法局（市城管局）")
    '市综合行政执法局'
    >>> canonical_agency("市卫生和计划生育局", renames=True)
    '市卫生健康局'
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from govnlp.errors import ConfigError

__all__ = [
    "LEVELS",
    "Rename",
    "abbreviations",
    "add_renames",
    "canonical_agency",
    "function_words",
    "renames",
    "split_level",
]

_DATA = Path(__file__).parent / "data"
#: Level prefixes kept by canonical_agency.
LEVELS = ("省", "市", "县", "区")
_BRACKET = re.compile(r"[（(][^（）()]*[）)]")
_SPACE = re.compile(r"\s+")
_PLACE = re.compile(r"^(?P<place>[\u4e00-\u9fff]{2,6}?)(?P<level>[省市县区])(?P<rest>.+)$")

Rename = tuple[str, str, int | None]

_extra_renames: list[Rename] = []


def _load(name: str) -> Any:
    return json.loads((_DATA / name).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def abbreviations() -> dict[str, str]:
    """The package table of short forms → full names (no level prefix), longest short form first."""
    table = {k: v for k, v in _load("abbreviations.json").items() if not k.startswith("_")}
    return dict(sorted(table.items(), key=lambda kv: -len(kv[0])))


@lru_cache(maxsize=1)
def _base_renames() -> tuple[Rename, ...]:
    return tuple((r["old"], r["new"], r.get("year")) for r in _load("renames.json")["renames"])


def renames() -> list[Rename]:
    """The rename table as ``(old, new, year)``: the package's rows, then those added by :func:`add_renames`."""
    return [*_base_renames(), *_extra_renames]


def add_renames(table: Mapping[str, str] | Iterable[Rename | tuple[str, str]]) -> None:
    """Extend the rename table for this process (a city's own history).

    Args:
        table: ``{old: new}`` or ``(old, new[, year])`` rows, names without the level prefix
            (``{"城乡规划局": "自然资源和规划局"}``).

    Raises:
        ConfigError: an empty name, or a rename that would make a cycle.
    """
    rows = list(table.items()) if isinstance(table, Mapping) else list(table)
    new: list[Rename] = []
    for row in rows:
        old, nw = str(row[0]).strip(), str(row[1]).strip()
        year = int(row[2]) if len(row) > 2 and row[2] is not None else None
        if not old or not nw or old == nw:
            raise ConfigError(f"a rename needs two different non-empty names; got {old!r} -> {nw!r}")
        new.append((old, nw, year))
    graph = _rename_graph([*renames(), *new])
    for start in graph:
        seen = {start}
        name = start
        while name in graph:
            name = graph[name]
            if name in seen:
                raise ConfigError(f"the renames make a cycle through {name!r}; remove one of its rows")
            seen.add(name)
    _extra_renames.extend(new)


def _rename_graph(rows: Iterable[Rename]) -> dict[str, str]:
    graph: dict[str, str] = {}
    for old, new, _ in rows:
        graph[old] = new  # a later row (a user's) overrides an earlier one
    return graph


@lru_cache(maxsize=1)
def _function_table() -> dict[str, tuple[str, ...]]:
    return {k: tuple(v) for k, v in _load("functions.json").items() if not k.startswith("_")}


def function_words() -> dict[str, tuple[str, ...]]:
    """The package table of agency functions: full name (no level prefix) → words pointing to it."""
    return dict(_function_table())


@lru_cache(maxsize=1)
def _known_stems() -> tuple[str, ...]:
    stems = set(abbreviations()) | set(abbreviations().values()) | set(_function_table())
    stems |= {n for old, new, _ in _base_renames() for n in (old, new)}
    return tuple(sorted(stems, key=len, reverse=True))


def split_level(name: str) -> tuple[str, str]:
    """Split a cleaned name into (level prefix, rest); the prefix is ``""`` when there is none."""
    if len(name) > 1 and name[0] in LEVELS and not name.startswith("市场"):
        return name[0], name[1:]
    m = _PLACE.match(name)
    if m and any(m.group("rest").endswith(s) for s in _known_stems()):
        return m.group("level"), m.group("rest")
    return "", name


def _expand(rest: str) -> str:
    table = abbreviations()
    if any(
        rest.endswith(full) for full in table.values()
    ):  # already written out (人民法院, not 人民人民法院)
        return rest
    for short, full in table.items():
        if rest.endswith(short):
            return rest[: -len(short)] + full
    return rest


def _follow_renames(rest: str) -> str:
    """Follow the rename table from a whole name (after its level prefix) to the newest name."""
    graph = _rename_graph(renames())
    seen = {rest}
    while rest in graph and graph[rest] not in seen:  # chains: 卫生局 → 卫生和计划生育局 → 卫生健康局
        rest = graph[rest]
        seen.add(rest)
    return rest


def canonical_agency(name: str, *, renames: bool = False) -> str:
    """One spelling per agency (see the module docstring for the rule).

    Args:
        name: an agency name as written (``市住建局``, ``慈溪市人力社保局``, ``市综合行政执法局（市城管局）``).
        renames: also follow the rename table to the newest name (merges agencies; off by default).

    Raises:
        TypeError: ``name`` is not a str.
    """
    if not isinstance(name, str):
        raise TypeError(f"an agency name must be a str, got {type(name).__name__}")
    cleaned = _SPACE.sub("", name)
    stripped = _BRACKET.sub("", cleaned)
    if stripped:  # a name that is only a bracket keeps it
        cleaned = stripped
    cleaned = cleaned.strip("，,。；;、:：")
    if not cleaned:
        return ""
    level, rest = split_level(cleaned)
    rest = _expand(rest)
    if renames:
        rest = _follow_renames(rest)
    return level + rest
