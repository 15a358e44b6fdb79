"""What the web page and the JSON API do, without the web framework: search, match, tag, replies, health.

:class:`Service` wraps one loaded :class:`govnlp.Pipeline` (its index is loaded once, at start) and
serialises the calls into it with a lock: the model's tokenizer is not safe to call from two threads at
once, and one query at a time on a small machine is also the fastest way through a burst.

Example:
    >>> svc = Service(Pipeline.build(paths, embedder="hash"))               # doctest: +SKIP
    >>> svc.search("老旧小区物业收费", k=3, filters=["year>=2023"])[0]["title"]  # doctest: +SKIP
    '临江市住房和城乡建设局关于市政协十三届二次会议第0087号提案的答复'
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from govnlp._version import __version__
from govnlp.errors import ConfigError, ParseError
from govnlp.pipeline import CategoryScore, MatchResult, Pipeline
from govnlp.search import SearchIndex
from govnlp.search.filters import parse_filter_expressions
from govnlp.search.records import check_unicode

__all__ = ["MAX_K", "MAX_TEXT_CHARS", "Service", "hit_view"]

#: The longest query or proposal text accepted (characters).
MAX_TEXT_CHARS = 20_000
#: The most hits one request may ask for.
MAX_K = 100

_NUMERALS = {c: i for i, c in enumerate("一二三四五六七八九十", 1)}


def _numeral_key(number: str | None) -> tuple[int, str]:
    """Sort key of a section number as written (``一``, ``十二``, ``3``); unknown forms sort last."""
    if number is None:
        return (-1, "")
    if number.isdigit():
        return (int(number), number)
    if all(c in _NUMERALS for c in number):
        if len(number) == 1:
            return (_NUMERALS[number], number)
        if number.startswith("十"):
            return (10 + _NUMERALS.get(number[1:], 0), number)
        tens, _, ones = number.partition("十")
        return (_NUMERALS.get(tens, 0) * 10 + _NUMERALS.get(ones, 0), number)
    return (10_000, number)


def hit_view(hit: Any) -> dict[str, Any]:
    """A search hit as the API returns it: its scores and its record's text and source, flat."""
    r = hit.record
    return {
        "id": hit.id,
        "rank": hit.rank,
        "score": float(hit.score),
        "dense_score": hit.dense_score,
        "lexical_score": hit.lexical_score,
        "text": r.get("text", ""),
        "unit": r.get("unit") or "record",
        "doc_id": r.get("doc_id"),
        "title": r.get("title"),
        "kind": r.get("kind"),
        "agency": r.get("replying_agency") or r.get("lead_agency"),
        "lead_agency": r.get("lead_agency"),
        "date": r.get("date"),
        "year": r.get("year"),
        "section": r.get("section"),
        "section_heading": r.get("section_heading"),
        "problem": r.get("problem"),
        "ordinal": r.get("ordinal"),
        "figures": [dict(f) for f in r.get("figures") or ()],
    }


