"""The main job end to end: past replies in, a new proposal's problems matched to past measures out.

:class:`Pipeline` ties the pieces together: :func:`govnlp.parse_reply` for the replies,
:class:`govnlp.SearchIndex` for the measures, :func:`govnlp.parse_proposal` for the new text, and a
tagger (a trained :class:`govnlp.TextClassifier`, or zero-shot over a built-in taxonomy) for the categories.

Example:
    >>> pipe = Pipeline.build(["replies/2023_0087.txt", "replies/2024_14.docx"])   # doctest: +SKIP
    >>> result = pipe.match("建议加强对老旧小区物业服务企业的监管", k=3)              # doctest: +SKIP
    >>> result.items[0].hits[0].reply_title                                          # doctest: +SKIP
    '临江市住房和城乡建设局关于市政协十三届二次会议第0087号提案的答复'
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govnlp._version import __version__
from govnlp.documents import ProposalDocument, ProposalItem, ReplyDocument
from govnlp.errors import ConfigError, FormatError, ParseError
from govnlp.parsing.vocabulary import SUPPORTED_SUFFIXES
from govnlp.storage import atomic_folder, consistent_load, read_manifest, write_manifest

__all__ = [
    "DEFAULT_TAXONOMY",
    "CategoryScore",
    "ItemMatch",
    "MatchResult",
    "MeasureMatch",
    "Pipeline",
    "demo_pipeline",
    "format_result",
    "load_sources",
    "sample_paths",
]

logger = logging.getLogger(__name__)

FORMAT = "govnlp.pipeline"
FORMAT_VERSION = 1
#: Built-in taxonomy used for zero-shot tagging when no trained classifier is given.
DEFAULT_TAXONOMY = "cppcc"
#: Record units a match may return: measures, and body paragraphs / whole replies that hold no measure.
MATCH_UNITS = ("measure", "paragraph", "document")
#: With hits that carry a relevance (an index with a fitted ranker, see SearchIndex.fit_ranker): an item
#: whose best hit is less likely than this to be relevant gets "no close past measure" (benchmarks/bench_rank.py).
DEFAULT_MIN_RELEVANCE = 0.5
_READABLE = set(SUPPORTED_SUFFIXES)
_SAMPLES = Path(__file__).parent / "data" / "samples"


@dataclass(frozen=True)
class CategoryScore:
    """A predicted category and its probability."""

    label: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "score": self.score}


@dataclass(frozen=True)
class MeasureMatch:
    """A past measure (or reply paragraph) similar to a problem of the new proposal, with its source."""

    id: str
    rank: int
    score: float
    text: str
    unit: str
    reply_title: str | None
    agency: str | None
    date: str | None
    section: str | None
    section_heading: str | None
    problem: str | None
    figures: tuple[dict[str, Any], ...]
    #: the probability that this measure is relevant (from the index's ranker), else None
    relevance: float | None = None

    @classmethod
    def from_hit(cls, hit: Any) -> MeasureMatch:
        r = hit.record
        return cls(
            id=hit.id,
            rank=hit.rank,
            score=float(hit.score),
            text=r.get("text", ""),
            unit=r.get("unit") or "record",
            reply_title=r.get("title"),
            agency=r.get("replying_agency") or r.get("lead_agency"),
            date=r.get("date"),
            section=r.get("section"),
            section_heading=r.get("section_heading"),
            problem=r.get("problem"),
            figures=tuple(r.get("figures") or ()),
            relevance=getattr(hit, "relevance", None),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rank": self.rank,
            "score": self.score,
            "text": self.text,
            "unit": self.unit,
            "reply_title": self.reply_title,
            "agency": self.agency,
            "date": self.date,
            "section": self.section,
            "section_heading": self.section_heading,
            "problem": self.problem,
            "figures": [dict(f) for f in self.figures],
            "relevance": self.relevance,
        }


@dataclass(frozen=True)
class ItemMatch:
    """One problem or suggestion of the proposal with its most similar past measures and its categories."""

    query: ProposalItem
    hits: tuple[MeasureMatch, ...]
    categories: tuple[CategoryScore, ...]
    #: True when the hits carry relevances and the best is under the threshold: no close past measure
    no_close_match: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query.to_dict(),
            "hits": [h.to_dict() for h in self.hits],
            "categories": [c.to_dict() for c in self.categories],
            "no_close_match": self.no_close_match,
        }


@dataclass(frozen=True)
class MatchResult:
    """The result of :meth:`Pipeline.match`: the parsed proposal, its categories, and a match per item."""

    proposal: ProposalDocument
    categories: tuple[CategoryScore, ...]
    items: tuple[ItemMatch, ...]
    #: suggested lead and co-agencies with their evidence (a ``govnlp.Routing``), when a router is present
    routing: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "proposal": self.proposal.to_dict(),
            "categories": [c.to_dict() for c in self.categories],
            "items": [i.to_dict() for i in self.items],
            "routing": self.routing.to_dict() if self.routing is not None else None,
        }


def sample_paths() -> list[Path]:
    """The sample replies shipped with govnlp (the seed reply and nine written for the demo)."""
    return sorted(_SAMPLES.glob("*.txt"))


def load_sources(
    sources: Iterable[ReplyDocument | str | os.PathLike[str]], *, show_progress_bar: bool | None = None
) -> list[ReplyDocument]:
    """Parse reply files (and folders of them, recursively) into documents; documents pass through.

    Raises:
        TypeError: ``sources`` is a bare str (wrap a single path in a list).
        ParseError: a path that does not exist or has an unsupported suffix.
    """
    from govnlp.parsing import parse_reply
    from govnlp.progress import progress

    if isinstance(sources, (str, bytes, os.PathLike)):
        raise TypeError("expected a list of paths or ReplyDocuments, got a single path; wrap it in a list")
    items: list[ReplyDocument | Path] = []
    for src in sources:
        if isinstance(src, ReplyDocument):
            items.append(src)
            continue
        path = Path(src)
        if path.is_dir():
            items.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in _READABLE))
        elif path.is_file():
            items.append(path)
        else:
            raise ParseError(
                f"{path} does not exist; expected a reply file ({', '.join(sorted(_READABLE))}) or a folder"
            )
    docs = []
    for item in progress(items, desc="parsing replies", unit="doc", show_progress_bar=show_progress_bar):
        docs.append(item if isinstance(item, ReplyDocument) else parse_reply(item))
    return docs


def _unique(docs: list[ReplyDocument]) -> list[ReplyDocument]:
    """Drop documents whose content id repeats (the same reply published twice); keep the first."""
    seen: set[str] = set()
    out = []
    for doc in docs:
        if doc.id not in seen:
            seen.add(doc.id)
            out.append(doc)
    if len(out) < len(docs):
        logger.info("skipped %d duplicate replies (same text as an earlier one)", len(docs) - len(out))
    return out


def _top(proba_row: Sequence[float], classes: Sequence[str], top: int) -> tuple[CategoryScore, ...]:
    order = sorted(range(len(classes)), key=lambda j: -float(proba_row[j]))[:top]
    return tuple(CategoryScore(str(classes[j]), round(float(proba_row[j]), 4)) for j in order)


class Pipeline:
    """A search index over past replies plus a tagger; :meth:`match` does the main job.

    Args:
        index: a built :class:`govnlp.SearchIndex`.
        classifier: a fitted tagger with ``predict_proba`` and ``classes_`` (a
            :class:`govnlp.TextClassifier`, or a ``ZeroShotClassifier``), or None for no categories.
        router: a fitted :class:`govnlp.AgencyRouter` whose lead / co-agency suggestions :meth:`match`
            adds, or None.
    """

    def __init__(self, index: Any, classifier: Any | None = None, router: Any | None = None) -> None:
        self.index = index
        self.classifier = classifier
        self.router = router
        self._problem_units: bool | None = None

    @classmethod
    def build(
        cls,
        sources: Iterable[ReplyDocument | str | os.PathLike[str]],
        *,
        embedder: Any = None,
        classifier: Any = "zero-shot",
        router: Any = "auto",
        show_progress_bar: bool | None = None,
        **index_options: Any,
    ) -> Pipeline:
        """Parse ``sources`` (files, folders, ReplyDocuments), index them, and set up the tagger.

        Args:
            sources: reply files (.txt/.html/.docx/.pdf), folders of them, or parsed documents. A reply
                whose text repeats an earlier one (same content id) is indexed once.
            embedder: an Embedder or a spec for :func:`govnlp.load_embedder` (None = the default model).
            classifier: ``"zero-shot"`` (built-in CPPCC taxonomy, same embedder), a fitted
                TextClassifier, a path to a saved one, or None.
            router: ``"auto"`` (learn lead / co-agency routing from these replies with
                :meth:`govnlp.AgencyRouter.from_replies` when they name at least two lead agencies), a
                fitted AgencyRouter, a path to a saved one, or None.
            show_progress_bar: progress bars for parsing and encoding.
            **index_options: passed to :class:`govnlp.SearchIndex` (``fusion``, ``tokenizer``…).
        """
        from govnlp.search import SearchIndex

        docs = _unique(load_sources(sources, show_progress_bar=show_progress_bar))
        if not docs:
            raise ConfigError("no replies to index: the sources held no .txt/.html/.docx/.pdf files")
        index = SearchIndex.build(
            docs, embedder=embedder, show_progress_bar=show_progress_bar, **index_options
        )
        return cls(
            index,
            _resolve_classifier(classifier, index.embedder),
            _resolve_router(router, docs, index.embedder),
        )

    def match(
        self,
        proposal: str | ProposalDocument,
        *,
        k: int = 5,
        mode: str = "hybrid",
        filters: Mapping[str, Any] | None = None,
        top_categories: int = 3,
        top_agencies: int = 3,
        min_relevance: float = DEFAULT_MIN_RELEVANCE,
    ) -> MatchResult:
        """Match each problem / suggestion of a new proposal to the most similar past measures.

        Args:
            proposal: the proposal or message text, or a parsed ``ProposalDocument``.
            k: measures per problem.
            mode: ``"hybrid"``, ``"dense"`` or ``"lexical"``.
            filters: extra metadata filters (``{"year": {"gte": 2023}}``); by default problems restated in
                replies are left out, measures and body paragraphs are searched.
            top_categories: how many categories to report per item and for the whole proposal.
            top_agencies: lead and co-agency suggestions to report when the pipeline has a router.
            min_relevance: when the hits carry a relevance (the index has a fitted ranker), an item whose
                best hit is below it is marked ``no_close_match`` ("no close past measure").
        """
        from govnlp.parsing import parse_proposal

        doc = proposal if isinstance(proposal, ProposalDocument) else parse_proposal(proposal)
        items = doc.queries()
        if not items:
            raise ParseError("the proposal has no text to match; pass the proposal's text")
        flt: dict[str, Any] = {"unit": list(MATCH_UNITS)} if self._has_problem_units() else {}
        flt.update(filters or {})
        hit_lists = self.index.search_batch([it.text for it in items], k=k, mode=mode, filters=flt)
        item_cats: list[tuple[CategoryScore, ...]] = [() for _ in items]
        doc_cats: tuple[CategoryScore, ...] = ()
        if self.classifier is not None:
            whole = doc.text or " ".join(it.text for it in items)
            proba = self.classifier.predict_proba([*(it.text for it in items), whole])
            classes = [str(c) for c in self.classifier.classes_]
            item_cats = [_top(proba[i], classes, top_categories) for i in range(len(items))]
            doc_cats = _top(proba[-1], classes, top_categories)
        routing = self.router.recommend([doc], k=top_agencies)[0] if self.router is not None else None
        return MatchResult(
            proposal=doc,
            categories=doc_cats,
            items=tuple(
                ItemMatch(
                    query=it,
                    hits=tuple(MeasureMatch.from_hit(h) for h in hits),
                    categories=cats,
                    no_close_match=_no_close_match(hits, min_relevance),
                )
                for it, hits, cats in zip(items, hit_lists, item_cats, strict=True)
            ),
            routing=routing,
        )

    def _has_problem_units(self) -> bool:
        """Whether the index holds restated problems to leave out (indexes of parsed replies do; an index
        of plain dict records has no ``unit`` field, and filtering on it would drop every record)."""
        if self._problem_units is None:
            self._problem_units = any(self.index.get(i).get("unit") == "problem" for i in self.index.ids())
        return self._problem_units

    # -- persistence ----------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save as a folder: ``manifest.json``, ``index/`` and, for a trained classifier, ``classifier/``."""
        from govnlp.classify.zeroshot import ZeroShotClassifier

        tagger: dict[str, Any] | None = None
        with atomic_folder(path) as tmp:
            self.index.save(tmp / "index")
            if isinstance(self.classifier, ZeroShotClassifier):
                tax = self.classifier.taxonomy_
                tagger = {"type": "zero-shot", "taxonomy": tax.to_dict()}
            elif self.classifier is not None:
                self.classifier.save(tmp / "classifier")
                tagger = {"type": "classifier"}
            if self.router is not None:
                self.router.save(tmp / "router")
            write_manifest(
                tmp,
                FORMAT,
                FORMAT_VERSION,
                tagger=tagger,
                records=len(self.index),
                router=self.router is not None,
            )
        return Path(path)

    @classmethod
    @consistent_load
    def load(cls, path: str | os.PathLike[str], embedder: Any = None) -> Pipeline:
        """Load a saved pipeline (or a bare saved SearchIndex folder, with zero-shot tagging)."""
        from govnlp.classify.taxonomy import Taxonomy
        from govnlp.search import SearchIndex
        from govnlp.storage import MANIFEST

        path = Path(path)
        if (path / MANIFEST).is_file() and (path / "index").is_dir():
            manifest = read_manifest(path, FORMAT, FORMAT_VERSION)
            index = SearchIndex.load(path / "index", embedder=embedder)
            tagger = manifest.get("tagger") or {}
            if tagger.get("type") == "zero-shot":
                classifier: Any = _resolve_classifier(Taxonomy.from_dict(tagger["taxonomy"]), index.embedder)
            elif tagger.get("type") == "classifier":
                from govnlp.classify import TextClassifier

                classifier = TextClassifier.load(path / "classifier")
            else:
                classifier = None
            router = None
            if manifest.get("router"):
                from govnlp.routing import AgencyRouter

                router = AgencyRouter.load(path / "router")
            return cls(index, classifier, router)
        try:
            index = SearchIndex.load(path, embedder=embedder)
        except FormatError as exc:
            raise FormatError(f"{path} is neither a saved govnlp pipeline nor a search index: {exc}") from exc
        return cls(index, _resolve_classifier("zero-shot", index.embedder))

    def __repr__(self) -> str:
        return f"Pipeline(index={self.index!r}, classifier={type(self.classifier).__name__})"


