"""AgencyRouter on a small handmade set of assignments: fit, recommend, evidence, save/load, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import govnlp
from govnlp.documents import ProposalDocument
from govnlp.errors import ConfigError, FormatError
from govnlp.parsing import parse_reply
from govnlp.routing import AgencyRouter, AgencyScore, Routing

# (id, title, lead, co-agencies): written for govnlp, in the style of a city's 建议 handling lists
ROWS: list[tuple[str, str, str, list[str]]] = [
    ("1", "关于优化城区公交线路的建议", "市交通运输局", ["市财政局"]),
    ("2", "关于增设学校门口公交站点的建议", "市交通运输局", ["市教育局"]),
    ("3", "关于加快农村公路提档升级的建议", "市交通运输局", ["市财政局", "市农业农村局"]),
    ("4", "关于延长夜间公交运营时间的建议", "市交通运输局", []),
    ("5", "关于规范出租车运营管理的建议", "市交通运输局", ["市公安局"]),
    ("6", "关于缓解中小学教师编制紧张的建议", "市教育局", ["市编委办", "市人力社保局"]),
    ("7", "关于规范校外培训机构的建议", "市教育局", ["市市场监管局"]),
    ("8", "关于新建城东小学的建议", "市教育局", ["市住建局", "市财政局"]),
    ("9", "关于提高乡村教师待遇的建议", "市教育局", ["市财政局"]),
    ("10", "关于改善学校食堂条件的建议", "市教育局", ["市市场监管局"]),
    ("11", "关于加快老旧小区改造的建议", "市住建局", ["市财政局"]),
    ("12", "关于加强住宅小区物业管理的建议", "市住建局", ["市民政局"]),
    ("13", "关于老旧小区加装电梯的建议", "市住建局", ["市市场监管局"]),
    ("14", "关于加快安置房建设进度的建议", "市住建局", ["市财政局"]),
    ("15", "关于完善城区雨污管网的建议", "市住建局", ["市水利局"]),
    ("16", "关于加强电动自行车交通违法整治的建议", "市公安局", ["市交通运输局"]),
    ("17", "关于加强学校周边治安管理的建议", "市公安局", ["市教育局"]),
    ("18", "关于增设路口信号灯的建议", "市公安局", ["市交通运输局"]),
    ("19", "关于打击电信诈骗的建议", "市公安局", []),
    ("20", "关于发展居家养老服务的建议", "市民政局", ["市财政局", "市卫生健康局"]),
    ("21", "关于提高低保标准的建议", "市民政局", ["市财政局"]),
    ("22", "关于加强敬老院安全管理的建议", "市民政局", ["市卫生健康局"]),
    ("23", "关于改善乡镇卫生院医疗条件的建议", "市卫生健康局", ["市财政局"]),
    ("24", "关于推进家庭医生签约服务的建议", "市卫生健康局", ["市人力社保局"]),
    ("25", "关于缓解医院看病难的建议", "市卫生健康局", []),
]
TEXTS = [r[1] for r in ROWS]
LEADS = [r[2] for r in ROWS]
COS = [r[3] for r in ROWS]
IDS = [r[0] for r in ROWS]


@pytest.fixture(scope="module")
def router() -> AgencyRouter:
    return AgencyRouter(embedder=None, random_state=0).fit(TEXTS, LEADS, COS, ids=IDS)


def test_exported_at_top_level() -> None:
    assert govnlp.AgencyRouter is AgencyRouter
    assert govnlp.canonical_agency("市住建局") == "市住房和城乡建设局"


def test_fit_returns_self_and_recommends_the_right_lead(router: AgencyRouter) -> None:
    fresh = AgencyRouter(embedder=None, random_state=0)
    assert fresh.fit(TEXTS, LEADS, COS) is fresh
    out = router.recommend(["关于增加公交班次方便群众出行的建议", "关于加强小学师资队伍建设的建议"], k=3)
    assert len(out) == 2 and all(isinstance(r, Routing) for r in out)
    assert out[0].lead[0].agency == "市交通运输局"
    assert out[1].lead[0].agency == "市教育局"
    for r in out:
        assert len(r.lead) == 3 and len(r.co) == 3
        assert all(isinstance(a, AgencyScore) for a in (*r.lead, *r.co))
        assert [a.score for a in r.lead] == sorted((a.score for a in r.lead), reverse=True)


def test_evidence_names_past_proposals_of_that_agency(router: AgencyRouter) -> None:
    r = router.recommend(["关于优化公交线路的建议"], k=2)[0]
    top = r.lead[0]
    assert top.agency == "市交通运输局" and top.evidence
    assert all(ROWS[int(i) - 1][2] == "市交通运输局" for i in top.evidence)
    assert "1" in top.evidence  # the nearly identical past title
    for co in r.co:
        assert all(co.agency in ROWS[int(i) - 1][3] for i in co.evidence)
    with pytest.raises(AttributeError):
        top.agency = "x"  # type: ignore[misc]  # frozen


def test_co_agencies_follow_neighbours(router: AgencyRouter) -> None:
    r = router.recommend(["关于提高农村教师工资待遇的建议"], k=3)[0]
    assert r.lead[0].agency == "市教育局"
    assert r.co[0].agency == "市财政局"


def test_evidence_defaults_to_texts_without_ids() -> None:
    r = AgencyRouter(embedder=None).fit(TEXTS, LEADS, COS).recommend(["关于优化城区公交线路的建议"], k=1)[0]
    assert (
        r.lead[0].evidence[0] == "优化城区公交线路"
    )  # the text as the router reads it (关于…的建议 dropped)


def test_function_knowledge_suggests_from_words() -> None:
    # a proposal about hospitals with no close training title: the function words point to 卫生
    texts = ["关于新建城东小学的建议", "关于优化公交线路的建议", "关于市民健康体检的建议"]
    leads = ["市教育局", "市交通运输局", "市卫生和计划生育局"]
    with_k = AgencyRouter(embedder=None).fit(texts, leads).recommend(["关于医院急救能力的建议"], k=1)[0]
    assert with_k.lead[0].agency == "市卫生和计划生育局"
    hits = (
        AgencyRouter(embedder=None, knowledge=False).fit(texts, leads).lead_scores(["关于医院急救能力的建议"])
    )
    assert hits.shape == (1, 3)


def test_texts_may_be_proposal_documents_or_dicts(router: AgencyRouter) -> None:
    doc = govnlp.parse_proposal("关于增加公交班次的建议\n一是公交班次太少；二是末班车太早。")
    as_dict = doc.to_dict()
    plain = {"title": "关于增加公交班次的建议"}
    out = router.recommend([doc, as_dict, plain], k=1)
    assert [o.lead[0].agency for o in out] == ["市交通运输局"] * 3
    assert isinstance(doc, ProposalDocument)


def test_spellings_of_one_agency_are_merged_and_shown_as_written() -> None:
    leads = ["市住建局", "市住房和城乡建设局", "市住建局", "市教育局"]
    texts = ["关于小区物业的建议", "关于老旧小区改造的建议", "关于安置房的建议", "关于学校的建议"]
    r = AgencyRouter(embedder=None).fit(texts, leads)
    assert r.classes_ == ["市住房和城乡建设局", "市教育局"]
    assert r.recommend(["关于小区物业管理的建议"], k=1)[0].lead[0].agency == "市住建局"


def test_save_load_round_trip(router: AgencyRouter, tmp_path: Path) -> None:
    path = router.save(tmp_path / "router")
    files = {p.name for p in path.iterdir()}
    assert {"manifest.json", "vocabulary.json", "coef.npy", "idf.npy", "examples.jsonl"} <= files
    assert not any(p.suffix in (".pkl", ".pickle", ".skops", ".joblib") for p in path.iterdir())
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "govnlp.agency_router" and manifest["n_examples"] == len(ROWS)
    loaded = AgencyRouter.load(path)
    texts = ["关于增加公交班次的建议", "关于养老服务的建议", "关于医院停车难的建议"]
    assert loaded.recommend(texts, k=4) == router.recommend(texts, k=4)
    np.testing.assert_allclose(loaded.lead_scores(texts), router.lead_scores(texts), rtol=1e-5)


def test_load_refuses_damaged_folders(router: AgencyRouter, tmp_path: Path) -> None:
    with pytest.raises(FormatError):
        AgencyRouter.load(tmp_path / "missing")
    path = router.save(tmp_path / "r")
    np.save(path / "coef.npy", np.zeros((2, 2), dtype=np.float32))
    with pytest.raises(FormatError, match="do not fit together"):
        AgencyRouter.load(path)


def test_bad_input_gets_clear_errors(router: AgencyRouter) -> None:
    with pytest.raises(TypeError, match="wrap it in a list"):
        router.recommend("关于公交的建议")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="k must be"):
        router.recommend(["关于公交的建议"], k=0)
    with pytest.raises(ConfigError, match="empty"):
        router.recommend(["  "])
    with pytest.raises(ConfigError, match="one entry per proposal"):
        AgencyRouter(embedder=None).fit(TEXTS, LEADS[:-1])
    with pytest.raises(ConfigError, match="two different lead agencies"):
        AgencyRouter(embedder=None).fit(
            ["关于公交的建议", "关于道路的建议"], ["市交通运输局", "市交通运输局"]
        )
    with pytest.raises(ConfigError, match="non-empty agency"):
        AgencyRouter(embedder=None).fit(["关于公交的建议", "关于学校的建议"], ["市交通运输局", ""])
    with pytest.raises(TypeError, match="one list of names per text"):
        AgencyRouter(embedder=None).fit(TEXTS[:2], LEADS[:2], ["市财政局", "市公安局"])
    with pytest.raises(ConfigError, match="not fitted"):
        AgencyRouter(embedder=None).recommend(["关于公交的建议"])
    assert router.recommend([]) == []


SEED = Path(__file__).parent / "fixtures" / "seed_reply.txt"


def test_from_replies_learns_lead_and_co_agencies_from_parsed_replies() -> None:
    seed = parse_reply(SEED)
    assert seed.lead_agency == "市综合执法局" and "市经信局" in seed.co_agencies
    others = [
        parse_reply(
            "临江市交通运输局关于市人大十届二次会议第0021号建议的答复\n王代表：\n"
            "您提出的《关于优化城郊公交线路的建议》收悉。本建议由我局主办，市财政局会办。现答复如下：\n"
            "一、新开通城郊公交线路3条。\n临江市交通运输局\n2024年6月1日"
        ),
        parse_reply(
            "临江市教育局关于市人大十届二次会议第0033号建议的答复\n李代表：\n"
            "您提出的《关于加强学校课后服务的建议》收悉。现答复如下：\n"
            "一、全市中小学课后服务覆盖率达到100%。\n临江市教育局\n2024年6月3日"
        ),
    ]
    router = AgencyRouter.from_replies([seed, *others], embedder=None)
    assert len(router.classes_) == 3
    r = router.recommend(["关于市场主体跨部门联合执法检查的建议"], k=3)[0]
    assert r.lead[0].agency == "市综合执法局"
    assert r.lead[0].evidence and r.lead[0].evidence[0] == (seed.proposal_title or seed.title)
    assert {a.agency for a in r.co} >= {"市经信局"}
    with pytest.raises(ConfigError, match="from_replies needs"):
        AgencyRouter.from_replies([seed], embedder=None)
    with pytest.raises(TypeError):
        AgencyRouter.from_replies(["not a document"], embedder=None)  # type: ignore[list-item]


def test_embedding_vote_round_trip_and_mismatch(tmp_path: Path) -> None:
    from govnlp.embedders import load_embedder
    from govnlp.errors import EmbedderMismatchError

    router = AgencyRouter(embedder="hash").fit(TEXTS, LEADS, COS, ids=IDS)
    assert router.vectors_ is not None and router.vectors_.shape[0] == len(TEXTS)
    texts = ["关于增加公交班次的建议", "关于养老服务的建议"]
    plain = AgencyRouter(embedder=None).fit(TEXTS, LEADS, COS, ids=IDS)
    assert not np.allclose(router.lead_scores(texts), plain.lead_scores(texts))  # the vote counts
    path = router.save(tmp_path / "r")
    assert (path / "vectors.npy").is_file()
    loaded = AgencyRouter.load(path)
    assert loaded.recommend(texts, k=3) == router.recommend(texts, k=3)
    with pytest.raises(EmbedderMismatchError, match="fitted with embedder"):
        AgencyRouter.load(path, embedder=load_embedder("hash", dim=64))


@pytest.mark.model
def test_default_router_uses_the_default_model(tmp_path: Path) -> None:
    router = AgencyRouter(random_state=0).fit(TEXTS, LEADS, COS, ids=IDS)
    assert router.vectors_ is not None
    assert router.recommend(["关于增加公交班次的建议"], k=1)[0].lead[0].agency == "市交通运输局"
    loaded = AgencyRouter.load(router.save(tmp_path / "r"))
    assert loaded.recommend(["关于养老服务的建议"], k=2) == router.recommend(["关于养老服务的建议"], k=2)


def test_renames_merge_an_agency_history_and_show_the_new_name() -> None:
    texts = [
        "关于医院看病难的建议",
        "关于乡镇卫生院建设的建议",
        "关于家庭医生签约的建议",
        "关于新建小学的建议",
    ]
    leads = ["市卫生和计划生育局", "市卫计局", "市卫生健康局", "市教育局"]
    merged = AgencyRouter(embedder=None, renames=True).fit(texts, leads)
    assert merged.classes_ == ["市卫生健康局", "市教育局"]
    r = merged.recommend(["关于医院急诊的建议"], k=1)[0]
    assert r.lead[0].agency == "市卫生健康局" and len(r.lead[0].evidence) == 3
    apart = AgencyRouter(embedder=None).fit(texts, leads)  # without renames: old and new health agencies
    assert apart.classes_ == ["市卫生健康局", "市卫生和计划生育局", "市教育局"]
    only_old = AgencyRouter(embedder=None, renames=True).fit(texts[:2] + texts[3:], leads[:2] + leads[3:])
    assert only_old.recommend(["关于医院的建议"], k=1)[0].lead[0].agency == "市卫生健康局"