class Service:
    """One loaded pipeline behind a lock, with the views the page and the API show.

    Args:
        pipeline_or_index: a :class:`govnlp.Pipeline`, a :class:`govnlp.SearchIndex` (tagged zero-shot
            with the built-in taxonomy), or the path of a saved pipeline or index folder.
        source: how the index is named in ``/api/health`` (default: the path, or ``"in-memory"``).
        warm_up: run one query at once, so that the model is loaded before the first request.
    """

    def __init__(
        self,
        pipeline_or_index: Pipeline | SearchIndex | str | os.PathLike[str],
        *,
        source: str | None = None,
        warm_up: bool = True,
    ) -> None:
        obj = pipeline_or_index
        if isinstance(obj, (str, os.PathLike)):
            source = source or str(Path(obj))
            obj = Pipeline.load(obj)
        if isinstance(obj, SearchIndex):
            obj = Pipeline(obj, _zero_shot(obj))
        if not isinstance(obj, Pipeline):
            raise ConfigError(
                "create_app() needs a Pipeline, a SearchIndex or the path of a saved one; "
                f"got {type(obj).__name__}"
            )
        self.pipeline = obj
        self.index: Any = obj.index
        self.source = source or "in-memory"
        self._lock = threading.Lock()
        self._docs = self._group_documents()
        # the index does not change while it is served: count once
        self._units = Counter(str(self.index.get(rid).get("unit") or "record") for rid in self.index.ids())
        if warm_up and len(self.index):
            self.search("warm up", k=1)

    # -- the index at a glance ------------------------------------------------------------------------
    def _group_documents(self) -> dict[str, list[str]]:
        """doc_id -> the ids of its records, in index order (records without a doc_id are not grouped)."""
        docs: dict[str, list[str]] = {}
        for rid in self.index.ids():
            doc_id = self.index.get(rid).get("doc_id")
            if doc_id:
                docs.setdefault(str(doc_id), []).append(rid)
        return docs

    def has_reply(self, doc_id: str) -> bool:
        """Whether the index holds records of the reply ``doc_id`` (so that ``/reply/{doc_id}`` exists)."""
        return doc_id in self._docs

    def field_values(self, field: str, limit: int = 200) -> list[str]:
        """The distinct values of a record field, most frequent first (for the page's filter menus)."""
        counts: Counter[str] = Counter()
        for rid in self.index.ids():
            value = self.index.get(rid).get(field)
            for v in value if isinstance(value, list) else [value]:
                if v not in (None, ""):
                    counts[str(v)] += 1
        return [v for v, _ in counts.most_common(limit)]

    def health(self) -> dict[str, Any]:
        """The index (source, counts, fields), the embedder and the tagger, and the govnlp version."""
        emb = self.index.embedder
        tagger = self.pipeline.classifier
        return {
            "status": "ok",
            "version": __version__,
            "index": {
                "source": self.source,
                "records": len(self.index),
                "documents": len(self._docs),
                "units": dict(sorted(self._units.items())),
                "fields": list(self.index.fields),
            },
            "embedder": {"name": emb.name, "dim": int(emb.dim)},
            "tagger": None
            if tagger is None
            else {"type": type(tagger).__name__, "labels": len(list(tagger.classes_))},
        }

    # -- the three jobs -------------------------------------------------------------------------------
    def search(
        self, query: str, *, k: int = 5, filters: Iterable[str] | Mapping[str, Any] = (), mode: str = "hybrid"
    ) -> list[dict[str, Any]]:
        """The ``k`` best records for ``query`` as :func:`hit_view` dicts.

        Args:
            filters: filter expressions as the CLI takes them (``year>=2022``, ``kind=提案答复|建议答复``)
                or a filters dict.

        Raises:
            ConfigError: a bad ``k``, mode, filter expression or filter field; an empty or too long query.
        """
        query = _check_text(query, "the query")
        _check_k(k)
        flt = filters if isinstance(filters, Mapping) else parse_filter_expressions(list(filters))
        with self._lock:
            hits = self.index.search(query, k=k, mode=mode, filters=flt)
        return [hit_view(h) for h in hits]

    def match(
        self, text: str, *, k: int = 5, filters: Iterable[str] | Mapping[str, Any] = (), mode: str = "hybrid"
    ) -> MatchResult:
        """:meth:`govnlp.Pipeline.match` with the same checks as :meth:`search`."""
        text = _check_text(text, "the proposal text")
        _check_k(k)
        flt = filters if isinstance(filters, Mapping) else parse_filter_expressions(list(filters))
        with self._lock:
            return self.pipeline.match(text, k=k, mode=mode, filters=flt)

    def tag(self, text: str, *, top: int = 3) -> list[CategoryScore]:
        """The ``top`` categories of ``text``, best first.

        Raises:
            ConfigError: the pipeline has no tagger, ``top`` is not positive, or the text is empty / too long.
        """
        text = _check_text(text, "the text")
        if not isinstance(top, int) or isinstance(top, bool) or top <= 0:
            raise ConfigError(f"top must be a positive int, got {top!r}")
        clf = self.pipeline.classifier
        if clf is None:
            raise ConfigError("this server's pipeline has no tagger; serve a pipeline saved with one")
        with self._lock:
            proba = clf.predict_proba([text])[0]
        classes = [str(c) for c in clf.classes_]
        order = sorted(range(len(classes)), key=lambda j: -float(proba[j]))[:top]
        return [CategoryScore(classes[j], round(float(proba[j]), 4)) for j in order]

    # -- one reply -----------------------------------------------------------------------------------
    def reply(self, doc_id: str) -> dict[str, Any]:
        """The indexed reply ``doc_id`` rebuilt from its records: metadata, then per section (in the
        order of their numbers) its paragraphs, its problems with the paragraphs and measures under each,
        and the measures that answer no problem. Boilerplate (salutation, thanks, contact) is not indexed
        and so not shown.

        Raises:
            KeyError: no reply with that id in the index.
        """
        rids = self._docs.get(doc_id)
        if not rids:
            raise KeyError(doc_id)
        records = [self.index.get(rid) for rid in rids]
        first = records[0]
        sections: dict[str | None, dict[str, Any]] = {}

        def section(rec: dict[str, Any]) -> dict[str, Any]:
            number = rec.get("section")
            if number not in sections:
                sections[number] = {
                    "number": number,
                    "heading": rec.get("section_heading"),
                    "paragraphs": [],
                    "problems": [],
                    "measures": [],
                    "_problems": {},
                }
            sec = sections[number]
            sec["heading"] = sec["heading"] or rec.get("section_heading")
            return sec

        def problem(sec: dict[str, Any], text: str, ordinal: str | None = None) -> dict[str, Any]:
            if text not in sec["_problems"]:
                entry: dict[str, Any] = {"text": text, "ordinal": ordinal, "paragraphs": [], "measures": []}
                sec["_problems"][text] = entry
                sec["problems"].append(entry)
            return sec["_problems"][text]

        # problems first, so that they keep their own order; then measures and paragraphs
        for rec in records:
            if rec.get("unit") == "problem":
                problem(section(rec), rec.get("text", ""), rec.get("ordinal"))
        for rec in records:
            unit = rec.get("unit")
            if unit == "measure":
                sec = section(rec)
                view = _measure_view(rec)
                if rec.get("problem"):
                    problem(sec, str(rec["problem"]))["measures"].append(view)
                else:
                    sec["measures"].append(view)
            elif unit in ("paragraph", "document"):
                sec = section(rec)
                para = {"id": rec["id"], "text": rec.get("text", "")}
                if rec.get("problem"):
                    problem(sec, str(rec["problem"]))["paragraphs"].append(para)
                else:
                    sec["paragraphs"].append(para)
        ordered = sorted(sections.values(), key=lambda s: _numeral_key(s["number"]))
        for sec in ordered:
            del sec["_problems"]
        return {
            "doc_id": doc_id,
            "title": first.get("title"),
            "kind": first.get("kind"),
            "lead_agency": first.get("lead_agency"),
            "replying_agency": first.get("replying_agency"),
            "co_agencies": list(first.get("co_agencies") or []),
            "proposal_number": first.get("proposal_number"),
            "date": first.get("date"),
            "records": len(records),
            "measures": sum(1 for r in records if r.get("unit") == "measure"),
            "sections": ordered,
        }


