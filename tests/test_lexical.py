"""Chinese BM25: tokenizers, scores against a plain-Python reference, add/remove, save/load."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from govnlp.errors import ConfigError, FormatError
from govnlp.search.bm25 import BM25Index
from govnlp.search.lexical import (
    DEFAULT_LEXICAL,
    LEXICAL_KINDS,
    MixedLexicalIndex,
    load_lexical,
    make_lexical,
)
from govnlp.search.tfidf import TfidfIndex
from govnlp.search.tokenize import (
    BigramTokenizer,
    CharNgramTokenizer,
    JiebaTokenizer,
    get_tokenizer,
    gov_lexicon_path,
    normalize_text,
)
from lexical_reference import bm25_reference, tfidf_reference

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
        a = grown.search(q, k=2)  # fewer than the 4 documents held: the top-k selection is tested too
        b = fresh.search(q, k=2)
        np.testing.assert_array_equal(a[1], b[1])
        np.testing.assert_allclose(a[0], b[0], rtol=1e-5)
        assert (a[1] >= 0).sum() >= 1
        by_label = dict(zip(grown.labels().tolist(), grown.score(q).tolist(), strict=True))
        np.testing.assert_allclose(
            [by_label[lab] for lab in fresh.labels().tolist()], fresh.score(q), rtol=1e-5
        )


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


# -- TF-IDF cosine and the bm25+tfidf mix ---------------------------------------------------------------
QUERIES = ["老旧小区物业服务", "小微企业营商环境", "12345热线", "公交", "无关词语火星"]


def test_char_ngram_tokenizer_matches_sklearn_char_analyzer() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    analyzer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3)).build_analyzer()
    tok = get_tokenizer("char1-3")
    assert tok.name == "char1-3"
    for text in CORPUS:  # sklearn's char analyzer after NFKC (，-> ,) and lower case
        assert sorted(tok(text)) == sorted(analyzer(normalize_text(text)))
    assert tok("小区") == ["小", "区", "小区"]
    assert CharNgramTokenizer(2, 2)("ＡＢ  c") == ["ab", "b ", " c"]  # NFKC, lower case, one space
    with pytest.raises(ConfigError):
        CharNgramTokenizer(3, 1)


def test_tfidf_matches_sklearn() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    tok = get_tokenizer("char1-3")
    index = TfidfIndex()
    index.add(CORPUS, np.arange(len(CORPUS)) + 100)
    vec = TfidfVectorizer(analyzer=tok, sublinear_tf=True)
    docs = vec.fit_transform(CORPUS)
    for query in QUERIES:
        ref = (vec.transform([query]) @ docs.T).toarray().ravel()
        np.testing.assert_allclose(index.score(query), ref, rtol=1e-5, atol=1e-6)
    _s, labels = index.search("老旧小区物业服务", k=2)
    assert labels[0].tolist() == [102, 101]


def test_tfidf_equals_the_former_hand_written_weights() -> None:
    # the weights now come from sklearn's TfidfTransformer on the stored counts; they must equal the
    # hand-written formula govnlp used before (tests/lexical_reference.tfidf_reference); after a delete the
    # scores equal a fresh build's instead (the lexical contract checks that)
    index = TfidfIndex()
    index.add(CORPUS, np.arange(len(CORPUS)))
    index.add([CORPUS[1] + CORPUS[2], "老旧小区"], np.array([10, 11]))
    vocab: dict[str, int] = {}
    rows = []
    for t in [*CORPUS, CORPUS[1] + CORPUS[2], "老旧小区"]:
        row: dict[int, int] = {}
        for tok in index.tokenizer(t):
            j = vocab.setdefault(tok, len(vocab))
            row[j] = row.get(j, 0) + 1
        rows.append(row)
    tf = np.zeros((len(rows), len(vocab)))
    for i, row in enumerate(rows):
        for j, c in row.items():
            tf[i, j] = c
    import scipy.sparse as sp

    weights, idf = tfidf_reference(sp.csr_matrix(tf))
    for query in [*QUERIES, "老旧小区", "无关词语火星"]:
        q = np.zeros(len(vocab))
        for tok in index.tokenizer(query):
            if tok in vocab:
                q[vocab[tok]] += 1
        qw = np.where(q > 0, 1 + np.log(np.where(q > 0, q, 1)), 0) * idf
        qw = qw / max(np.linalg.norm(qw), 1e-12)
        ref = weights @ qw
        got = index.score(query)
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-7)
        assert np.argsort(-got, kind="stable").tolist() == np.argsort(-ref, kind="stable").tolist()


def test_tfidf_tiny_reference_by_hand() -> None:
    # two documents, one query term "a" (tokenizer: characters): idf(a) = ln(3/2) + 1, idf(b) = ln(3/2) + 1,
    # idf(c) = ln(3/3) + 1 = 1; doc0 = "aab": weights a (1 + ln 2) idf_a, b idf_b; cosine with the query "a"
    index = TfidfIndex(CharNgramTokenizer(1, 1))
    index.add(["aab", "c"], np.array([0, 1]))
    ia = math.log(1.5) + 1
    wa, wb = (1 + math.log(2)) * ia, ia
    np.testing.assert_allclose(index.score("a"), [wa / math.hypot(wa, wb), 0.0], rtol=1e-6)


def test_mix_is_the_max_normalised_blend() -> None:
    mix = MixedLexicalIndex(weight=0.3)
    labels = np.arange(len(CORPUS))
    mix.add(CORPUS, labels)
    bm25, tfidf = BM25Index(), TfidfIndex()
    bm25.add(CORPUS, labels)
    tfidf.add(CORPUS, labels)
    for query in QUERIES[:4]:
        b, t = bm25.score(query), tfidf.score(query)
        np.testing.assert_allclose(mix.score(query), 0.7 * b / b.max() + 0.3 * t / t.max(), rtol=1e-5)
    assert not mix.score("无关词语火星").any()  # no match anywhere: all zero, no division by zero
    assert mix.search("无关词语火星", k=2)[1].tolist() == [[-1, -1]]
    assert mix.describe() == {
        "kind": "bm25+tfidf",
        "tokenizer": "bigram-only",
        "k1": 1.2,
        "b": 0.75,
        "tfidf_tokenizer": "char1-3",
        "weight": 0.3,
    }
    with pytest.raises(ConfigError):
        MixedLexicalIndex(weight=1.5)


@pytest.mark.parametrize("kind", LEXICAL_KINDS)
def test_every_kind_round_trips_with_deterministic_scores(kind: str, tmp_path: Path) -> None:
    index = make_lexical(kind)
    assert index.kind == kind
    index.add(CORPUS, np.arange(len(CORPUS)) * 3)
    assert index.remove([3]) == 1
    index.add(["新增社区养老服务站点"], [99])
    index.save(tmp_path / "lex")
    loaded = load_lexical(tmp_path / "lex")
    assert type(loaded) is type(index) and loaded.describe() == index.describe()
    assert loaded.labels().tolist() == index.labels().tolist()
    for query in [*QUERIES, "养老服务"]:
        s = index.score(query)
        np.testing.assert_array_equal(s, index.score(query))  # deterministic
        np.testing.assert_array_equal(loaded.score(query), s)  # identical after a reload
    s, lab = loaded.search(["养老服务", "老旧小区"], k=2)
    assert lab[0][0] == 99 and lab[1][0] in (3 * 1, 3 * 2)
    np.testing.assert_allclose(
        loaded.scores_for("养老服务", np.array([99, 12345])), [s[0][0], 0.0], rtol=1e-6
    )


def test_make_and_load_lexical_errors(tmp_path: Path) -> None:
    assert make_lexical().kind == DEFAULT_LEXICAL
    with pytest.raises(ConfigError, match="bm25\\+tfidf"):
        make_lexical("bm42")
    with pytest.raises(FormatError, match="no saved lexical index"):
        load_lexical(tmp_path)
    index = make_lexical("bm25+tfidf")
    index.add(CORPUS, np.arange(len(CORPUS)))
    index.save(tmp_path / "mix")
    meta = json.loads((tmp_path / "mix" / "lexical.json").read_text())
    (tmp_path / "mix" / "lexical.json").write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(FormatError, match="version"):
        load_lexical(tmp_path / "mix")
    (tmp_path / "mix" / "lexical.json").write_text(json.dumps({**meta, "n_docs": 2}))
    with pytest.raises(FormatError, match="inconsistent"):
        load_lexical(tmp_path / "mix")
    with pytest.raises(TypeError):
        index.add("老旧小区", [1])


# -- through SearchIndex: the lexical kind is recorded in the manifest and reloaded ------------------------
RECORDS = [{"id": f"r{i}", "text": text, "year": 2018 + i % 4} for i, text in enumerate(CORPUS)]


@pytest.mark.parametrize("kind", LEXICAL_KINDS)
def test_search_index_records_and_reloads_the_lexical_kind(kind: str, tmp_path: Path) -> None:
    from govnlp.search import SearchIndex

    index = SearchIndex.build(RECORDS, embedder="hash", lexical=kind, index_type="exact")
    index.delete(["r2"])
    index.save(tmp_path / "idx")
    m = json.loads((tmp_path / "idx" / "manifest.json").read_text(encoding="utf-8"))
    assert m["lexical"]["kind"] == kind
    loaded = SearchIndex.load(tmp_path / "idx")
    assert loaded.lexical.kind == kind and loaded.lexical.describe() == index.lexical.describe()
    for mode in ("lexical", "hybrid"):
        for filters in (None, {"year": {"gte": 2020}}):
            a = index.search_batch(QUERIES[:4], k=3, mode=mode, filters=filters)
            b = loaded.search_batch(QUERIES[:4], k=3, mode=mode, filters=filters)
            assert [[(h.id, h.score, h.lexical_score) for h in hs] for hs in a] == [
                [(h.id, h.score, h.lexical_score) for h in hs] for hs in b
            ]
    # a manifest whose kind disagrees with the lexical folder is refused
    other = next(k for k in LEXICAL_KINDS if k != kind)
    (tmp_path / "idx" / "manifest.json").write_text(
        json.dumps({**m, "lexical": {**m["lexical"], "kind": other}}), encoding="utf-8"
    )
    with pytest.raises(FormatError, match="lexical"):
        SearchIndex.load(tmp_path / "idx")


def test_search_index_without_a_recorded_kind_loads_as_bm25(tmp_path: Path) -> None:
    from govnlp.search import SearchIndex

    index = SearchIndex.build(RECORDS, embedder="hash", lexical="bm25", index_type="exact")
    index.save(tmp_path / "old")
    m = json.loads((tmp_path / "old" / "manifest.json").read_text(encoding="utf-8"))
    del m["lexical"]["kind"]  # as written before lexical kinds existed
    (tmp_path / "old" / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    loaded = SearchIndex.load(tmp_path / "old")
    assert loaded.lexical.kind == "bm25"
    assert [h.id for h in loaded.search("老旧小区", mode="lexical")] == [
        h.id for h in index.search("老旧小区", mode="lexical")
    ]


def test_jieba_loading_leaves_jiebas_log_level_alone(tmp_path: Path) -> None:
    import logging

    import jieba

    words = tmp_path / "words.txt"
    words.write_text("充电桩建设 10 n\n", encoding="utf-8")
    before = jieba.default_logger.level
    jieba.default_logger.setLevel(logging.DEBUG)
    try:
        assert "充电桩建设" in JiebaTokenizer(words)("推进充电桩建设")
        assert jieba.default_logger.level == logging.DEBUG  # no global side effect
    finally:
        jieba.default_logger.setLevel(before)