def _resolve_classifier(classifier: Any, embedder: Any) -> Any:
    """Turn the ``classifier`` argument of :meth:`Pipeline.build` into a fitted tagger (or None)."""
    if classifier is None:
        return None
    from govnlp.classify.taxonomy import Taxonomy
    from govnlp.classify.zeroshot import ZeroShotClassifier

    if isinstance(classifier, str) and classifier == "zero-shot":
        classifier = Taxonomy.load(DEFAULT_TAXONOMY)
    if isinstance(classifier, Taxonomy):
        return ZeroShotClassifier(classifier, embedder=embedder, level=None).fit()
    if isinstance(classifier, (str, os.PathLike)):
        from govnlp.classify import TextClassifier

        return TextClassifier.load(classifier)
    if not hasattr(classifier, "predict_proba") or not hasattr(classifier, "classes_"):
        raise ConfigError(
            f"classifier must be 'zero-shot', a Taxonomy, a fitted TextClassifier or a path to one; "
            f"got {type(classifier).__name__}"
        )
    return classifier


def _no_close_match(hits: Sequence[Any], min_relevance: float) -> bool:
    """Whether hits that carry relevances are all below ``min_relevance`` (hits without any: False)."""
    rel = [h.relevance for h in hits if getattr(h, "relevance", None) is not None]
    return bool(rel) and max(rel) < min_relevance


