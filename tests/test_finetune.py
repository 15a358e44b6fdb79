"""Tests of govnlp.embedders.finetune with a tiny handmade sentence-transformers model (no downloads)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from govnlp.documents import Measure, Problem, ReplyDocument
from govnlp.embedders.finetune import fine_tune, pairs_from_messages, pairs_from_replies, title_as_problem
from govnlp.errors import ConfigError, FormatError
from tiny_models import save_tiny_bert

ROWS = [
    {
        "title": "反映某小区路灯不亮的问题",
        "detail": "小区路灯坏了三个月没人修，晚上出行不安全。",
        "reply": "网友您好！经查，街道已安排维修路灯，本周内修复。感谢您的支持！",
    },
    {
        "title": "咨询公积金贷款额度",
        "detail": "首套房公积金贷款最多能贷多少？",
        "reply": "您好！公积金贷款额度按缴存余额和还款能力计算，最高不超过规定上限。",
    },
    {
        "title": "投诉工地夜间施工噪音",
        "detail": "附近工地每天深夜施工，影响休息。",
        "reply": "经核查，该工地未办理夜间施工许可，执法部门已责令停止夜间作业。",
    },
    {
        "title": "建议增开公交线路",
        "detail": "新小区入住多年，附近没有公交站。",
        "reply": "公交公司将调整线路，在小区附近增设站点，方便居民出行。",
    },
    {
        "title": "请求整治占道经营",
        "detail": "菜市场门口摊贩占道，车辆无法通行。",
        "reply": "城管部门已对占道摊贩进行劝导，并划定临时经营区域。",
    },
    {
        "title": "反映农村饮水困难",
        "detail": "村里自来水经常停水，水质浑浊。",
        "reply": "水利部门将实施农村饮水提质工程，更换老化管网，改善水质。",
    },
]


@pytest.fixture(scope="module")
def tiny_st_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide BERT with a one-token-per-character WordLevel tokenizer, as a ST folder."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    chars = sorted({c for r in ROWS for v in r.values() for c in v} | set("问答：建议加强监管"))
    hf = tmp_path_factory.mktemp("tiny_hf")
    save_tiny_bert(hf, [c for c in chars if c.strip()])
    transformer = Transformer(str(hf), max_seq_length=64)
    st = SentenceTransformer(
        modules=[transformer, Pooling(32, "mean"), Normalize()],
        prompts={"query": "问：", "passage": "答："},
        device="cpu",
    )
    out = tmp_path_factory.mktemp("tiny_st") / "model"
    st.save(str(out))
    return out


def test_title_as_problem() -> None:
    assert title_as_problem("反映A5区某小区没有公办幼儿园的问题") == "某小区没有公办幼儿园"
    assert title_as_problem("咨询K市公积金贷款事宜") == "公积金贷款"
    assert title_as_problem("关于") == "关于"


def test_pairs_from_messages_rewrites_and_cleans() -> None:
    full = pairs_from_messages(ROWS, rewrite="none", min_chars=5)
    assert full[0][0].startswith("反映某小区路灯不亮的问题\n")
    assert "网友您好" not in full[0][1] and "感谢" not in full[0][1]
    titles = pairs_from_messages(ROWS, rewrite="title", min_chars=5)
    assert titles[0][0] == "某小区路灯不亮"
    mixed = pairs_from_messages(ROWS, rewrite="mix", min_chars=5, random_state=1)
    assert len(mixed) == len(ROWS) and {q for q, _ in mixed} <= {q for q, _ in full} | {q for q, _ in titles}
    assert mixed == pairs_from_messages(ROWS, rewrite="mix", min_chars=5, random_state=1)
    with pytest.raises(ConfigError):
        pairs_from_messages(ROWS, rewrite="paraphrase")  # type: ignore[arg-type]


def test_pairs_from_replies() -> None:
    doc = ReplyDocument(
        id="d1",
        proposal_title="关于加强农村公路养护的建议",
        problems=(Problem(id="p1", section="一", number="一", text="农村公路养护资金不足"),),
        measures=(
            Measure(
                id="m1",
                section="一",
                problem="农村公路养护资金不足",
                ordinal="一是",
                title="加大投入",
                text="一是加大投入，将养护资金纳入年度预算。",
            ),
            Measure(
                id="m2",
                section="二",
                problem=None,
                ordinal="二是",
                title="完善机制",
                text="二是完善机制，推行路长制管理。",
            ),
        ),
    )
    assert pairs_from_replies([doc]) == [
        ("农村公路养护资金不足", "一是加大投入，将养护资金纳入年度预算。"),
        ("关于加强农村公路养护的建议", "二是完善机制，推行路长制管理。"),
    ]
    with pytest.raises(TypeError):
        pairs_from_replies([{"text": "x"}])  # type: ignore[list-item]


def test_fine_tune_writes_a_loadable_model(tiny_st_dir: Path, tmp_path: Path) -> None:
    from govnlp.embedders import load_embedder

    base = load_embedder(tiny_st_dir)
    before = base.encode(["建议加强监管"], kind="query")
    pairs = pairs_from_messages(ROWS, rewrite="none", min_chars=5)
    seen: list[tuple[int, float]] = []
    out = tmp_path / "tuned"
    tuned = fine_tune(
        pairs,
        base=base,
        out=out,
        batch_size=3,
        learning_rate=5e-3,
        max_steps=4,
        epochs=3,
        freeze_embeddings=False,
        callback=lambda step, loss: seen.append((step, loss)),
        show_progress_bar=False,
    )
    assert [s for s, _ in seen] == [1, 2, 3, 4]
    assert (out / "modules.json").is_file() and (out / "manifest.json").is_file()
    again = load_embedder(out)
    assert again.fingerprint() == tuned.fingerprint() != base.fingerprint()
    assert tuned.query_prompt == "问：" and tuned.passage_prompt == "答："  # type: ignore[attr-defined]
    vec = tuned.encode(["建议加强监管"], kind="query")
    assert vec.shape == (1, base.dim) and np.isclose(np.linalg.norm(vec), 1.0, atol=1e-5)
    assert not np.allclose(vec, before)
    # the caller's embedder was not trained in place
    assert np.allclose(base.encode(["建议加强监管"], kind="query"), before)
    with pytest.raises(FormatError):
        fine_tune(pairs, base=base, out=out, max_steps=1)


def test_fine_tune_is_deterministic_and_freezes(tiny_st_dir: Path, tmp_path: Path) -> None:
    pairs = pairs_from_messages(ROWS, rewrite="mix", min_chars=5)
    kw = {
        "base": tiny_st_dir,
        "batch_size": 3,
        "learning_rate": 5e-3,
        "max_steps": 2,
        "show_progress_bar": False,
    }
    a = fine_tune(pairs, out=tmp_path / "a", **kw)
    b = fine_tune(pairs, out=tmp_path / "b", **kw)
    texts = ["小区路灯", "公交线路"]
    assert np.allclose(a.encode(texts), b.encode(texts), atol=1e-6)
    from safetensors.numpy import load_file

    def word_emb(folder: Path) -> np.ndarray:
        weights = load_file(str(folder / "model.safetensors"))
        return next(v for k, v in weights.items() if "word_embeddings" in k)

    assert np.array_equal(word_emb(tmp_path / "a"), word_emb(tiny_st_dir))  # frozen by default


def test_interrupted_run_leaves_no_folder(tiny_st_dir: Path, tmp_path: Path) -> None:
    pairs = pairs_from_messages(ROWS, rewrite="none", min_chars=5)
    out = tmp_path / "tuned"

    def stop(step: int, loss: float) -> None:
        if step == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fine_tune(
            pairs,
            base=tiny_st_dir,
            out=out,
            batch_size=2,
            max_steps=5,
            callback=stop,
            show_progress_bar=False,
        )
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments(tiny_st_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        fine_tune("问题", out=tmp_path / "x", base=tiny_st_dir)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        fine_tune([("a", 1)], out=tmp_path / "x", base=tiny_st_dir)  # type: ignore[list-item]
    with pytest.raises(ConfigError):
        fine_tune([("问", "答")], out=tmp_path / "x", base=tiny_st_dir)
    with pytest.raises(ConfigError):
        fine_tune([("问", "答"), ("问二", "答二")], out=tmp_path / "x", base="hash")
    with pytest.raises(ConfigError):
        fine_tune([("问", "答"), ("问二", "答二")], out=tmp_path / "x", base=tiny_st_dir, learning_rate=0)


def _many_pairs() -> list[tuple[str, str]]:
    """24 distinct (query, positive) pairs over the tiny model's characters."""
    out = []
    for i in range(4):
        for r in ROWS:
            out.append((f"{r['title']}{'问' * i}", f"{r['reply']}{'答' * i}"))
    return out


