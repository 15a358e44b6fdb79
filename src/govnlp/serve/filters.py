"""Filter expressions as the CLI's ``--filter`` takes them, for the web API's ``filter=`` parameters.

The syntax is the CLI's (``govnlp search --filter``): ``key=value`` equality, ``key=a|b`` membership,
``key>=v``/``key<=v``/``key>v``/``key<v`` ranges. The web face cannot import the CLI face, so the
parser lives here; the CLI keeps its own copy until the search package offers one to both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from govnlp.errors import ConfigError

__all__ = ["parse_filter_expressions"]

_EXPRESSION = re.compile(r"^\s*([^=<>\s]+)\s*(>=|<=|=|>|<)\s*(.*?)\s*$")
_OPS = {">=": "gte", "<=": "lte", ">": "gt", "<": "lt"}


def _scalar(value: str) -> Any:
    return int(value) if re.fullmatch(r"-?\d+", value) else value


def parse_filter_expressions(specs: Iterable[str]) -> dict[str, Any]:
    """Filter expressions to a filters dict for :meth:`govnlp.SearchIndex.search`.

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