def _resolve_router(router: Any, docs: list[ReplyDocument], embedder: Any = None) -> Any:
    """Turn the ``router`` argument of :meth:`Pipeline.build` into a fitted AgencyRouter (or None)."""
    if router is None:
        return None
    from govnlp.routing import AgencyRouter

    if isinstance(router, str) and router == "auto":
        n_leads = len({d.lead_agency or d.replying_agency for d in docs} - {None, ""})
        if n_leads < 2:
            logger.info("no agency routing: the replies name %d lead agencies (2 or more needed)", n_leads)
            return None
        return AgencyRouter.from_replies(docs, embedder=embedder)
    if isinstance(router, (str, os.PathLike)):
        return AgencyRouter.load(router)
    if not hasattr(router, "recommend"):
        raise ConfigError(
            f"router must be 'auto', an AgencyRouter or a path to one; got {type(router).__name__}"
        )
    return router


def demo_pipeline(
    embedder: Any = None,
    *,
    cache: str | os.PathLike[str] | None = None,
    show_progress_bar: bool | None = None,
) -> Pipeline:
    """The demo pipeline over the sample replies shipped with govnlp, built on first use and cached.

    The cache key covers the govnlp version, the search defaults, the sample files and the embedder's
    fingerprint, so a new model, new defaults or new samples build a new demo index.
    """
    from govnlp.embedders import load_embedder
    from govnlp.embedders.filehash import cache_dir
    from govnlp.search import search_index
    from govnlp.search.fusion import DEFAULT_FUSION
    from govnlp.search.lexical import DEFAULT_LEXICAL

    emb = load_embedder(embedder)
    defaults = (
        f"{DEFAULT_LEXICAL}|{DEFAULT_FUSION}|{search_index.DEFAULT_CLEAN}|{search_index.DEFAULT_LONG_TEXT}|"
        f"{search_index.DEFAULT_CLEAN_LEXICAL}"
    )
    h = hashlib.sha256(f"{__version__}\x1f{defaults}\x1f{emb.fingerprint()}\x1frouter".encode())
    for p in sample_paths():
        h.update(p.name.encode() + b"\x1f" + p.read_bytes())
    folder = Path(cache) if cache is not None else cache_dir() / "demo" / h.hexdigest()[:16]
    if (folder / "manifest.json").is_file():
        try:
            return Pipeline.load(folder, embedder=emb)
        except FormatError as exc:
            logger.warning("rebuilding the demo index at %s: %s", folder, exc)
    logger.info("building the demo index over %d sample replies (once) into %s", len(sample_paths()), folder)
    pipe = Pipeline.build(sample_paths(), embedder=emb, show_progress_bar=show_progress_bar)
    pipe.save(folder)
    return pipe


