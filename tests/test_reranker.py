"""Cross-encoder reranking of search hits (govnlp.search.reranker) with a tiny cross-encoder built here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from govnlp.errors import ConfigError, GovnlpError, ModelNotFoundError
from govnlp.search import SearchIndex
from govnlp.search.reranker import CrossEncoderReranker, resolve_reranker
from tiny_models import save_tiny_bert

REPLIES = [
    ("r0", "针对老旧小区加装电梯问题，对每台电梯给予15万元补助，简化规划审批。"),
    ("r1", "关于小区电梯维修资金，市住建局将指导业委会规范使用维修基金。"),
    ("r2", "新开通两条社区公交线路，增设公交站点12个，缓解出行难。"),
    ("r3", "上下学高峰增派交警疏导学校周边交通，设置临时停车区。"),
    ("r4", "严格夜间施工审批，对夜间违规施工的工地立案处罚。"),
    ("r5", "新建垃圾分类投放点300个，推行小区垃圾定时定点收运。"),
    ("r6", "建设社区居家养老服务中心，为小区老人提供助餐服务。"),
    ("r7", "更换背街小巷节能路灯3200盏，建立路灯巡查维修机制。"),
]
QUERY = "我们小区是老旧小区，老人上下楼难，希望加装电梯并解决维修问题"


def _chars() -> list[str]:
    text = "".join(t for _, t in REPLIES) + QUERY + "。，"
    return sorted({c.lower() for c in text if c.strip()})


@pytest.fixture(scope="module")
def ce_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny BERT cross-encoder (one logit, seeded head) saved with CrossEncoder.save_pretrained."""
    import torch
    from sentence_transformers import CrossEncoder
    from tokenizers import Tokenizer, processors

    root = tmp_path_factory.mktemp("ce")
    bert = root / "bert"
    vocab = save_tiny_bert(bert, _chars(), max_len=64, layers=1)
    tok = Tokenizer.from_file(str(bert / "tokenizer.json"))  # the tiny tokenizer reads pairs too
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    tok.save(str(bert / "tokenizer.json"))
    with torch.random.fork_rng():
        torch.manual_seed(1)
        model = CrossEncoder(
            str(bert), num_labels=1, local_files_only=True, max_length=64, activation_fn=torch.nn.Identity()
        )
        with torch.no_grad():  # raw logits from a head that spreads them out, so the order is clear
            model.model.classifier.weight.normal_(0.0, 50.0)
    folder = root / "cross-encoder"
    model.save_pretrained(str(folder))
    return folder


@pytest.fixture()
def index() -> SearchIndex:
    return SearchIndex.build([{"id": i, "text": t} for i, t in REPLIES], embedder="hash")


_DIRECT: dict[Path, object] = {}


def _expected(folder: Path, index: SearchIndex, query: str, k: int, mode: str) -> list[tuple[str, float]]:
    """The top ``k`` of the index's candidates ordered by CrossEncoder.predict called directly."""
    from sentence_transformers import CrossEncoder

    cands = index.search(query, k=len(index), mode=mode)
    if folder not in _DIRECT:
        _DIRECT[folder] = CrossEncoder(str(folder), local_files_only=True, max_length=64)
    model: CrossEncoder = _DIRECT[folder]  # type: ignore[assignment]
    scores = model.predict([(query, h.record["index_text"]) for h in cands])
    order = np.argsort(-np.asarray(scores), kind="stable")[:k]
    return [(cands[i].id, float(scores[i])) for i in order]


@pytest.mark.parametrize("mode", ["hybrid", "lexical"])
def test_reranker_orders_hits_by_cross_encoder_scores(ce_folder: Path, index: SearchIndex, mode: str) -> None:
    plain = index.search(QUERY, k=5, mode=mode)
    hits = index.search(QUERY, k=5, mode=mode, reranker=ce_folder)
    expected = _expected(ce_folder, index, QUERY, 5, mode)
    assert [h.id for h in hits] == [i for i, _ in expected]
    assert [h.score for h in hits] == pytest.approx([s for _, s in expected], abs=1e-5)
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert [h.id for h in hits] != [h.id for h in plain]  # the cross-encoder does change this order
    by_id = {h.id: h for h in index.search(QUERY, k=len(index), mode=mode)}
    for h in hits:  # the index's component scores and record are kept
        assert h.dense_score == by_id[h.id].dense_score
        assert h.lexical_score == by_id[h.id].lexical_score
        assert h.record == by_id[h.id].record


