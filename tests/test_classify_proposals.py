"""Proposal inputs for tagging: ProposalDocuments, proposal dicts, dataset columns; few-shot and glossary."""

from __future__ import annotations

import numpy as np
import pytest

from govnlp import parse_proposal
from govnlp.classify import Taxonomy, TextClassifier, ZeroShotClassifier, evaluate_classifier
from govnlp.classify.evaluate import coverage_curve, evaluate_predictions
from govnlp.classify.text import check_text_list, document_text, focus_text
from govnlp.errors import ConfigError, TaxonomyError

# Short proposals written for these tests: (title, body, category).
ROWS = [
    (
        "关于加快高标准农田建设的建议",
        "调研情况：部分地区农田水利设施老化。具体建议：一是加大高标准农田建设投入；二是完善灌溉排水设施。",
        "农林水利",
    ),
    (
        "关于推进农村河道综合整治的建议",
        "问题分析：农村河道淤积严重，防汛能力不足。具体建议：一是开展河道清淤疏浚；二是落实河长制管护责任。",
        "农林水利",
    ),
    (
        "关于扶持家庭农场发展的建议",
        "问题分析：家庭农场融资难，农产品销售渠道少。具体建议：一是设立农业信贷担保；二是搭建农产品产销对接平台。",
        "农林水利",
    ),
    (
        "关于加强乡村水利工程管护的建议",
        "调研情况：小型水库和泵站管护主体不明。具体建议：一是明确水利工程管护责任；二是保障管护经费。",
        "农林水利",
    ),
    (
        "关于减轻中小学生课业负担的建议",
        "问题分析：学生作业多、校外培训负担重。具体建议：一是控制作业总量；二是规范校外培训机构。",
        "教育事业",
    ),
    (
        "关于加强乡村教师队伍建设的建议",
        "调研情况：乡村学校教师流失严重。具体建议：一是提高乡村教师待遇；二是完善教师轮岗交流制度。",
        "教育事业",
    ),
    (
        "关于发展职业教育的建议",
        "问题分析：职业院校招生难，校企合作不深。具体建议：一是深化产教融合；二是提高职业教育吸引力。",
        "教育事业",
    ),
    (
        "关于增加公办幼儿园学位的建议",
        "调研情况：城区公办幼儿园学位紧张。具体建议：一是新建改扩建公办幼儿园；二是扩大普惠性学前教育资源。",
        "教育事业",
    ),
    (
        "关于完善社区居家养老服务的建议",
        "问题分析：社区养老服务设施不足，护理人员短缺。具体建议：一是建设社区养老服务中心；二是培养养老护理人员。",
        "社会事业",
    ),
    (
        "关于加强困难群众社会救助的建议",
        "调研情况：部分困难群众未纳入救助。具体建议：一是完善低保动态管理；二是加强临时救助。",
        "社会事业",
    ),
    (
        "关于促进高校毕业生就业的建议",
        "问题分析：高校毕业生就业压力大。具体建议：一是拓宽就业渠道；二是加强就业指导服务。",
        "社会事业",
    ),
    (
        "关于关爱农村留守儿童的建议",
        "调研情况：农村留守儿童缺少照护。具体建议：一是建立留守儿童关爱服务体系；二是发挥社区和学校作用。",
        "社会事业",
    ),
]


def _dicts() -> list[dict[str, str]]:
    return [{"title": t, "text": b, "category": c} for t, b, c in ROWS]


def test_document_text_and_check_text_list() -> None:
    d = _dicts()[0]
    assert document_text(d) == d["title"] + "\n" + d["text"]
    doc = parse_proposal(d["text"], title=d["title"])
    assert document_text(doc) == d["title"] + "\n" + d["text"]
    whole = parse_proposal(d["title"] + "\n" + d["text"])  # title inside the text: not repeated
    assert document_text(whole) == d["title"] + "\n" + d["text"]
    assert check_text_list(["甲", d, doc]) == ["甲", document_text(d), document_text(doc)]
    with pytest.raises(TypeError, match="single str"):
        check_text_list("关于加快高标准农田建设的建议")
    with pytest.raises(TypeError, match="wrap it"):
        check_text_list(d)
    with pytest.raises(TypeError, match="item 1"):
        check_text_list(["甲", 3])


def test_focus_text_keeps_title_and_suggestions() -> None:
    body = (
        "调研情况："
        + "近年来我省农村人口持续减少，" * 30
        + "具体建议：一是加大高标准农田建设投入；二是完善灌溉排水设施。"
    )
    focus = focus_text({"title": "关于加快高标准农田建设的建议", "text": body}, max_chars=80)
    assert focus.startswith("关于加快高标准农田建设的建议。") and "加大高标准农田建设投入" in focus
    assert "农村人口" not in focus and len(focus) <= 80
    assert focus_text("小区停车难") == "小区停车难"


def test_classifier_accepts_proposals_in_every_form() -> None:
    rows = _dicts()
    labels = [r["category"] for r in rows]
    by_dict = TextClassifier(random_state=0, calibration_folds=2).fit(rows, labels)
    texts = [document_text(r) for r in rows]
    by_text = TextClassifier(random_state=0, calibration_folds=2).fit(texts, labels)
    docs = [parse_proposal(r["text"], title=r["title"]) for r in rows]
    np.testing.assert_allclose(by_dict.predict_proba(docs), by_text.predict_proba(texts))
    np.testing.assert_allclose(
        by_dict.predict_proba([d.to_dict() for d in docs]), by_text.predict_proba(texts)
    )
    rep = evaluate_classifier(by_dict, rows, labels)
    assert rep.n == len(rows) and rep.coverage and rep.coverage[0][0] == 1.0


