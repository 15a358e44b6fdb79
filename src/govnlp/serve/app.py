"""The FastAPI application: the JSON API under ``/api``, its OpenAPI page at ``/docs``, and the page.

Every asset (templates, CSS, the script, the OpenAPI page's Swagger UI) ships inside the installed
packages: the page loads nothing from another host.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field

from govnlp._version import __version__
from govnlp.documents import REPLY_KINDS
from govnlp.errors import GovnlpError
from govnlp.serve.highlight import highlight
from govnlp.serve.service import MAX_K, MAX_TEXT_CHARS, Service

__all__ = ["create_app"]

_HERE = Path(__file__).parent
TEMPLATES = _HERE / "templates"
STATIC = _HERE / "static"

Mode = Literal["hybrid", "dense", "lexical"]
#: The page's security headers: nothing from other hosts, no inline script.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_DESCRIPTION = """Search the replies of past years, match a new proposal's problems to past measures, tag text.

Filters use the CLI's syntax (`govnlp search --filter`), one `filter` parameter each: `year>=2022`,
`kind=提案答复|建议答复`, `lead_agency=市住建局`. Bad parameters get a 4xx with a `detail` message.
"""


# -- API models (they document the JSON in /docs) ---------------------------------------------------------
class Figure(BaseModel):
    value: float
    unit: str
    text: str


class HitOut(BaseModel):
    id: str = Field(description="record id: {doc_id}/{unit id} for parsed replies")
    rank: int
    score: float = Field(description="what the hits are ranked by (the fused score in hybrid mode)")
    dense_score: float | None = None
    lexical_score: float | None = None
    text: str
    unit: str = Field(description="measure, problem, paragraph, document, or record")
    doc_id: str | None = None
    title: str | None = None
    kind: str | None = None
    agency: str | None = Field(None, description="the replying agency, else the lead agency")
    lead_agency: str | None = None
    date: str | None = None
    year: int | None = None
    section: str | None = None
    section_heading: str | None = None
    problem: str | None = None
    ordinal: str | None = None
    figures: list[Figure] = []


class SearchOut(BaseModel):
    query: str
    k: int
    filters: list[str]
    hits: list[HitOut]


class MatchIn(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS, description="the proposal or message text")
    k: int = Field(5, ge=1, le=MAX_K, description="past measures per problem")
    filter: list[str] = Field(default_factory=list, description="filter expressions, e.g. year>=2022")
    mode: Mode = "hybrid"


class SearchIn(BaseModel):
    q: str = Field(min_length=1, max_length=MAX_TEXT_CHARS, description="the query text")
    k: int = Field(5, ge=1, le=MAX_K, description="number of hits")
    filter: list[str] = Field(default_factory=list, description="filter expressions, e.g. year>=2022")
    mode: Mode = "hybrid"


class TagIn(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    top: int = Field(3, ge=1, le=50, description="how many categories")


class CategoryOut(BaseModel):
    label: str
    score: float


class TagOut(BaseModel):
    categories: list[CategoryOut]


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err.get("loc", ()) if x not in ("query", "body", "path"))
        parts.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def _plain_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """The validation errors without the offending input (it may be 20,000 characters, or not encodable)."""
    return [
        {
            "type": str(e.get("type", "")),
            "loc": [str(x) for x in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
        }
        for e in exc.errors()
    ]


def create_app(
    pipeline_or_index: Any,
    *,
    source: str | None = None,
    warm_up: bool = True,
) -> FastAPI:
    """The web app over a pipeline, an index, or a saved folder of either.

    Args:
        pipeline_or_index: a :class:`govnlp.Pipeline`, a :class:`govnlp.SearchIndex`, the path of a
            saved pipeline or index folder, or a :class:`govnlp.serve.Service`. Loaded once, here.
        source: how ``/api/health`` names the index (default: the path, or ``in-memory``).
        warm_up: run one query before serving, so that the first request does not load the model.

    Example:
        >>> import uvicorn
        >>> uvicorn.run(create_app(Pipeline.load("replies.pipeline")), port=8000)   # doctest: +SKIP
    """
    svc = (
        pipeline_or_index
        if isinstance(pipeline_or_index, Service)
        else Service(pipeline_or_index, source=source, warm_up=warm_up)
    )
    app = FastAPIOffline(
        title="govnlp",
        version=__version__,
        description=_DESCRIPTION,
        favicon_url="/static/favicon.svg",
    )
    app.state.service = svc
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.filters["highlight"] = highlight
    templates.env.globals.update(version=__version__, kinds=REPLY_KINDS, max_chars=MAX_TEXT_CHARS)
    agencies = svc.field_values("lead_agency")
    years = sorted({int(y) for y in svc.field_values("year") if str(y).isdigit()})

    @app.exception_handler(GovnlpError)
    async def _govnlp_error(request: Request, exc: GovnlpError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"detail": _validation_message(exc), "errors": _plain_errors(exc)}, status_code=422
        )

    # -- JSON API ------------------------------------------------------------------------------------
    @app.get("/api/search", response_model=SearchOut, tags=["api"])
    def api_search(
        q: Annotated[str, Query(min_length=1, max_length=MAX_TEXT_CHARS, description="the query text")],
        k: Annotated[int, Query(ge=1, le=MAX_K, description="number of hits")] = 5,
        filter: Annotated[
            list[str] | None, Query(description="repeatable: year>=2022, kind=提案答复|建议答复")
        ] = None,
        mode: Mode = "hybrid",
    ) -> dict[str, Any]:
        """The `k` records most similar to `q`: measures, problems and paragraphs of past replies."""
        filters = filter or []
        return {
            "query": q,
            "k": k,
            "filters": filters,
            "hits": svc.search(q, k=k, filters=filters, mode=mode),
        }

    @app.post("/api/search", response_model=SearchOut, tags=["api"])
    def api_search_post(body: SearchIn) -> dict[str, Any]:
        """`GET /api/search` with the query in a JSON body (a long query: URLs have a size limit)."""
        hits = svc.search(body.q, k=body.k, filters=body.filter, mode=body.mode)
        return {"query": body.q, "k": body.k, "filters": body.filter, "hits": hits}

    @app.get("/api/match", tags=["api"])
    def api_match_get(
        text: Annotated[str, Query(min_length=1, max_length=MAX_TEXT_CHARS, description="the proposal")],
        k: Annotated[int, Query(ge=1, le=MAX_K, description="past measures per problem")] = 5,
        filter: Annotated[list[str] | None, Query(description="repeatable filter expressions")] = None,
        mode: Mode = "hybrid",
    ) -> dict[str, Any]:
        """A proposal's problems and suggestions, each with similar past measures and categories
        (`MatchResult.to_dict()`)."""
        return svc.match(text, k=k, filters=filter or [], mode=mode).to_dict()

    @app.post("/api/match", tags=["api"])
    def api_match_post(body: MatchIn) -> dict[str, Any]:
        """`GET /api/match` with the proposal in a JSON body (for long texts)."""
        return svc.match(body.text, k=body.k, filters=body.filter, mode=body.mode).to_dict()

    @app.post("/api/tag", response_model=TagOut, tags=["api"])
    def api_tag(body: TagIn) -> dict[str, Any]:
        """The categories of a text, best first, with their probabilities."""
        return {"categories": [c.to_dict() for c in svc.tag(body.text, top=body.top)]}

    @app.get("/api/reply/{doc_id}", tags=["api"])
    def api_reply(doc_id: str) -> Response:
        """One indexed reply rebuilt from its records: sections, problems with their measures."""
        try:
            return JSONResponse(svc.reply(doc_id))
        except KeyError:
            return JSONResponse({"detail": f"no reply with id {doc_id!r} in this index"}, status_code=404)

    @app.get("/api/health", tags=["api"])
    def api_health() -> dict[str, Any]:
        """The index (source, records, documents, fields), the embedder, the tagger and the version."""
        return svc.health()

    # -- the page ------------------------------------------------------------------------------------
    def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
        base = {"agencies": agencies, "years": years, "service": svc}
        resp = templates.TemplateResponse(request, name, {**base, **context}, status_code=status)
        resp.headers.update(_PAGE_HEADERS)
        return resp

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(
        request: Request,
        q: str = "",
        k: str = "10",
        kind: Annotated[list[str] | None, Query()] = None,
        year_from: str = "",
        year_to: str = "",
        agency: str = "",
        filter: Annotated[list[str] | None, Query()] = None,
        mode: str = "hybrid",
    ) -> HTMLResponse:
        form = {
            "q": q,
            "k": k,
            "kind": kind or [],
            "year_from": year_from,
            "year_to": year_to,
            "agency": agency,
            "filter": filter or [],
            "mode": mode,
        }
        context: dict[str, Any] = {"form": form, "hits": None, "error": None}
        if q.strip():
            try:
                exprs = _page_filters(kind or [], year_from, year_to, agency, filter or [])
                context["hits"] = svc.search(q, k=_page_int(k, "k"), filters=exprs, mode=_page_mode(mode))
                context["filters"] = exprs
            except GovnlpError as exc:
                context["error"] = str(exc)
                return page(request, "index.html", context, status=400)
        return page(request, "index.html", context)

    def render_match(request: Request, text: str, k: str) -> HTMLResponse:
        form = {"q": "", "k": "10", "kind": [], "year_from": "", "year_to": "", "agency": "", "filter": []}
        context: dict[str, Any] = {"form": form, "proposal": text, "match_k": k, "hits": None, "error": None}
        if request.method == "GET" and not text.strip():
            return page(request, "index.html", context)  # a bare link to the form
        try:
            context["match"] = svc.match(text, k=_page_int(k, "k")).to_dict()
        except GovnlpError as exc:
            context["error"] = str(exc)
            return page(request, "index.html", context, status=400)
        return page(request, "index.html", context)

    @app.post("/match", response_class=HTMLResponse, include_in_schema=False)
    def match_page(
        request: Request, text: Annotated[str, Form()] = "", k: Annotated[str, Form()] = "3"
    ) -> HTMLResponse:
        return render_match(request, text, k)

    @app.get("/match", response_class=HTMLResponse, include_in_schema=False)
    def match_page_get(request: Request, text: str = "", k: str = "3") -> HTMLResponse:
        """The same as the form's POST, as a link (for short texts: URLs have a size limit)."""
        return render_match(request, text, k)

    @app.get("/reply/{doc_id}", response_class=HTMLResponse, include_in_schema=False)
    def reply_page(request: Request, doc_id: str, q: str = "") -> HTMLResponse:
        try:
            reply = svc.reply(doc_id)
        except KeyError:
            return page(request, "reply.html", {"reply": None, "doc_id": doc_id, "q": q}, status=404)
        back = "/?" + urlencode({"q": q}) if q else "/"
        return page(request, "reply.html", {"reply": reply, "doc_id": doc_id, "q": q, "back": back})

    return app