def test_validation_pairs_are_held_out() -> None:
    from govnlp.embedders.finetune import _split_validation

    pairs = _many_pairs()
    train, val = _split_validation(pairs, 10, random_state=0)
    assert len(val) == 10
    assert not {q for q, _ in train} & {q for q, _ in val}
    assert not {p for _, p in train} & {p for _, p in val}
    assert _split_validation(pairs[:6], 0.2, random_state=0) == (pairs[:6], [])  # too few: none held out


def test_tuned_model_carries_its_fusion_weight(tiny_st_dir: Path, tmp_path: Path) -> None:
    import json

    from govnlp.embedders.finetune import FUSION_ALPHAS, tuned_fusion_weights
    from govnlp.search import SearchIndex, fusion_config

    out = tmp_path / "tuned"
    fine_tune(
        _many_pairs(),
        base=tiny_st_dir,
        out=out,
        batch_size=3,
        learning_rate=5e-3,
        max_steps=2,
        validation_size=10,
        show_progress_bar=False,
    )
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    weights = manifest["fusion_weights"]
    assert set(weights) == {"score", "rrf"} and all(a in FUSION_ALPHAS for a in weights.values())
    assert manifest["fusion_validation"]["pairs"] == 10
    assert set(manifest["fusion_validation"]["mrr@10"]["score"]) == {str(a) for a in FUSION_ALPHAS}
    assert tuned_fusion_weights(out) == weights
    records = [{"id": str(i), "text": r["reply"]} for i, r in enumerate(ROWS)]
    # users pass nothing: the index takes the weight of its fusion method from the model folder
    index = SearchIndex.build(records, embedder=str(out), index_type="numpy")
    assert index.fusion["alpha"] == weights[index.fusion["method"]]
    from govnlp.embedders import load_embedder

    index = SearchIndex.build(records, embedder=load_embedder(out), index_type="numpy", fusion="rrf")
    assert index.fusion["alpha"] == weights["rrf"]  # a method named without a weight: still the model's
    index = SearchIndex.build(records, embedder=str(out), index_type="numpy", fusion={"alpha": 0.9})
    assert index.fusion["alpha"] == 0.9  # a weight given wins
    # an untuned folder (no manifest weights) keeps the default
    assert tuned_fusion_weights(tiny_st_dir) is None and tuned_fusion_weights("hash") is None
    index = SearchIndex.build(records, embedder=str(tiny_st_dir), index_type="numpy")
    assert index.fusion == fusion_config(None)


def test_a_fusion_weight_must_beat_equal_weights_by_more_than_the_noise() -> None:
    import numpy as np

    from govnlp.embedders.finetune import FUSION_ALPHAS, _pick_weight

    base = np.array([1.0, 0.5, 1.0, 0.0, 1.0, 0.25, 1.0, 1.0, 0.5, 1.0] * 10)
    # 0.7 is ahead by 0.0025 (one query up, another down): within the noise, equal weights stay
    rr = {a: base.copy() for a in FUSION_ALPHAS}
    rr[0.7] = base.copy()
    rr[0.7][3] = 0.5
    rr[0.7][1] = 0.25
    assert _pick_weight(rr) == 0.5
    # 0.3 wins on a third of the queries and loses on none: kept
    rr[0.3] = base.copy()
    rr[0.3][::3] = 1.0
    assert _pick_weight(rr) == 0.3
    # exact ties go to the weight nearest 0.5
    assert _pick_weight({a: base.copy() for a in FUSION_ALPHAS}) == 0.5