def test_reranker_set_on_the_index_and_switched_off(ce_folder: Path, index: SearchIndex) -> None:
    plain = [h.to_dict() for h in index.search(QUERY, k=4)]
    once = index.search(QUERY, k=4, reranker=ce_folder)
    index.reranker = CrossEncoderReranker(ce_folder, rerank_top=20)
    again = index.search(QUERY, k=4)
    assert [h.id for h in again] == [h.id for h in once] != [h["id"] for h in plain]
    assert [h.score for h in again] == pytest.approx([h.score for h in once], abs=1e-5)
    assert [h.to_dict() for h in index.search(QUERY, k=4, reranker=False)] == plain
    batch = index.search_batch([QUERY, "  ", "夜间施工噪音"], k=3)
    assert [h.id for h in batch[0]] == [h.id for h in once[:3]]
    assert batch[1] == []
    index.reranker = None
    assert [h.to_dict() for h in index.search(QUERY, k=4)] == plain


def test_results_without_a_reranker_are_unchanged(ce_folder: Path, index: SearchIndex) -> None:
    fresh = SearchIndex.build([{"id": i, "text": t} for i, t in REPLIES], embedder="hash")
    for mode in ("hybrid", "dense", "lexical"):
        a = [h.to_dict() for h in index.search(QUERY, k=5, mode=mode, reranker=None)]
        b = [h.to_dict() for h in fresh.search(QUERY, k=5, mode=mode)]
        assert a == b


def test_k_and_rerank_top_edges(ce_folder: Path, index: SearchIndex) -> None:
    rr = CrossEncoderReranker(ce_folder, rerank_top=2)
    # k above rerank_top: k candidates are re-scored, every hit carries a cross-encoder score
    hits = index.search(QUERY, k=6, mode="hybrid", reranker=rr)
    cands6 = index.search(QUERY, k=6, mode="hybrid")
    assert len(hits) == 6 and {h.id for h in hits} == {h.id for h in cands6}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    # k above the index size: all records, reranked
    all_hits = index.search(QUERY, k=50, mode="hybrid", reranker=rr)
    assert len(all_hits) == len(index)
    assert [h.id for h in all_hits] == [i for i, _ in _expected(ce_folder, index, QUERY, 50, "hybrid")]
    # rerank() itself
    cands = index.search(QUERY, k=8)
    assert [h.id for h in rr.rerank(QUERY, cands)] == [h.id for h in all_hits]
    assert [h.id for h in rr.rerank(QUERY, cands, top_n=3)] == [h.id for h in all_hits[:3]]
    assert rr.rerank(QUERY, [], top_n=3) == []
    assert rr.rerank("   ", cands, top_n=2) == cands[:2]
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ConfigError, match="top_n"):
            rr.rerank(QUERY, cands, top_n=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="k must be"):
        index.search(QUERY, k=0, reranker=rr)
    with pytest.raises(ConfigError, match="rerank_top"):
        CrossEncoderReranker(ce_folder, rerank_top=0)


def test_reranker_folder_errors(ce_folder: Path, tmp_path: Path, index: SearchIndex) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelNotFoundError, match="does not exist") as exc:
        index.search(QUERY, k=3, reranker=missing)
    assert isinstance(exc.value, GovnlpError) and str(missing) in str(exc.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelNotFoundError, match=r"config\.json"):
        CrossEncoderReranker(empty)
    encoder = tmp_path / "encoder"  # an encoder without a classification head would give random scores
    save_tiny_bert(encoder, _chars())
    with pytest.raises(ConfigError, match="classification head"):
        CrossEncoderReranker(encoder)
    two = tmp_path / "two-labels"
    two.mkdir()
    config = json.loads((ce_folder / "config.json").read_text())
    config["id2label"] = {"0": "a", "1": "b"}
    config.pop("num_labels", None)
    (two / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="2 labels"):
        CrossEncoderReranker(two)
    with pytest.raises(ConfigError, match="CrossEncoder folder"):
        CrossEncoderReranker(42)
    assert resolve_reranker(None) is None and resolve_reranker(False) is None


def test_reranker_is_not_saved_with_the_index(ce_folder: Path, index: SearchIndex, tmp_path: Path) -> None:
    index.reranker = ce_folder
    index.save(tmp_path / "idx")
    loaded = SearchIndex.load(tmp_path / "idx")
    assert loaded.reranker is None
    assert "reranker" not in (tmp_path / "idx" / "manifest.json").read_text()
    assert [h.id for h in loaded.search(QUERY, k=3, reranker=ce_folder)] == [
        h.id for h in index.search(QUERY, k=3)
    ]
