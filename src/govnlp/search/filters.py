"""Metadata filters on index records, applied before ranking.

A filter is a dict ``{field: condition}``; all conditions must hold:

- equality: ``{"lead_agency": "市综合执法局"}``;
- membership: ``{"kind": ["提案答复", "建议答复"]}``;
- ranges: ``{"year": {"gte": 2020, "lte": 2023}}``, ``{"date": {"gte": "2023-01-01"}}`` (operators
  ``gt``, ``gte``, ``lt``, ``lte``, ``eq``, ``in``; dates compare as ISO strings).

Every comparison coerces the same way: when one side is a number and the other reads as one, they
compare as numbers (``{"year": "2020"}`` matches the year 2020, as ``{"year": {"gte": "2020"}}`` does);
otherwise both compare as strings. A list-valued field (``co_agencies``) matches equality when it
contains the value and membership when it shares a value with the list. A missing or null field never
matches. A condition of None or NaN is an error (it could match nothing).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from govnlp.errors import ConfigError

__all__ = ["RANGE_OPS", "compile_filters", "parse_filter_expressions"]

RANGE_OPS = ("gt", "gte", "lt", "lte", "eq", "in")

Predicate = Callable[[Mapping[str, Any]], bool]


def _values(v: Any) -> list[Any]:
    if v is None:
        return []
    if isinstance(v, (list, tuple, set, frozenset)):
        return [x for x in v if x is not None]
    return [v]


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _as_number(x: Any) -> float | None:
    if _is_number(x):
        return float(x)
    if isinstance(x, str):
        try:
            v = float(x.strip())
        except ValueError:
            return None
        return v if math.isfinite(v) else None
    return None


def _coerce(field_value: Any, bound: Any) -> tuple[Any, Any] | None:
    """Make a field value and a bound comparable: numbers numerically when one side is a number and the
    other reads as one, otherwise both as strings; None when a number meets a non-number."""
    if _is_number(bound) or _is_number(field_value):
        a, b = _as_number(field_value), _as_number(bound)
        if a is not None and b is not None:
            return a, b
        if _is_number(bound):
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


def _check_value(field: str, value: Any, what: str) -> Any:
    """A filter value, refused when it is None, NaN, infinite or not a plain scalar."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        raise ConfigError(
            f"filter on {field!r}: {what} is {value!r}, which matches nothing; give a value "
            f'(e.g. {{"{field}": {{"gte": 2020}}}}), or leave the field out of the filter.'
        )
    if isinstance(value, (Mapping, list, tuple, set, frozenset)):
        raise ConfigError(f"filter on {field!r}: {what} must be a single value, got {value!r}")
    return value


def _one_of(field: str, values: Any, what: str) -> list[Any]:
    if not isinstance(values, (list, tuple, set, frozenset)):
        values = [values]
    out = [_check_value(field, v, what) for v in values]
    if not out:
        raise ConfigError(f"filter on {field!r}: {what} is an empty list, which matches nothing")
    return out


def _matches_any(vals: list[Any], allowed: list[Any]) -> bool:
    return any(_compare("eq", v, a) for v in vals for a in allowed)


def _condition(field: str, cond: Any) -> Predicate:
    if isinstance(cond, Mapping):
        bad = [op for op in cond if op not in RANGE_OPS]
        if bad or not cond:
            raise ConfigError(
                f"filter on {field!r}: unknown operator(s) {bad} in {dict(cond)!r}; use {list(RANGE_OPS)}"
            )
        ops: list[tuple[str, Any]] = [
            (op, _one_of(field, b, "'in'") if op == "in" else _check_value(field, b, f"{op!r}"))
            for op, b in cond.items()
        ]

        def pred(rec: Mapping[str, Any]) -> bool:
            vals = _values(rec.get(field))
            for op, bound in ops:
                if op == "in":
                    if not _matches_any(vals, bound):
                        return False
                elif not any(_compare(op, v, bound) for v in vals):
                    return False
            return True

        return pred
    allowed = _one_of(field, cond, "the value")
    return lambda rec: _matches_any(_values(rec.get(field)), allowed)


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


# -- the text syntax of the CLI and the web API -----------------------------------------------------------
_EXPRESSION = re.compile(r"^\s*([^=<>\s]+)\s*(>=|<=|=|>|<)\s*(.*?)\s*$")
_OPS = {">=": "gte", "<=": "lte", ">": "gt", "<": "lt"}


def _scalar(value: str) -> Any:
    return int(value) if re.fullmatch(r"-?\d+", value) else value


def parse_filter_expressions(specs: Iterable[str]) -> dict[str, Any]:
    """Filter expressions (the CLI's ``--filter``, the web API's ``filter=``) to a filters dict.

    ``key=value`` is equality (a number also matches the same digits stored as text, e.g.
    ``proposal_number=14``), ``key=a|b`` membership, ``key>=v``/``key<=v``/``key>v``/``key<v`` ranges.
    Field names are checked by the search itself (an unknown field is a ConfigError there).

    Example:
        >>> parse_filter_expressions(["kind=提案答复|建议答复", "year>=2020", "year<=2023"])
        {'kind': ['提案答复', '建议答复'], 'year': {'gte': 2020, 'lte': 2023}}

    Raises:
        TypeError: ``specs`` is a bare str (wrap it in a list).
        ConfigError: an expression that is not ``KEY op VALUE``, or a range on a key that has an equality.
    """
    if isinstance(specs, str):
        raise TypeError("expected a list of filter expressions, got a single str; wrap it in a list")
    out: dict[str, Any] = {}
    for spec in specs:
        m = _EXPRESSION.match(spec)
        if not m or not m.group(3):
            raise ConfigError(
                f"a filter is KEY=VALUE, KEY=A|B, KEY>=V, KEY<=V, KEY>V or KEY<V (e.g. year>=2022); got {spec!r}"
            )
        key, op, value = m.groups()
        if op == "=":
            if isinstance(out.get(key), dict):
                raise ConfigError(f"filter {spec!r}: {key!r} already has a range filter")
            values: list[Any] = []
            for v in value.split("|"):
                values.extend([int(v), v] if isinstance(_scalar(v), int) else [v])
            out[key] = values if len(values) > 1 else values[0]
        else:
            cond = out.setdefault(key, {})
            if not isinstance(cond, dict):
                raise ConfigError(f"filter {spec!r}: {key!r} already has an equality filter")
            cond[_OPS[op]] = _scalar(value)
    return out
