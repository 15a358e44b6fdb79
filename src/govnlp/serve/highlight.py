"""Query terms highlighted in a hit's text, as safe HTML.

Chinese has no spaces, so a "term" is any run of text that shares character bigrams with the query
(the unit the lexical index matches on): every position of the text whose bigram also occurs in the
query is marked, and adjacent marks merge into one ``<mark>``. Everything else is HTML-escaped.

Example:
    >>> str(highlight("推行物业收费公示制度", "物业服务收费不透明"))
    '推行<mark>物业</mark><mark>收费</mark>公示制度'
"""

from __future__ import annotations

from markupsafe import Markup, escape

__all__ = ["highlight", "query_bigrams"]


def _normal(text: str) -> str:
    return text.casefold()


def query_bigrams(query: str) -> set[str]:
    """The bigrams of word characters in ``query`` (casefolded); a one-character query gives itself."""
    q = _normal(query)
    grams = {q[i : i + 2] for i in range(len(q) - 1)}
    grams = {g for g in grams if all(c.isalnum() for c in g)}
    if not grams:
        grams = {c for c in q if c.isalnum()}
    return grams


def highlight(text: str, query: str) -> Markup:
    """``text`` HTML-escaped, with the runs that share bigrams with ``query`` wrapped in ``<mark>``.

    Overlapping matches merge (``物业服务`` from ``物业``+``业服``+``服务``); matches that only touch
    stay separate marks.
    """
    grams = query_bigrams(query)
    if not grams or not text:
        return Markup(escape(text))
    size = len(next(iter(grams)))
    low = _normal(text)
    if len(low) != len(text):  # casefolding changed the length (ß -> ss): match on the raw text
        low = text
    starts = [low[i : i + size] in grams for i in range(len(text) - size + 1)]
    # overlapping matches merge into one span; matches that only touch stay separate marks
    spans: list[tuple[int, int]] = []
    for i, hit in enumerate(starts):
        if not hit:
            continue
        end = i + size
        if spans and i < spans[-1][1]:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((i, end))
    out: list[str] = []
    pos = 0
    for a, b in spans:
        out.append(str(escape(text[pos:a])))
        out.append(f"<mark>{escape(text[a:b])}</mark>")
        pos = b
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))
