"""govnlp filters translated into Milvus boolean expressions (applied by Milvus before ranking).

The translation keeps the meaning of :func:`govnlp.search.filters.compile_filters` exactly, field type by
field type; where Milvus cannot express that meaning the translation raises
:class:`FilterTranslationError` (a :class:`~govnlp.errors.ConfigError`) naming the field and the reason.
A filter is never dropped or loosened.

Field kinds (the Milvus scalar type each record field got when the collection was made):

=============  ====================  ==========================================================
kind           Milvus type           filters
=============  ====================  ==========================================================
``str``        VARCHAR               equality, membership, ranges with string bounds (code-point
                                     order, as Python compares str)
``int``        INT64                 equality, membership, ranges with numeric bounds
``float``      DOUBLE                the same as ``int``
``bool``       BOOL                  equality, membership
``str_list``   ARRAY<VARCHAR>        equality (contains), membership (shares a value), ``in``
``json``       JSON (not filterable) none: raises
=============  ====================  ==========================================================

A null field never matches, as in govnlp (a Milvus comparison with null is false).

Example:
    >>> milvus_filter({"kind": ["提案答复", "建议答复"], "year": {"gte": 2020}},
    ...               {"kind": "str", "year": "int"})
    'kind in ["提案答复", "建议答复"] and (year >= 2020)'
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from govnlp.errors import ConfigError
from govnlp.scale._compat import RANGE_OPS

__all__ = ["FIELD_KINDS", "FilterTranslationError", "milvus_filter"]

FIELD_KINDS = ("str", "int", "float", "bool", "str_list", "json")
_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "=="}
#: An expression no record matches (the primary key of a govnlp collection is ``id``).
NOTHING = "id in []"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")


class FilterTranslationError(ConfigError):
    """A govnlp filter that has no exact Milvus expression (it is refused, never dropped)."""


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _lit(v: Any) -> str:
    """A Milvus literal: strings double-quoted with JSON escapes, numbers as written, booleans lower-case."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, float) and not math.isfinite(v):
        raise FilterTranslationError(f"cannot put the non-finite number {v!r} in a Milvus filter")
    return repr(v) if isinstance(v, float) else str(int(v))


def _matching(kind: str, values: list[Any]) -> list[Any]:
    """The values that can equal a stored value of ``kind`` under Python equality (others never match)."""
    out: list[Any] = []
    for v in values:
        if v is None:
            continue
        if kind in ("str", "str_list") and isinstance(v, str):
            out.append(v)
        elif kind == "int" and _is_num(v) and float(v).is_integer():
            out.append(int(v))
        elif kind == "float" and _is_num(v):
            out.append(float(v))
        elif kind == "bool" and isinstance(v, bool):
            out.append(v)
    return list(dict.fromkeys(out))


def _membership(field: str, kind: str, values: list[Any]) -> str:
    vals = _matching(kind, values)
    if not vals:
        return NOTHING  # no value can equal a stored one: nothing matches
    if kind == "str_list":
        return f"array_contains_any({field}, [{', '.join(_lit(v) for v in vals)}])"
    if len(vals) == 1:
        return f"{field} == {_lit(vals[0])}"
    return f"{field} in [{', '.join(_lit(v) for v in vals)}]"


def _range(field: str, kind: str, op: str, bound: Any) -> str:
    if kind == "str_list":
        if op == "eq" and isinstance(bound, str):
            return f"array_contains({field}, {_lit(bound)})"
        raise FilterTranslationError(
            f"filter on {field!r}: {op!r} on a list field compares every element; Milvus has no such "
            "expression for arrays. Use equality or membership ({field: [values]}) instead."
        )
    if kind in ("int", "float"):
        if _is_num(bound):
            return f"{field} {_OPS[op]} {_lit(bound)}"
        # str(value) == bound exactly when value == int(bound), for a canonical integer string
        if op == "eq" and kind == "int" and isinstance(bound, str) and re.fullmatch(r"-?[1-9]\d*|0", bound):
            return f"{field} == {int(bound)}"
        raise FilterTranslationError(
            f"filter on {field!r}: the bound {bound!r} is a string but the field holds numbers; govnlp "
            "would compare them as text, which Milvus cannot. Give a number as the bound."
        )
    if kind == "str":
        if isinstance(bound, str):
            return f"{field} {_OPS[op]} {_lit(bound)}"
        raise FilterTranslationError(
            f"filter on {field!r}: the bound {bound!r} is a number but the field holds text; govnlp would "
            "read each value as a number, which Milvus cannot. Give the bound as a string (dates as "
            "'2023-01-01')."
        )
    if kind == "bool" and op == "eq" and isinstance(bound, bool):
        return f"{field} == {_lit(bound)}"
    raise FilterTranslationError(f"filter on {field!r}: {op!r} is not supported on a {kind} field in Milvus")


def _condition(field: str, kind: str, cond: Any) -> str:
    if kind == "json":
        raise FilterTranslationError(
            f"filter on {field!r}: this field holds nested or mixed-type values and is stored in Milvus only "
            "as part of the record, not as a scalar field; it cannot be filtered there. Filter it with "
            "govnlp's SearchIndex, or give it one scalar type in every record before building the collection."
        )
    if isinstance(cond, Mapping):
        bad = [op for op in cond if op not in RANGE_OPS]
        if bad or not cond:
            raise ConfigError(
                f"filter on {field!r}: unknown operator(s) {bad} in {dict(cond)!r}; use {list(RANGE_OPS)}"
            )
        parts = []
        for op, bound in cond.items():
            if op == "in":
                vals = list(bound) if isinstance(bound, (list, tuple, set, frozenset)) else [bound]
                parts.append(_membership(field, kind, vals))
            else:
                parts.append(_range(field, kind, op, bound))
        return "(" + " and ".join(parts) + ")"
    if isinstance(cond, (list, tuple, set, frozenset)):
        return _membership(field, kind, list(cond))
    return _membership(field, kind, [cond])


def milvus_filter(filters: Mapping[str, Any] | None, fields: Mapping[str, str]) -> str:
    """The Milvus boolean expression for govnlp ``filters`` ('' when there is nothing to filter).

    Args:
        filters: a govnlp filter dict (see :mod:`govnlp.search.filters`).
        fields: field name -> kind (one of :data:`FIELD_KINDS`) of the collection's record fields.

    Raises:
        ConfigError: ``filters`` is not a dict, names a field no record has, or uses an unknown operator.
        FilterTranslationError: a condition Milvus cannot express with the same meaning.
    """
    if not filters:
        return ""
    if not isinstance(filters, Mapping):
        raise ConfigError(f"filters must be a dict {{field: condition}}, got {type(filters).__name__}")
    unknown = sorted(k for k in filters if k not in fields)
    if unknown:
        raise ConfigError(f"unknown filter field(s) {unknown}; the index records have: {sorted(fields)}")
    parts = []
    for field, cond in filters.items():
        if not _NAME.match(field):
            raise FilterTranslationError(
                f"filter on {field!r}: Milvus field names are ASCII identifiers, so this field is kept only in "
                "the stored record and cannot be filtered in Milvus"
            )
        parts.append(_condition(field, fields[field], cond))
    return " and ".join(parts)
