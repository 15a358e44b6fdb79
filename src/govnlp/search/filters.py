"""Metadata filters on index records, applied before ranking.

A filter is a dict ``{field: condition}``; all conditions must hold:

- equality: ``{"lead_agency": "市综合执法局"}``;
- membership: ``{"kind": ["提案答复", "建议答复"]}``;
- ranges: ``{"year": {"gte": 2020, "lte": 2023}}``, ``{"date": {"gte": "2023-01-01"}}`` (operators
  ``gt``, ``gte``, ``lt``, ``lte``, ``eq``, ``in``; dates compare as ISO strings).

A list-valued field (``co_agencies``) matches equality when it contains the value and membership when
it shares a value with the list. A missing or null field never matches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from govnlp.errors import ConfigError

__all__ = ["RANGE_OPS", "compile_filters"]

RANGE_OPS = ("gt", "gte", "lt", "lte", "eq", "in")

Predicate = Callable[[Mapping[str, Any]], bool]


def _values(v: Any) -> list[Any]:
    if v is None:
        return []
    if isinstance(v, (list, tuple, set, frozenset)):
        return [x for x in v if x is not None]
    return [v]


def _coerce(field_value: Any, bound: Any) -> tuple[Any, Any] | None:
    """Make a field value and a bound comparable (numbers numerically, otherwise as strings)."""
    num = (int, float)
    if isinstance(bound, num) and not isinstance(bound, bool):
        if isinstance(field_value, num):
            return field_value, bound
        try:
            return float(str(field_value)), bound
        except ValueError:
            return None
    return str(field_value), str(bound)


def _compare(op: str, a: Any, b: Any) -> bool:
    pair = _coerce(a, b)
    if pair is None:
        return False
    x, y = pair
    if op == "gt":
        return x > y
    if op == "gte":
        return x >= y
    if op == "lt":
        return x < y
    if op == "lte":
        return x <= y
    return x == y


def _condition(field: str, cond: Any) -> Predicate:
    if isinstance(cond, Mapping):
        bad = [op for op in cond if op not in RANGE_OPS]
        if bad or not cond:
            raise ConfigError(
                f"filter on {field!r}: unknown operator(s) {bad} in {dict(cond)!r}; use {list(RANGE_OPS)}"
            )
        ops = dict(cond)

        def pred(rec: Mapping[str, Any]) -> bool:
            vals = _values(rec.get(field))
            for op, bound in ops.items():
                if op == "in":
                    allowed = set(_values(bound))
                    if not any(v in allowed for v in vals):
                        return False
                elif not any(_compare(op, v, bound) for v in vals):
                    return False
            return True

        return pred
    if isinstance(cond, (list, tuple, set, frozenset)):
        allowed = {x for x in cond if x is not None}
        return lambda rec: any(v in allowed for v in _values(rec.get(field)))
    return lambda rec: cond in _values(rec.get(field))


def compile_filters(filters: Mapping[str, Any] | None, known_fields: Iterable[str]) -> Predicate | None:
    """A predicate for ``filters`` (None when there is nothing to filter).

    Raises:
        ConfigError: a filter names a field no record has, listing the known fields.
    """
    if not filters:
        return None
    if not isinstance(filters, Mapping):
        raise ConfigError(f"filters must be a dict {{field: condition}}, got {type(filters).__name__}")
    known = set(known_fields)
    unknown = sorted(k for k in filters if k not in known)
    if unknown:
        raise ConfigError(f"unknown filter field(s) {unknown}; the index records have: {sorted(known)}")
    preds = [_condition(k, v) for k, v in filters.items()]
    return lambda rec: all(p(rec) for p in preds)
