"""The interchange format: every key present, from_dict(to_dict()) unchanged, stable content ids."""

from __future__ import annotations

import json

from govnlp.documents import (
    Contact,
    Figure,
    Measure,
    Paragraph,
    Problem,
    ProposalDocument,
    ProposalItem,
    ReplyDocument,
    Section,
    content_id,
)


def _doc() -> ReplyDocument:
    fig = Figure(value=39.3, unit="%", text="压减检查计划数39.3%")
    m = Measure(
        id="m-1",
        section="二",
        problem="小微企业",
        ordinal="一是",
        title="统筹计划",
        text="一是统筹计划。",
        figures=(fig,),
    )
    return ReplyDocument(
        id="doc-1",
        title="某局关于第1号提案的答复",
        kind="提案答复",
        co_agencies=("市经信局",),
        contact=Contact(name="何某", phone="123", department=None),
        sections=(Section(number="一", heading="完善机制", text="正文"),),
        problems=(Problem(id="pb-1", section="二", number="一", text="小微企业"),),
        measures=(m,),
        figures=(fig,),
        paragraphs=(
            Paragraph(
                id="p-1",
                index=0,
                role="body",
                section="二",
                problem=None,
                text="一是统筹计划。",
                measures=("m-1",),
            ),
        ),
        text="一是统筹计划。",
        meta={"page": {"索引号": "x"}},
    )


def test_round_trip_through_json() -> None:
    d = _doc()
    data = json.loads(json.dumps(d.to_dict(), ensure_ascii=False))
    assert ReplyDocument.from_dict(data) == d


def test_every_key_present_when_empty() -> None:
    data = ReplyDocument(id="doc-x").to_dict()
    assert data["contact"] is None and data["measures"] == [] and data["co_agencies"] == []
    assert {
        "title",
        "kind",
        "assembly",
        "session",
        "proposal_number",
        "proposal_title",
        "addressee",
        "lead_agency",
        "replying_agency",
        "document_number",
        "date",
        "handling_class",
        "sections",
        "problems",
        "figures",
        "paragraphs",
        "text",
        "source",
        "meta",
    } <= set(data)


def test_proposal_round_trip_and_queries() -> None:
    p = ProposalDocument(
        id="prop-1",
        title="关于X的建议",
        suggestions=(ProposalItem(id="q-1", ordinal="一是", text="加强管理"),),
    )
    assert ProposalDocument.from_dict(json.loads(json.dumps(p.to_dict()))) == p
    assert [q.text for q in p.queries()] == ["加强管理"]
    assert [q.text for q in ProposalDocument(id="x", title="关于X的建议").queries()] == ["关于X的建议"]


def test_content_id_is_stable() -> None:
    # pinned: a changed hash would silently re-key every saved index (sha1 of the parts joined by \x1f)
    assert content_id("a", "b", prefix="m-") == "m-687d61996b1c1278"
    assert content_id("推进老旧小区改造") == "ff8a2a78cefbb2e8"
    assert content_id("a", "b") != content_id("ab")