def shorten(text: str, width: int) -> str:
    """Collapse whitespace and cut to ``width`` characters with an ellipsis (for terminal output)."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_result(result: MatchResult) -> str:
    """A plain-text report of a match: per problem, the similar past measures with source and figures."""
    lines: list[str] = []
    cats = "、".join(f"{c.label} {c.score:.2f}" for c in result.categories) or "—"
    lines.append(f"提案：{result.proposal.title or shorten(result.proposal.text, 40)}")
    lines.append(f"类别：{cats}")
    if result.routing is not None:
        for label, agencies in (("建议主办", result.routing.lead), ("建议会办", result.routing.co)):
            text = "；".join(
                f"{a.agency} {a.score:.2f}"
                + (f"（依据：{shorten('、'.join(a.evidence[:2]), 60)}）" if a.evidence else "")
                for a in agencies
            )
            lines.append(f"{label}：{text or '—'}")
    for i, item in enumerate(result.items, 1):
        icats = "、".join(c.label for c in item.categories)
        lines.append("")
        lines.append(f"[{i}] {item.query.text}" + (f"   〔{icats}〕" if icats else ""))
        if not item.hits:
            lines.append("    (no similar past measures)")
        elif item.no_close_match:
            best = max(h.relevance or 0.0 for h in item.hits)
            lines.append(f"    no close past measure (best relevance {best:.2f}); the nearest were:")
        for h in item.hits:
            rel = f", relevance {h.relevance:.2f}" if h.relevance is not None else ""
            lines.append(f"  {h.rank}. ({h.score:.3f}{rel}) {shorten(h.text, 90)}")
            where = h.section_heading and f"{h.section}、{h.section_heading}"
            source = " · ".join(x for x in (h.reply_title, h.agency, h.date, where) if x)
            lines.append("     " + shorten(f"来源：{source}", 110))
            if h.problem and h.unit == "measure":
                lines.append(f"     针对：{shorten(h.problem, 60)}")
            if h.figures:
                lines.append("     数据：" + "；".join(shorten(f.get("text", ""), 30) for f in h.figures[:4]))
    return "\n".join(lines)