def test_dataset_column_is_accepted() -> None:
    datasets = pytest.importorskip("datasets")
    rows = _dicts()
    ds = datasets.Dataset.from_list(rows)
    labels = list(ds["category"])
    texts = [document_text(r) for r in rows]
    clf = TextClassifier(random_state=0, calibration_folds=2).fit(ds["text"], labels)
    np.testing.assert_allclose(clf.predict_proba(ds["text"]), clf.predict_proba([r["text"] for r in rows]))
    zs = ZeroShotClassifier(Taxonomy.from_labels(sorted(set(labels))), embedder="hash").fit()
    assert zs.predict_proba(ds["text"]).shape == (len(rows), 3)
    assert len(zs.predict(texts)) == len(rows)


def test_coverage_curve_and_abstention_in_reports() -> None:
    conf = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])
    correct = np.array([1, 1, 1, 1, 0, 1, 0, 0, 1, 0])
    curve = coverage_curve(conf, correct, coverages=(1.0, 0.5, 0.3))
    assert curve == ((1.0, 0.1, 0.6), (0.5, 0.6, 0.8), (0.3, 0.8, 1.0))
    rep = evaluate_predictions(["甲", "乙", "甲"], ["甲", None, "乙"], classes=["甲", "乙"])
    assert rep.accuracy == pytest.approx(1 / 3)  # an abstention counts as wrong
    assert rep.per_class[1].support == 1 and rep.per_class[1].recall == 0.0
    assert rep.accuracy_at(1.0) is None  # no probabilities, no curve


def test_taxonomy_from_labels_with_descriptions_and_glossary() -> None:
    tax = Taxonomy.from_labels(
        ["农林水利", "自定义类"], descriptions={"自定义类": "其他事项"}, keywords={"自定义类": "杂项、其他"}
    )
    assert tax.describe("自定义类") == "自定义类：其他事项。关键词：杂项、其他"
    assert tax.describe("农林水利") == "农林水利"
    wide = tax.expanded()
    assert "水利" in wide.describe("农林水利") and "关键词" in wide.describe("农林水利")
    assert wide.describe("自定义类") == tax.describe("自定义类")  # described categories are kept
    with pytest.raises(TaxonomyError, match="not among the labels"):
        Taxonomy.from_labels(["甲"], descriptions={"乙": "x"})


def test_zero_shot_few_shot_moves_label_vectors() -> None:
    rows = _dicts()
    labels = [r["category"] for r in rows]
    tax = Taxonomy.from_labels(["农林水利", "教育事业", "社会事业"])
    zs = ZeroShotClassifier(tax, embedder="hash").fit()
    assert zs.n_examples_.tolist() == [0, 0, 0]
    few = ZeroShotClassifier(tax, embedder="hash").fit(rows[::2], labels[::2])
    assert few.n_examples_.tolist() == [2, 2, 2]
    assert not np.allclose(zs.label_vectors_, few.label_vectors_)
    np.testing.assert_allclose(np.linalg.norm(few.label_vectors_, axis=1), 1.0, rtol=1e-5)
    acc_few = np.mean(few.predict(rows[1::2]) == np.array(labels[1::2], dtype=object))
    assert acc_few >= 0.5
    with pytest.raises(ConfigError, match="both texts and labels"):
        ZeroShotClassifier(tax, embedder="hash").fit(rows)
    with pytest.raises(ConfigError, match="query"):
        ZeroShotClassifier(tax, embedder="hash", label_kind="doc").fit()


def test_zero_shot_focuses_proposals_not_plain_strings() -> None:
    body = (
        "调研情况："
        + "近年来城市人口持续增长，" * 30
        + "具体建议：一是加大高标准农田建设投入；二是完善灌溉排水设施。"
    )
    row = {"title": "关于加快高标准农田建设的建议", "text": body}
    zs = ZeroShotClassifier(Taxonomy.from_labels(["农林水利", "教育事业"]), embedder="hash").fit()
    as_dict = zs.similarities([row])
    as_string = zs.similarities([document_text(row)])
    assert not np.allclose(as_dict, as_string)  # the dict is read by its focus, the string whole
    forced = ZeroShotClassifier(zs.taxonomy, embedder="hash", focus=True).fit()
    np.testing.assert_allclose(forced.similarities([document_text(row)]), as_dict, rtol=1e-5)
    with pytest.raises(ConfigError, match="focus"):
        ZeroShotClassifier(zs.taxonomy, embedder="hash", focus="maybe").fit().predict([row])


def test_fit_dataset_with_a_title_column() -> None:
    datasets = pytest.importorskip("datasets")
    rows = _dicts()
    ds = datasets.Dataset.from_list(rows)
    clf = TextClassifier(random_state=0, calibration_folds=2).fit_dataset(
        ds, text_column="text", label_column="category", title_column="title"
    )
    ref = TextClassifier(random_state=0, calibration_folds=2).fit(rows, [r["category"] for r in rows])
    np.testing.assert_allclose(clf.predict_proba(rows), ref.predict_proba(rows))


def test_evaluate_passes_proposals_on_as_given() -> None:
    class Recorder:
        classes_ = np.array(["农林水利", "教育事业"], dtype=object)

        def predict_proba(self, texts):  # type: ignore[no-untyped-def]
            self.seen = list(texts)
            return np.tile([0.9, 0.1], (len(self.seen), 1))

    row = {"title": "关于加快高标准农田建设的建议", "text": "具体建议：加大投入。"}
    clf = Recorder()
    rep = evaluate_classifier(clf, [row], ["农林水利"])
    assert clf.seen == [row] and rep.accuracy == 1.0  # the dict itself, not its plain text