def _page_int(value: str, name: str) -> int:
    from govnlp.errors import ConfigError

    try:
        return int(value.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None


def _page_mode(mode: str) -> str:
    from govnlp.errors import ConfigError

    if mode not in ("hybrid", "dense", "lexical"):
        raise ConfigError(f"mode must be hybrid, dense or lexical, got {mode!r}")
    return mode


def _page_filters(
    kinds: Sequence[str], year_from: str, year_to: str, agency: str, extra: Sequence[str]
) -> list[str]:
    """The page's filter controls as filter expressions (the API's syntax)."""
    exprs = [f for f in extra if f.strip()]
    kinds = [k for k in kinds if k.strip()]
    if kinds:
        exprs.append("kind=" + "|".join(kinds))
    if year_from.strip():
        exprs.append(f"year>={_page_int(year_from, 'year_from')}")
    if year_to.strip():
        exprs.append(f"year<={_page_int(year_to, 'year_to')}")
    if agency.strip():
        exprs.append(f"lead_agency={agency.strip()}")
    return exprs


def app_from_env() -> FastAPI:
    """``uvicorn govnlp.serve.app:app_from_env --factory [--workers N]``: serve the saved pipeline or
    index folder ``$GOVNLP_INDEX``, or the demo pipeline when it is unset."""
    from govnlp.pipeline import demo_pipeline

    path = os.environ.get("GOVNLP_INDEX")
    return create_app(path if path else demo_pipeline(), source=path or "demo")