def _measure_view(rec: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": rec["id"],
        "ordinal": rec.get("ordinal"),
        "text": rec.get("text", ""),
        "figures": [dict(f) for f in rec.get("figures") or ()],
    }


def _check_text(text: Any, what: str) -> str:
    if not isinstance(text, str):
        raise ConfigError(f"{what} must be a string, got {type(text).__name__}")
    if not text.strip():
        raise ParseError(f"{what} is empty; give some text")
    check_unicode(text, what)
    if len(text) > MAX_TEXT_CHARS:
        raise ConfigError(
            f"{what} has {len(text):,} characters; at most {MAX_TEXT_CHARS:,} are accepted — shorten it"
        )
    return text


def _check_k(k: Any) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_K:
        raise ConfigError(f"k must be a whole number from 1 to {MAX_K}, got {k!r}")


def _zero_shot(index: SearchIndex) -> Any:
    """The default tagger of a bare index: zero-shot over the built-in taxonomy, with the index's embedder."""
    from govnlp.classify.taxonomy import Taxonomy
    from govnlp.classify.zeroshot import ZeroShotClassifier
    from govnlp.pipeline import DEFAULT_TAXONOMY

    return ZeroShotClassifier(Taxonomy.load(DEFAULT_TAXONOMY), embedder=index.embedder, level=None).fit()
