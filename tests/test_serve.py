"""``govnlp serve``: the JSON API, the page and the reply view, through FastAPI's TestClient on the
sample replies indexed with the weight-free hashing embedder."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("fastapi", reason="the web extra is not installed: pip install 'govnlp[web]'")

from fastapi.testclient import TestClient

from govnlp import SearchIndex
from govnlp.cli import main
from govnlp.cli.serve import host_warning
from govnlp.errors import ConfigError
from govnlp.pipeline import Pipeline, sample_paths
from govnlp.search.filters import parse_filter_expressions
from govnlp.serve import create_app
from govnlp.serve.highlight import highlight
from govnlp.serve.service import MAX_TEXT_CHARS

PROPOSAL = (
    "关于加强老旧小区物业管理的提案\n"
    "一、存在问题\n"
    "1.物业服务收费不透明，业主不清楚钱花在哪里。\n"
    "2.小区停车位严重不足，乱停乱放现象普遍。\n"
    "二、建议\n"
    "1.建议加强对物业服务企业的监管，推行收费公示。\n"
)
HIT_KEYS = {"id", "rank", "score", "text", "title", "agency", "date", "unit", "section_heading", "figures"}


@pytest.fixture(scope="module")
def pipe() -> Pipeline:
    return Pipeline.build(sample_paths(), embedder="hash", show_progress_bar=False)


@pytest.fixture(scope="module")
def client(pipe: Pipeline) -> TestClient:
    return TestClient(create_app(pipe))


def _ids(html: str) -> list[str]:
    return re.findall(r'<li class="hit" data-id="([^"]+)"', html)


# -- /api/search -----------------------------------------------------------------------------------------
def test_search_returns_sourced_hits_like_the_library(client: TestClient, pipe: Pipeline) -> None:
    r = client.get("/api/search", params={"q": "物业服务收费不透明", "k": 4})
    assert r.status_code == 200
    hits = r.json()["hits"]
    assert [h["rank"] for h in hits] == [1, 2, 3, 4]
    assert all(set(h) >= HIT_KEYS for h in hits)
    assert hits[0]["title"] and hits[0]["agency"] and hits[0]["date"]
    assert any(h["figures"] for h in hits)
    assert [h["id"] for h in hits] == [h.id for h in pipe.index.search("物业服务收费不透明", k=4)]
    assert hits[0]["score"] == pytest.approx(pipe.index.search("物业服务收费不透明", k=1)[0].score)


def test_search_filters_use_the_cli_syntax(client: TestClient, pipe: Pipeline) -> None:
    params: dict[str, Any] = {"q": "加强监管", "k": 20, "filter": ["year>=2024", "kind=提案答复|建议答复"]}
    hits = client.get("/api/search", params=params).json()["hits"]
    assert hits
    assert all(h["year"] >= 2024 and h["kind"] in ("提案答复", "建议答复") for h in hits)
    expected = pipe.index.search(
        "加强监管", k=20, filters={"year": {"gte": 2024}, "kind": ["提案答复", "建议答复"]}
    )
    assert [h["id"] for h in hits] == [h.id for h in expected]
    lexical = client.get("/api/search", params={"q": "停车", "mode": "lexical"}).json()["hits"]
    assert lexical and all("停车" in h["text"] for h in lexical)


@pytest.mark.parametrize(
    ("params", "status", "says"),
    [
        ({"q": "物业", "k": "abc"}, 422, "k"),
        ({"q": "物业", "k": 0}, 422, "greater than or equal to 1"),
        ({"q": "物业", "k": 101}, 422, "less than or equal to 100"),
        ({"q": "物业", "filter": "agency_name=市住建局"}, 400, "unknown filter field"),
        ({"q": "物业", "filter": "year"}, 400, "KEY=VALUE"),
        ({"q": "物业", "filter": ["year=2023", "year>=2022"]}, 400, "equality"),
        ({"q": "x" * (MAX_TEXT_CHARS + 1)}, 422, "at most 20000"),
        ({"q": "   "}, 400, "empty"),
        ({"q": ""}, 422, "q"),
        ({}, 422, "q: Field required"),
        ({"q": "物业", "mode": "fuzzy"}, 422, "mode"),
    ],
)
def test_search_bad_parameters_get_4xx_with_a_message(
    client: TestClient, params: dict[str, Any], status: int, says: str
) -> None:
    r = client.get("/api/search", params=params)
    assert r.status_code == status, r.text
    assert says in r.json()["detail"]


def test_search_accepts_a_query_of_the_maximum_length(client: TestClient) -> None:
    # ASCII: the test client refuses URLs past 64 KiB (20,000 Chinese characters encode to 180 KB)
    r = client.get("/api/search", params={"q": ("wuye shoufei " * 2000)[:MAX_TEXT_CHARS], "k": 1})
    assert r.status_code == 200 and len(r.json()["hits"]) == 1
    # a long Chinese query goes by POST
    r = client.post("/api/search", json={"q": ("老旧小区物业收费" * 2500)[:MAX_TEXT_CHARS], "k": 2})
    assert r.status_code == 200 and len(r.json()["hits"]) == 2


def test_search_post_is_the_get(client: TestClient) -> None:
    params: dict[str, Any] = {"q": "停车难", "k": 3, "filter": ["year>=2023"]}
    got = client.get("/api/search", params=params).json()
    assert client.post("/api/search", json=params).json() == got
    bad = client.post("/api/search", json={"q": "停" * (MAX_TEXT_CHARS + 1)})
    assert bad.status_code == 422 and "at most 20000" in bad.json()["detail"]
    bad = client.post("/api/search", json={"q": "停车", "filter": ["colour=red"]})
    assert bad.status_code == 400 and "unknown filter field" in bad.json()["detail"]


# -- /api/match, /api/tag, /api/health, /api/reply ---------------------------------------------------------
def test_match_get_and_post_return_the_pipelines_match(client: TestClient, pipe: Pipeline) -> None:
    expected = pipe.match(PROPOSAL, k=2, filters={"year": {"gte": 2023}}).to_dict()
    got = client.get("/api/match", params={"text": PROPOSAL, "k": 2, "filter": "year>=2023"})
    posted = client.post("/api/match", json={"text": PROPOSAL, "k": 2, "filter": ["year>=2023"]})
    assert got.status_code == posted.status_code == 200
    assert got.json() == posted.json()
    assert [[h["id"] for h in i["hits"]] for i in got.json()["items"]] == [
        [h["id"] for h in i["hits"]] for i in expected["items"]
    ]
    assert got.json()["proposal"] == expected["proposal"]
    assert len(got.json()["items"]) == 3


@pytest.mark.parametrize(
    "body",
    [
        {"text": PROPOSAL, "k": 0},
        {"text": PROPOSAL, "k": "three"},
        {"text": "物" * (MAX_TEXT_CHARS + 1)},
        {"text": ""},
        {"k": 3},
        {"text": PROPOSAL, "filter": ["no_such_field=1"]},
    ],
)
def test_match_bad_bodies_get_4xx(client: TestClient, body: dict[str, Any]) -> None:
    r = client.post("/api/match", json=body)
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["detail"]


@pytest.mark.parametrize("path", ["/api/search", "/api/match", "/api/tag"])
def test_lone_surrogates_get_422(client: TestClient, path: str) -> None:
    key = "q" if path == "/api/search" else "text"
    body = json.dumps({key: "停车\ud800难"})  # ASCII JSON with an escaped lone surrogate
    r = client.post(path, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "unicode" in r.json()["detail"]
    assert "input" not in r.json()["errors"][0]  # the offending text is not echoed back


def test_service_refuses_lone_surrogates(client: TestClient) -> None:
    svc = client.app.state.service  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="surrogate"):
        svc.search("停车\ud800难")
    with pytest.raises(ConfigError, match="surrogate"):
        svc.tag("\udfff")


def test_match_body_that_is_not_json_gets_4xx(client: TestClient) -> None:
    r = client.post("/api/match", content=b"\xff\xfe not json", headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500 and r.json()["detail"]


def test_tag_returns_the_top_categories(client: TestClient, pipe: Pipeline) -> None:
    r = client.post("/api/tag", json={"text": "小区停车位不足，公交线路少", "top": 4})
    assert r.status_code == 200
    cats = r.json()["categories"]
    assert len(cats) == 4
    assert [c["score"] for c in cats] == sorted((c["score"] for c in cats), reverse=True)
    assert {c["label"] for c in cats} <= {str(c) for c in pipe.classifier.classes_}
    assert client.post("/api/tag", json={"text": "停车", "top": 0}).status_code == 422
    assert client.post("/api/tag", json={"text": " "}).status_code == 400


def test_health_reports_index_embedder_and_version(client: TestClient, pipe: Pipeline) -> None:
    import govnlp

    h = client.get("/api/health").json()
    assert h["status"] == "ok" and h["version"] == govnlp.__version__
    assert h["index"]["records"] == len(pipe.index)
    assert h["index"]["documents"] == len(sample_paths())
    assert h["index"]["units"]["measure"] > 0
    assert h["embedder"]["name"] == pipe.index.embedder.name
    assert h["tagger"]["type"] == "ZeroShotClassifier"


def test_reply_api_lists_measures_under_their_problems(client: TestClient) -> None:
    doc_id = client.get("/api/search", params={"q": "物业服务收费不透明"}).json()["hits"][0]["doc_id"]
    reply = client.get(f"/api/reply/{doc_id}").json()
    assert reply["title"].endswith("第0087号提案的答复")
    problems = [p for s in reply["sections"] for p in s["problems"]]
    fee = next(p for p in problems if p["text"] == "物业服务收费不透明")
    assert [m["text"][:2] for m in fee["measures"]] == ["一是", "二是"]
    assert fee["measures"][0]["figures"]
    assert [s["number"] for s in reply["sections"]] == ["一", "二", "三"]
    assert reply["measures"] == sum(
        len(s["measures"]) + sum(len(p["measures"]) for p in s["problems"]) for s in reply["sections"]
    )
    assert client.get("/api/reply/doc-0000").status_code == 404


def test_concurrent_requests_give_the_sequential_results(client: TestClient) -> None:
    queries = [
        "物业收费",
        "停车难",
        "校园食品安全",
        "公交线路",
        "噪声扰民",
        "灵活就业社保",
        "农村人居环境",
        "基层医疗",
    ]
    jobs = [(q, k) for q in queries for k in (3, 7)] * 2

    def ask(job: tuple[str, int]) -> list[tuple[str, float]]:
        r = client.get("/api/search", params={"q": job[0], "k": job[1]})
        assert r.status_code == 200
        return [(h["id"], h["score"]) for h in r.json()["hits"]]

    sequential = [ask(j) for j in jobs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(ask, jobs))
    assert concurrent == sequential


# -- the page --------------------------------------------------------------------------------------------
def test_page_without_query_has_search_filters_and_match_form(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert 'name="q"' in html and 'name="kind" value="提案答复"' in html
    assert 'name="year_from"' in html and 'name="year_to"' in html and '<select name="agency">' in html
    assert "临江市住房和城乡建设局" in html  # an agency of the index in the menu
    assert '<textarea name="text"' in html and 'action="/match#match"' in html
    assert "default-src 'self'" in r.headers["content-security-policy"]


def test_page_renders_the_apis_hits_on_the_server(client: TestClient) -> None:
    q = "老旧小区物业收费不透明"
    api = client.get("/api/search", params={"q": q, "k": 5}).json()["hits"]
    html = client.get("/", params={"q": q, "k": 5}).text
    assert _ids(html) == [h["id"] for h in api]
    assert "<mark>" in html and f"/reply/{api[0]['doc_id']}?q=" in html
    assert api[0]["title"] in html and api[0]["date"] in html
    fig = next(f["text"] for h in api for f in h["figures"])
    assert fig in html


def test_page_filter_controls_apply(client: TestClient, pipe: Pipeline) -> None:
    params = {"q": "加强监管", "k": 20, "kind": ["提案答复"], "year_from": "2023", "year_to": "2024"}
    ids = _ids(client.get("/", params=params).text)
    assert ids
    for rid in ids:
        rec = pipe.index.get(rid)
        assert rec["kind"] == "提案答复" and 2023 <= rec["year"] <= 2024
    agency = "临江市住房和城乡建设局"
    ids = _ids(client.get("/", params={"q": "加强监管", "agency": agency}).text)
    assert ids and all(pipe.index.get(rid)["lead_agency"] == agency for rid in ids)


@pytest.mark.parametrize(
    "params",
    [
        {"q": "物业", "k": "abc"},
        {"q": "物业", "k": "0"},
        {"q": "物业", "year_from": "二〇二三年"},
        {"q": "物业", "filter": "nonsense_field>=3"},
        {"q": "x" * (MAX_TEXT_CHARS + 1)},
    ],
)
def test_page_bad_parameters_show_the_error_with_400(client: TestClient, params: dict[str, Any]) -> None:
    r = client.get("/", params=params)
    assert r.status_code == 400
    assert 'class="error"' in r.text


def test_match_page_lists_each_problem_with_sourced_measures(client: TestClient, pipe: Pipeline) -> None:
    r = client.post("/match", data={"text": PROPOSAL, "k": "2"})
    assert r.status_code == 200
    html = r.text
    assert html.count('<article class="item">') == 3
    assert "停车位严重不足" in html and len(_ids(html)) == 6
    assert 'class="cat"' in html and "/reply/doc-" in html
    routing = pipe.match(PROPOSAL, k=2).routing
    if routing is not None:  # the pipeline learned lead / co-agency routing from the sample replies
        assert "建议主办" in html and routing.lead[0].agency in html
    assert client.post("/match", data={"text": "  "}).status_code == 400
    linked = client.get("/match", params={"text": PROPOSAL, "k": 2}).text
    assert _ids(linked) == _ids(html)
    assert client.get("/match", params={"text": PROPOSAL, "k": "x"}).status_code == 400
    assert client.get("/match").status_code == 200


def test_reply_page_and_missing_reply(client: TestClient) -> None:
    hit = client.get("/api/search", params={"q": "物业服务收费不透明"}).json()["hits"][0]
    r = client.get(f"/reply/{hit['doc_id']}", params={"q": "物业收费"})
    assert r.status_code == 200
    assert "<mark>" in r.text
    html = re.sub(r"</?mark>", "", r.text)
    problem = html.index("物业服务收费不透明")
    assert problem < html.index("一是推行收费公示制度") < html.index("维修资金使用难")
    assert "三、下一步工作打算" in html
    assert client.get("/reply/doc-missing").status_code == 404


def test_docs_and_assets_are_served_from_the_package(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    assets = re.findall(r'(?:src|href)=["\']([^"\']+)["\']', docs.text + client.get("/?q=物业").text)
    assert assets and not [a for a in assets if "//" in a], assets  # nothing from another host
    for path in ("/static/style.css", "/static/app.js", "/static/favicon.svg"):
        assert client.get(path).status_code == 200
    assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200
    spec = client.get("/openapi.json").json()
    params = {p["name"] for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    assert params == {"q", "k", "filter", "mode"}
    assert {"/api/match", "/api/tag", "/api/health"} <= set(spec["paths"])
    assert {"get", "post"} <= set(spec["paths"]["/api/search"])


# -- escaping --------------------------------------------------------------------------------------------
EVIL = "<script>alert('x')</script>"


@pytest.fixture(scope="module")
def evil_client() -> TestClient:
    records = [
        {
            "id": "r1",
            "doc_id": "d<1>",
            "text": f"推行物业收费公示{EVIL}制度",
            "title": '<img src=x onerror="alert(1)">答复',
            "lead_agency": "市<b>住建</b>局",
            "unit": "measure",
            "problem": "<i>收费</i>不透明",
            "section": "一",
            "section_heading": "<u>工作</u>",
            "figures": [{"value": 1.0, "unit": "个", "text": "<svg onload=alert(2)>1个"}],
        },
        {"id": "r2", "doc_id": "d2", "text": "加强停车管理", "unit": "measure", "title": "停车答复"},
    ]
    index = SearchIndex.build(records, embedder="hash", show_progress_bar=False)
    return TestClient(create_app(Pipeline(index, classifier=None)))


def _no_live_markup(html: str) -> None:
    assert "<script>alert" not in html and "<img src=x" not in html and "<svg onload" not in html
    assert "<b>住建</b>" not in html and "<i>收费</i>" not in html and "<u>工作</u>" not in html


def test_page_escapes_record_text_and_query(evil_client: TestClient) -> None:
    html = evil_client.get("/", params={"q": f"物业收费{EVIL}"}).text
    _no_live_markup(html)
    assert "&lt;script&gt;" in html and "<mark>物业收费</mark>" in html
    html = evil_client.get("/", params={"q": '"><script>alert(1)</script>'}).text
    assert '"><script>' not in html


def test_match_and_reply_pages_escape(evil_client: TestClient) -> None:
    html = evil_client.post("/match", data={"text": f"建议推行物业收费公示{EVIL}"}).text
    _no_live_markup(html)
    r = evil_client.get("/reply/d%3C1%3E", params={"q": EVIL})
    assert r.status_code == 200
    _no_live_markup(r.text)
    assert "&lt;i&gt;收费&lt;/i&gt;不透明" in r.text
    # a pipeline without a tagger: tagging is a 400 that says so
    assert "no tagger" in evil_client.post("/api/tag", json={"text": "停车"}).json()["detail"]


def test_highlight_marks_shared_bigrams_and_escapes() -> None:
    assert str(highlight("推行物业收费公示制度", "物业服务收费不透明")) == (
        "推行<mark>物业</mark><mark>收费</mark>公示制度"
    )
    assert str(highlight("物业服务企业", "物业服务")) == "<mark>物业服务</mark>企业"
    assert str(highlight("a<b>停车</b>", "停车")) == "a&lt;b&gt;<mark>停车</mark>&lt;/b&gt;"
    assert str(highlight("停车场", "车")) == "停<mark>车</mark>场"
    assert str(highlight("<x>", "")) == "&lt;x&gt;"


# -- building the app, the CLI --------------------------------------------------------------------------
def test_create_app_from_a_saved_index_folder(pipe: Pipeline, tmp_path: Path) -> None:
    pipe.index.save(tmp_path / "idx")
    c = TestClient(create_app(tmp_path / "idx"))
    h = c.get("/api/health").json()
    assert h["index"]["source"] == str(tmp_path / "idx") and h["tagger"]["type"] == "ZeroShotClassifier"
    assert c.get("/api/search", params={"q": "停车"}).json()["hits"]
    with pytest.raises(ConfigError, match="Pipeline"):
        create_app(["not", "an", "index"])


def test_app_factory_for_uvicorn_reads_the_index_from_the_environment(
    pipe: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from govnlp.serve.app import app_from_env

    pipe.save(tmp_path / "pipe")
    monkeypatch.setenv("GOVNLP_INDEX", str(tmp_path / "pipe"))
    c = TestClient(app_from_env())
    assert c.get("/api/health").json()["index"]["source"] == str(tmp_path / "pipe")
    assert c.get("/api/search", params={"q": "停车"}).json()["hits"]


def test_parse_filter_expressions() -> None:
    assert parse_filter_expressions(["kind=提案答复|建议答复", "year>=2020", "year<=2023"]) == {
        "kind": ["提案答复", "建议答复"],
        "year": {"gte": 2020, "lte": 2023},
    }
    assert parse_filter_expressions(["proposal_number=14"]) == {"proposal_number": [14, "14"]}
    for bad in (["year"], ["=3"], ["year>="], ["year=2020", "year>=2019"], ["year>=2019", "year=2020"]):
        with pytest.raises(ConfigError):
            parse_filter_expressions(bad)
    with pytest.raises(TypeError):
        parse_filter_expressions("year>=2020")


def test_host_warning_only_off_localhost() -> None:
    assert host_warning("127.0.0.1") is None and host_warning("localhost") is None
    assert host_warning("::1") is None
    assert "no login" in (host_warning("0.0.0.0") or "")
    assert "no login" in (host_warning("192.168.1.20") or "")


def test_cli_serve_rejects_bad_port_and_missing_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-q", "serve", "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err
    assert main(["-q", "serve", "--index", str(tmp_path / "nope")]) == 2
    assert "error" in capsys.readouterr().err


# -- never a 500 -----------------------------------------------------------------------------------------
ANY_CHAR = st.characters(codec=None, exclude_categories=())  # surrogates, controls, CJK, …


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    q=st.text(ANY_CHAR, max_size=60),
    k=st.one_of(st.integers(-5, 200).map(str), st.text(max_size=5)),
    filters=st.lists(st.text(st.sampled_from("year kind=><|2023提案 "), max_size=14), max_size=3),
    path=st.sampled_from(["/api/search", "/api/match", "/api/tag"]),
)
def test_any_input_gets_an_answer_or_a_4xx(
    client: TestClient, q: str, k: str, filters: list[str], path: str
) -> None:
    key = "q" if path == "/api/search" else "text"
    if path == "/api/tag":
        body: dict[str, Any] = {key: q, "top": k}
    else:
        body = {key: q, "k": k, "filter": filters}
    r = client.post(path, content=json.dumps(body), headers={"content-type": "application/json"})
    assert r.status_code < 500, r.text
    assert r.status_code == 200 or r.json()["detail"]
    if path == "/api/search":
        safe = q.encode("utf-8", "replace").decode("utf-8")
        r = client.get(path, params={"q": safe, "k": k, "filter": filters})
        assert r.status_code < 500, r.text
        r = client.get("/", params={"q": safe, "k": k, "filter": filters})
        assert r.status_code in (200, 400), r.text
