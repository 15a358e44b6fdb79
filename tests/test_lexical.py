"""Chinese BM25: tokenizers, scores against a plain-Python reference, add/remove, save/load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from govnlp.errors import ConfigError, FormatError
from govnlp.lexical import (
    BigramTokenizer,
    BM25Index,
    JiebaTokenizer,
    bm25_reference,
    get_tokenizer,
    gov_lexicon_path,
)

CORPUS = [
    "市综合行政执法局会同市场监管局开展跨部门联合监管，压减检查计划数。",
    "推进老旧小区改造，支持既有住宅加装电梯，完善物业服务。",
    "加强老旧小区物业服务企业监管，建立业主委员会指导机制。",
    "优化营商环境，推行首违不罚，减轻小微企业负担。",
    "12345热线受理群众诉求，按时办结率达到98.5%。",
    "增设公交线路，方便群众出行。",
]


@pytest.mark.parametrize("name", ["bigram", "jieba"])
def test_bm25_matches_reference(name: str) -> None:
    tok = get_tokenizer(name)
    index = BM25Index(name)
    index.add(CORPUS, np.arange(len(CORPUS)))
    docs = [tok(t) for t in CORPUS]
    for query in ["老旧小区物业服务", "小微企业营商环境", "12345热线", "公交", "无关词语火星"]:
        ref = bm25_reference(docs, tok(query))
        np.testing.assert_allclose(index.score(query), ref, rtol=1e-5, atol=1e-6)
        _scores, labels = index.search(query, k=3)
        order = [i for i in np.argsort(-np.array(ref), kind="stable") if ref[i] > 0][:3]
        assert labels[0][labels[0] >= 0].tolist() == order


def test_bigram_tokenizer() -> None:
    assert BigramTokenizer()("老旧小区") == ["老", "旧", "小", "区", "老旧", "旧小", "小区"]
    assert BigramTokenizer(unigrams=False)("老旧小区") == ["老旧", "旧小", "小区"]
    # full-width digits and letters are folded, numbers stay whole, punctuation goes
    assert BigramTokenizer()("１２３４５热线，ＡＢ") == ["12345", "热", "线", "热线", "ab"]
    assert BigramTokenizer()("达到98.5%。") == ["达", "到", "达到", "98.5%"]


def test_jieba_uses_the_government_lexicon() -> None:
    tokens = JiebaTokenizer()("市综合行政执法局和市场监管局推进老旧小区物业服务，拨打12345热线")
    for term in ("综合行政执法局", "市场监管局", "老旧小区", "物业服务", "12345热线"):
        assert term in tokens, (term, tokens)
    assert "，" not in tokens
    # search mode: a shorter query term meets the long agency name
    assert "执法局" in tokens
    lexicon = gov_lexicon_path().read_text(encoding="utf-8").splitlines()
    assert any(line.startswith("营商环境 ") for line in lexicon)


def test_add_remove_equals_fresh_build() -> None:
    grown = BM25Index("bigram")
    grown.add(CORPUS[:3], np.array([10, 11, 12]))
    grown.add(CORPUS[3:], np.array([13, 14, 15]))
    assert grown.remove(np.array([11, 14, 99])) == 2
    fresh = BM25Index("bigram")
    keep = [0, 2, 3, 5]
    fresh.add([CORPUS[i] for i in keep], np.array([10, 12, 13, 15]))
    for q in ["老旧小区物业服务", "营商环境", "热线"]:
        a = grown.search(q, k=4)
        b = fresh.search(q, k=4)
        np.testing.assert_array_equal(a[1], b[1])
        np.testing.assert_allclose(a[0], b[0], rtol=1e-5)


def test_subset_search_and_scores_for() -> None:
    index = BM25Index("bigram")
    index.add(CORPUS, np.arange(len(CORPUS)))
    _scores, labels = index.search(["老旧小区"], k=5, subset=np.array([2, 5]))
    assert labels[0].tolist() == [2, -1, -1, -1, -1]  # doc 5 shares no term with the query
    full = index.score("老旧小区")
    np.testing.assert_allclose(index.scores_for("老旧小区", np.array([2, 1, 77])), [full[2], full[1], 0.0])


def test_errors() -> None:
    index = BM25Index("bigram")
    with pytest.raises(TypeError):
        index.add("一段文字", [0])
    index.add(["一段文字"], [0])
    with pytest.raises(ConfigError, match="labels"):
        index.add(["另一段"], [0])
    with pytest.raises(ConfigError, match="tokenizer"):
        BM25Index("whitespace")


def test_save_load_without_pickle(tmp_path: Path) -> None:
    index = BM25Index("jieba", k1=1.5, b=0.6)
    index.add(CORPUS, np.arange(100, 100 + len(CORPUS)))
    index.save(tmp_path / "lex")
    meta = json.loads((tmp_path / "lex" / "bm25.json").read_text(encoding="utf-8"))
    assert meta["format_version"] == 1 and meta["tokenizer"] == "jieba"
    for f in ("tf.npz", "labels.npy"):  # plain arrays: loadable with allow_pickle=False
        np.load(tmp_path / "lex" / f, allow_pickle=False)
    loaded = BM25Index.load(tmp_path / "lex")
    assert loaded.k1 == 1.5 and loaded.b == 0.6 and loaded.tokenizer.name == "jieba"
    np.testing.assert_allclose(loaded.score("老旧小区物业服务"), index.score("老旧小区物业服务"))
    meta["n_docs"] = 3
    (tmp_path / "lex" / "bm25.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(FormatError, match="inconsistent"):
        BM25Index.load(tmp_path / "lex")
    meta["format_version"] = 99
    (tmp_path / "lex" / "bm25.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(FormatError, match="version"):
        BM25Index.load(tmp_path / "lex")
