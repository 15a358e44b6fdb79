"""SearchIndex: records from replies and dicts, modes, filters before ranking, add/delete/upsert."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from govnlp.documents import Measure, Paragraph, Problem, ReplyDocument, Section
from govnlp.embedders import load_embedder
from govnlp.errors import ConfigError
from govnlp.search import Hit, SearchIndex, fuse_runs, fusion_config

AGENCIES = ["市综合行政执法局", "市住房和城乡建设局", "市市场监管局", "市交通运输局"]
KINDS = ["提案答复", "建议答复", "留言答复"]
TOPICS = [
    "推进老旧小区改造，支持既有住宅加装电梯",
    "加强物业服务企业监管，建立业主委员会指导机制",
    "优化营商环境，推行首违不罚和包容审慎监管",
    "开展跨部门联合监管，压减检查计划数",
    "增设公交线路，优化公共交通站点布局",
    "治理占道经营和流动摊贩，规范城市管理",
    "加强食品安全抽检，整治校园周边食品店",
    "推进生活垃圾分类，完善餐厨垃圾收运体系",
]


def reply(n: int) -> ReplyDocument:
    """A small hand-made reply: two problems, three measures, a body paragraph and boilerplate."""
    did = f"doc{n}"
    t = [TOPICS[(n + i) % len(TOPICS)] for i in range(4)]
    measures = tuple(
        Measure(
            id=f"m{i}",
            section="一",
            problem=t[0] if i < 2 else t[1],
            ordinal=o,
            title=t[i][:8],
            text=f"{o}{t[i]}。",
        )
        for i, o in enumerate(["一是", "二是", "三是"])
    )
    paragraphs = (
        Paragraph(
            id="p0",
            index=0,
            role="opening",
            section=None,
            problem=None,
            text="民进市委会：你们提出的提案收悉，现答复如下：",
        ),
        Paragraph(id="p1", index=1, role="section_heading", section="一", problem=None, text="一、完善机制"),
        Paragraph(
            id="p2",
            index=2,
            role="body",
            section="一",
            problem=None,
            text=f"近年来，我局高度重视{t[3]}工作。",
        ),
        Paragraph(
            id="p3",
            index=3,
            role="body",
            section="一",
            problem=t[0],
            text=measures[0].text + measures[1].text,
            measures=("m0", "m1"),
        ),
        Paragraph(
            id="p4",
            index=4,
            role="closing",
            section=None,
            problem=None,
            text="感谢你们对我局工作的关心和支持。",
        ),
        Paragraph(
            id="p5",
            index=5,
            role="contact",
            section=None,
            problem=None,
            text="联系人：张三，电话：0578-1234567",
        ),
    )
    return ReplyDocument(
        id=did,
        title=f"关于市政协第{n}号提案的答复",
        kind=KINDS[n % 3],
        proposal_number=str(n),
        lead_agency=AGENCIES[n % 4],
        co_agencies=(AGENCIES[(n + 1) % 4], AGENCIES[(n + 2) % 4]) if n % 2 else (),
        replying_agency=AGENCIES[n % 4],
        date=f"{2019 + n % 5}-0{1 + n % 9}-15",
        sections=(Section(number="一", heading="完善机制", text=""),),
        problems=(
            Problem(id="q0", section="一", number="一", text=t[0]),
            Problem(id="q1", section="一", number="二", text=t[1]),
        ),
        measures=measures,
        paragraphs=paragraphs,
        text="\n".join(p.text for p in paragraphs),
    )


@pytest.fixture(scope="module")
def docs() -> list[ReplyDocument]:
    return [reply(n) for n in range(12)]


@pytest.fixture(scope="module")
def index(docs: list[ReplyDocument]) -> SearchIndex:
    return SearchIndex.build(docs, embedder="hash")


def test_records_from_replies(index: SearchIndex, docs: list[ReplyDocument]) -> None:
    # per reply: 3 measures + 2 problems + 1 uncovered body paragraph; boilerplate is not indexed
    assert len(index) == 12 * 6
    rec = index.get("doc1/m0")
    assert rec["unit"] == "measure" and rec["ordinal"] == "一是" and rec["doc_id"] == "doc1"
    assert rec["lead_agency"] == docs[1].lead_agency and rec["co_agencies"] == list(docs[1].co_agencies)
    assert rec["year"] == docs[1].year and rec["section_heading"] == "完善机制"
    assert index.get("doc1/q1")["unit"] == "problem"
    assert index.get("doc1/p2")["unit"] == "paragraph"
    for boiler in ("p0", "p1", "p3", "p4", "p5"):
        assert f"doc1/{boiler}" not in index
    texts = {index.get(i)["text"] for i in index.ids()}
    assert not any("联系人" in t or "感谢" in t for t in texts)
    with pytest.raises(KeyError, match="nope"):
        index.get("nope")


def test_dict_records_ids() -> None:
    recs: list[dict[str, Any]] = [{"text": "老旧小区加装电梯", "src": "a"}, {"msg": "公交线路", "mid": 7}]
    idx = SearchIndex.build(recs[:1], embedder="hash")
    rid = idx.ids()[0]
    assert rid.startswith("r-") and rid == SearchIndex.build(recs[:1], embedder="hash").ids()[0]  # stable
    idx.add(recs[1:], text_field="msg", id_field="mid")
    assert "7" in idx and idx.get("7")["text"] == "公交线路"
    with pytest.raises(ConfigError, match="text_field"):
        idx.add([{"body": "x"}])
    with pytest.raises(TypeError):
        idx.add("老旧小区")  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_search_modes(index: SearchIndex, mode: str) -> None:
    hits = index.search("加装电梯 老旧小区改造", k=5, mode=mode)
    assert len(hits) == 5
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert all(isinstance(h, Hit) for h in hits)
    assert "电梯" in hits[0].record["text"]
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    if mode == "dense":
        assert all(h.lexical_score is None and h.dense_score == h.score for h in hits)
    elif mode == "lexical":
        assert all(h.dense_score is None and h.lexical_score == h.score for h in hits)
    else:
        assert all(h.dense_score is not None and h.lexical_score is not None for h in hits)
    d = hits[0].to_dict()
    assert Hit.from_dict(d) == hits[0] and d["record"]["id"] == hits[0].id


def test_hybrid_components_are_exact(index: SearchIndex) -> None:
    q = "跨部门联合监管"
    dense = {h.id: h.score for h in index.search(q, k=len(index), mode="dense")}
    lexical = {h.id: h.score for h in index.search(q, k=len(index), mode="lexical")}
    for h in index.search(q, k=20):
        assert h.dense_score == pytest.approx(dense[h.id], abs=1e-5)
        assert h.lexical_score == pytest.approx(lexical.get(h.id, 0.0), abs=1e-4)


def test_search_batch_equals_single(index: SearchIndex) -> None:
    qs = ["垃圾分类", "公交站点", "营商环境 首违不罚"]
    batch = index.search_batch(qs, k=4)
    for q, hits in zip(qs, batch, strict=True):
        assert [h.id for h in hits] == [h.id for h in index.search(q, k=4)]
    with pytest.raises(TypeError):
        index.search_batch("垃圾分类")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="mode"):
        index.search("x", mode="bm25")


FILTERS: list[dict[str, Any]] = [
    {"lead_agency": "市综合行政执法局"},
    {"kind": ["提案答复", "建议答复"]},
    {"co_agencies": "市市场监管局"},
    {"co_agencies": ["市交通运输局", "不存在的局"]},
    {"year": {"gte": 2020, "lte": 2022}},
    {"year": {"gt": 2021}},
    {"date": {"gte": "2021-03-01"}},
    {"date": {"lt": "2020-06-01"}, "unit": "measure"},
    {"unit": ["problem", "paragraph"], "kind": "留言答复"},
    {"doc_id": "doc3"},
    {"doc_id": "doc3", "unit": "problem"},
    {"lead_agency": "不存在的局"},
    {"year": {"in": [2019, 2023]}},
]


def _matches(rec: dict[str, Any], filters: dict[str, Any]) -> bool:
    """An independent, literal reading of the filter rules, for the exhaustive check."""
    for key, cond in filters.items():
        val = rec.get(key)
        vals = val if isinstance(val, list) else [] if val is None else [val]
        if isinstance(cond, dict):
            for op, bound in cond.items():
                ok = {
                    "gte": lambda v, b=bound: v >= b,
                    "gt": lambda v, b=bound: v > b,
                    "lte": lambda v, b=bound: v <= b,
                    "lt": lambda v, b=bound: v < b,
                    "in": lambda v, b=bound: v in b,
                }[op]
                if not any(ok(v) for v in vals):
                    return False
        elif isinstance(cond, list):
            if not set(vals) & set(cond):
                return False
        elif cond not in vals:
            return False
    return True


@pytest.mark.parametrize("filters", FILTERS, ids=[str(f) for f in FILTERS])
@pytest.mark.parametrize("mode", ["hybrid", "dense"])
@pytest.mark.parametrize("k", [1, 5, 30])
def test_filters_return_full_lists(index: SearchIndex, filters: dict[str, Any], mode: str, k: int) -> None:
    """Filters apply before ranking: min(k, matching) hits, all matching, in the unfiltered order."""
    matching = {rid for rid in index.ids() if _matches(index.get(rid), filters)}
    hits = index.search("老旧小区物业服务监管", k=k, mode=mode, filters=filters)
    assert len(hits) == min(k, len(matching))
    assert {h.id for h in hits} <= matching
    if mode == "dense":  # the filtered ranking is the unfiltered ranking restricted to the subset
        full = index.search("老旧小区物业服务监管", k=len(index), mode="dense")
        expected = [h.score for h in full if h.id in matching][:k]  # scores: equal texts tie
        assert [h.score for h in hits] == pytest.approx(expected, abs=1e-6)


def test_lexical_filters_return_matching_hits(index: SearchIndex) -> None:
    hits = index.search("监管", k=50, mode="lexical", filters={"kind": "建议答复"})
    assert hits and all(h.record["kind"] == "建议答复" for h in hits)
    assert all("监" in h.record["index_text"] or "管" in h.record["index_text"] for h in hits)


def test_unknown_filter_key_lists_known_keys(index: SearchIndex) -> None:
    with pytest.raises(ConfigError, match=r"unknown filter field.*agency.*lead_agency"):
        index.search("x", filters={"agency": "市综合行政执法局"})
    with pytest.raises(ConfigError, match="operator"):
        index.search("x", filters={"year": {"after": 2020}})


def test_add_delete_upsert(docs: list[ReplyDocument]) -> None:
    idx = SearchIndex.build(docs[:3], embedder="hash")
    n = len(idx)
    with pytest.raises(ConfigError, match="already in the index"):
        idx.add(docs[:1])
    assert len(idx) == n  # nothing added
    with pytest.raises(ConfigError, match="not in the index"):
        idx.delete(["doc0/m0", "missing-1"])
    assert "doc0/m0" in idx  # nothing deleted on error
    assert idx.delete(["doc0/m0", "missing-1"], missing="ignore") == 1
    assert "doc0/m0" not in idx and len(idx) == n - 1
    after = idx.search(docs[0].measures[0].text, k=n)
    assert after and all(h.id != "doc0/m0" for h in after)
    # upsert a re-parsed reply with one measure fewer: its stale records go too
    smaller = ReplyDocument(**{**docs[1].__dict__, "measures": docs[1].measures[:2]})
    idx.upsert([smaller])
    assert "doc1/m2" not in idx and "doc1/m1" in idx
    idx.upsert([{"id": "doc2/m0", "text": "新的措施：推进充电桩建设"}])
    assert idx.get("doc2/m0")["text"] == "新的措施：推进充电桩建设"
    assert idx.search("充电桩", k=1)[0].id == "doc2/m0"


def test_cleaning_is_an_option(monkeypatch: pytest.MonkeyPatch) -> None:
    from govnlp.cleaning import clean_for_index

    text = "网友“UU0081234”您好！您的留言已收悉。现将有关情况回复如下：该路段已增设信号灯。感谢您对我们工作的支持！"
    clean = SearchIndex.build([{"id": "a", "text": text}], embedder="hash", clean=True)
    raw = SearchIndex.build([{"id": "a", "text": text}], embedder="hash")  # raw by default since 0.3
    assert clean.get("a")["text"] == text == raw.get("a")["text"]  # the record keeps the original
    assert raw.get("a")["index_text"] == text
    assert clean.get("a")["index_text"] == clean_for_index(text) != text
    # what is embedded is the cleaned text
    assert clean.search(clean_for_index(text), k=1, mode="dense")[0].score == pytest.approx(1.0, abs=1e-5)
    # a text the cleaner empties is indexed as it is
    monkeypatch.setattr("govnlp.cleaning.clean_for_index", lambda t: "")
    empty = SearchIndex.build([{"id": "b", "text": "此复。"}], embedder="hash", clean=True)
    assert empty.get("b")["index_text"] == "此复。"


@pytest.mark.parametrize("approx", ["hnsw", "ivf"])
def test_auto_switches_to_approximate(
    monkeypatch: pytest.MonkeyPatch, docs: list[ReplyDocument], approx: str
) -> None:
    monkeypatch.setattr("govnlp.index.AUTO_APPROX_THRESHOLD", 30)
    monkeypatch.setattr("govnlp.index.AUTO_APPROX_TYPE", approx)
    idx = SearchIndex.build(docs[:4], embedder="hash")
    assert "flat" in repr(idx)
    idx.add(docs[4:8])
    assert approx in repr(idx)
    assert len(idx.search("公交线路", k=10, mode="dense")) == 10
    assert len(idx.search("公交线路", k=10, mode="dense", filters={"unit": "problem"})) == 10
    idx.delete(["doc5/m0"])
    assert "doc5/m0" not in {h.id for h in idx.search("公交线路", k=len(idx), mode="dense")}


def test_fusion_config() -> None:
    assert fusion_config("score")["method"] == "score"
    with pytest.raises(ConfigError):
        fusion_config({"method": "borda"})
    fused = fuse_runs({"a": 0.9, "b": 0.8}, {"b": 5.0, "c": 1.0}, fusion_config("rrf"))
    assert fused[0][0] == "b"
    idx = SearchIndex(embedder="hash", fusion={"method": "score", "alpha": 0.7})
    assert idx.fusion["alpha"] == 0.7


def test_empty_and_degenerate(index: SearchIndex) -> None:
    empty = SearchIndex(embedder="hash")
    assert len(empty) == 0 and empty.search("x") == []
    assert index.search_batch([]) == []
    with pytest.raises(ConfigError, match="k must be"):
        index.search("x", k=0)


def test_other_embedder_object(docs: list[ReplyDocument]) -> None:
    emb = load_embedder("hash", dim=64)
    idx = SearchIndex.build(docs[:2], embedder=emb)
    assert idx.embedder is emb
    q = emb.encode(["公交线路"], kind="query")
    best = idx.search("公交线路", k=1, mode="dense")[0]
    vec = emb.encode([best.record["index_text"]])
    assert best.score == pytest.approx(float((q @ vec.T)[0, 0]), abs=1e-5)


def test_ids_unique_across_units(docs: list[ReplyDocument]) -> None:
    ids = [i for d in docs for i in SearchIndex.build([d], embedder="hash").ids()]
    assert len(ids) == len(set(ids))
    assert all(a != b for a, b in itertools.pairwise(ids))
    assert np.all([i.startswith("doc") for i in ids])


def test_build_from_the_parsed_seed_reply(fixtures_dir: Any) -> None:
    from govnlp.parsing import parse_reply

    doc = parse_reply(fixtures_dir / "seed_reply.txt")
    idx = SearchIndex.build([doc], embedder="hash")
    recs = [idx.get(i) for i in idx.ids()]
    units = [r["unit"] for r in recs]
    assert units.count("measure") == len(doc.measures) and units.count("problem") == len(doc.problems)
    assert all(r["doc_id"] == doc.id and r["kind"] == doc.kind and r["date"] == doc.date for r in recs)
    boiler = {
        p.text for p in doc.paragraphs if p.role in ("opening", "closing", "contact", "section_heading")
    }
    assert not boiler & {r["text"] for r in recs}
    covered = {p.text for p in doc.paragraphs if p.measures}
    assert not covered & {r["text"] for r in recs if r["unit"] == "paragraph"}
    # a proposal-style query finds a measure of this reply, and filters see its metadata
    hits = idx.search("小微企业难以承受跨部门联合监管", k=3, filters={"unit": "measure", "year": doc.year})
    assert len(hits) == 3 and all(h.record["unit"] == "measure" for h in hits)
