"""``"e5-onnx"``: the default model exported to ONNX with int8 weights, run by onnxruntime (faster).

On first use the converted default model (:func:`govnlp.embedders.default_model_dir`) is exported with
``torch.onnx.export`` (opset 17, eager attention; mean pooling and L2 normalisation inside the graph),
fused with onnxruntime's transformer optimizer (one ``Attention`` node per layer, ``SkipLayerNormalization``,
``BiasGelu``; the embedding lookup is left unfused so that its table can be quantised) and quantised with
``onnxruntime.quantization.quantize_dynamic``: per-channel symmetric int8 weights for the MatMul,
Attention and Gather nodes, activations quantised on the fly, except each layer's FFN output MatMul,
which stays float32 (its input, the GELU output, has outliers that a per-tensor uint8 activation scale
flattens; those 12 MatMuls caused most of the error). The result is cached next to the converted model
(``...-onnx-int8-x<EXPORT_VERSION>``), with the same scheme (exclusive lock, temporary folder, manifest
last, rename). A changed recipe bumps ``EXPORT_VERSION``: a new folder, and a new fingerprint, so an index
built with an older export is refused. It needs ``onnxruntime`` (extra ``govnlp[onnx]``) and, for the
one-off export, torch (a core dependency).

Compared with the sentence-transformers default (same prompts ``query: ``/``passage: ``, same pooling,
same long-text windows): vectors at mean cosine ~0.9993 to the float model's on reply paragraphs.
``benchmarks/bench_embed.py`` has the figures (sections ``speedup`` and ``quality``): on a quiet 2-core
machine, in the same interleaved runs, export version 3 (fused attention) ran at 2.32x the texts/s of
sentence-transformers and version 2 (unfused) at 2.12x; MRR@10 -0.005 against the float model. ``load_embedder(None)`` stays the
sentence-transformers model (the one users fine-tune); choose ``"e5-onnx"`` when speed matters.
Its fingerprint differs from the default model's: an index built with one cannot be searched with the
other.

Each text is run on its own (no padding): dynamic quantisation scales activations per batch tensor, so
padded batches make a text's vector depend on its neighbours (measured: cosine between batched and
one-at-a-time vectors min 0.998, mean 0.9991 on 200 paragraphs in length-sorted batches of 16, with
the attention mask), for a speed gain of 8-15% (length-sorted batches of 16, export 3, quiet machine);
one at a time, a text always gets the same vector.

Example:
    >>> emb = load_embedder("e5-onnx")
    >>> emb.encode(["小区加装电梯有补贴吗"], kind="query").shape
    (1, 384)
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from govnlp.embedders.base import Kind, check_kind, check_texts, l2_normalize
from govnlp.embedders.default import DEFAULT_MODEL_NAME, _exclusive_lock, default_model_dir
from govnlp.embedders.filehash import file_sha256
from govnlp.embedders.sentence_transformer import _WINDOW_MARGIN, token_windows
from govnlp.errors import FormatError, missing_extra
from govnlp.progress import progress, quiet_model_loading
from govnlp.storage import MANIFEST, atomic_folder, read_manifest, write_manifest

__all__ = ["E5OnnxEmbedder", "e5_onnx_dir", "load_e5_onnx"]

logger = logging.getLogger(__name__)

FORMAT = "govnlp.onnx_model"
FORMAT_VERSION = 1
# bump when the export recipe changes (2: FFN output MatMuls kept in float32; 3: fused attention)
EXPORT_VERSION = 3
OPSET = 17
MODEL_FILE = "model.onnx"
# Quantised: the fused attention (Q/K/V), attention-output and FFN-input MatMuls and the embedding Gathers. Kept float32:
# each layer's FFN output MatMul (its input, the GELU output, has outliers that per-tensor uint8
# activation scales flatten; keeping these 12 lifts the mean cosine to the float model from 0.9976 to
# 0.9993 on 200 reply paragraphs).
QUANTIZED_OPS = ("MatMul", "Attention", "Gather")
FLOAT_NODES = re.compile(r"/layer\.\d+/output/dense/MatMul$")
QUANTIZATION = (
    "onnxruntime transformer fusion (Attention, SkipLayerNormalization, BiasGelu), then dynamic int8 "
    "(onnxruntime.quantization.quantize_dynamic): per-channel symmetric int8 weights of the MatMul, Attention "
    "and Gather nodes except each layer's FFN output MatMul (float32); activations quantised on the fly"
)


def _need_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise missing_extra("onnxruntime", "onnx", "The 'e5-onnx' embedder") from exc
    return onnxruntime


def _is_complete(folder: Path) -> bool:
    if not (folder / MANIFEST).is_file():
        return False
    try:
        manifest = read_manifest(folder, FORMAT, FORMAT_VERSION)
    except FormatError as exc:
        logger.warning("ONNX model at %s is unusable (%s); exporting again", folder, exc)
        return False
    files = manifest.get("files", {})
    if manifest.get("export_version") != EXPORT_VERSION or not files:
        return False
    return all(
        (folder / rel).is_file() and (folder / rel).stat().st_size == size for rel, size in files.items()
    )


def _export(source: Path, tmp: Path) -> None:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    class _MeanPooled(torch.nn.Module):
        def __init__(self, encoder: Any) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    with quiet_model_loading():
        # eager attention exports the plain softmax(QK^T)V pattern that onnxruntime's optimizer fuses
        encoder = AutoModel.from_pretrained(
            str(source), add_pooling_layer=False, local_files_only=True, attn_implementation="eager"
        )
    encoder.eval()
    ids = (
        torch.tensor([[0, 46692, 12, 6, 12022, 22329, 2], [0, 6, 2, 1, 1, 1, 1]]) % encoder.config.vocab_size
    )
    mask = (ids != 1).long()
    fp32 = tmp / "model-fp32.onnx"
    with torch.no_grad():
        torch.onnx.export(
            _MeanPooled(encoder).eval(),
            (ids, mask),
            str(fp32),
            input_names=["input_ids", "attention_mask"],
            output_names=["sentence_embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "sentence_embedding": {0: "batch"},
            },
            opset_version=OPSET,
            dynamo=False,
        )
    import onnx

    fused = tmp / "model-fused.onnx"
    _fuse(fp32, fused, encoder.config)
    fp32.unlink()
    nodes = onnx.load(str(fused), load_external_data=False).graph.node
    names = [n.name for n in nodes if n.op_type == "MatMul"]
    keep_float = [n for n in names if FLOAT_NODES.search(n)]
    n_layers = int(encoder.config.num_hidden_layers)
    if len(keep_float) != n_layers:  # a renamed graph must not silently quantise them
        raise RuntimeError(
            f"expected {n_layers} FFN output MatMuls (one per layer) in the exported graph, "
            f"found {len(keep_float)}; update FLOAT_NODES for this transformers version"
        )
    quantize_dynamic(
        str(fused),
        str(tmp / MODEL_FILE),
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=False,
        op_types_to_quantize=list(QUANTIZED_OPS),
        nodes_to_exclude=keep_float,
        # the fused contrib ops (com.microsoft domain) have no shape-inferred output type
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    fused.unlink()


def _fuse(source: Path, target: Path, config: Any) -> None:
    """Fuse attention, skip-layer-norm and bias-GELU subgraphs (onnxruntime's BERT optimizer).

    The embedding layer norm is left unfused: the fused op would keep the 250k-row table in float32
    (~380 MB); unfused, its Gather is quantised like the rest. If fewer attention blocks fuse than the
    model has layers (a changed exporter), the export still works, only slower: that is logged.
    """
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions("bert")
    options.enable_embed_layer_norm = False
    optimized = optimize_model(
        str(source),
        model_type="bert",
        num_heads=int(config.num_attention_heads),
        hidden_size=int(config.hidden_size),
        optimization_options=options,
    )
    fused = optimized.get_fused_operator_statistics().get("Attention", 0)
    if fused != int(config.num_hidden_layers):
        logger.warning(
            "fused %d attention blocks of %d: the ONNX export will be slower than measured",
            fused,
            config.num_hidden_layers,
        )
    optimized.save_model_to_file(str(target))


def e5_onnx_dir() -> Path:
    """The folder of the int8 ONNX export of the default model, exporting it on first use (~1 minute)."""
    ort = _need_onnxruntime()
    source = default_model_dir()
    target = source.parent / f"{source.name}-onnx-int8-x{EXPORT_VERSION}"
    if _is_complete(target):
        return target
    with _exclusive_lock(target.parent / f".{target.name}.convert.lock"):  # storage locks ".NAME.lock"
        if _is_complete(target):
            return target
        import torch

        logger.info("exporting %s to ONNX int8 into %s (once)", DEFAULT_MODEL_NAME, target)
        with atomic_folder(target) as tmp:
            _export(source, tmp)
            (tmp / "tokenizer.json").write_bytes((source / "tokenizer.json").read_bytes())
            files = {p.name: p.stat().st_size for p in sorted(tmp.iterdir()) if p.is_file()}
            write_manifest(
                tmp,
                FORMAT,
                FORMAT_VERSION,
                model=DEFAULT_MODEL_NAME,
                export_version=EXPORT_VERSION,
                opset=OPSET,
                quantization=QUANTIZATION,
                source=str(source),
                source_weights_sha256=file_sha256(source / "model.safetensors"),
                torch_version=torch.__version__,
                onnxruntime_version=ort.__version__,
                prompts={"query": "query: ", "passage": "passage: "},
                pooling="mean",
                max_seq_length=512,
                files=files,
            )
    return target


class E5OnnxEmbedder:
    """multilingual-e5-small as int8 ONNX on onnxruntime (384 dims).

    Args:
        folder: a folder written by :func:`e5_onnx_dir` (default: that one).
        num_threads: onnxruntime intra-op threads (default: onnxruntime's choice, all cores).
    """

    def __init__(self, folder: str | Path | None = None, num_threads: int | None = None) -> None:
        ort = _need_onnxruntime()
        from tokenizers import Tokenizer

        self.folder = Path(folder) if folder is not None else e5_onnx_dir()
        manifest = read_manifest(self.folder, FORMAT, FORMAT_VERSION)
        self.query_prompt = str(manifest["prompts"]["query"])
        self.passage_prompt = str(manifest["prompts"]["passage"])
        self.max_seq_length = int(manifest["max_seq_length"])
        self.export_version = int(manifest.get("export_version", 0))
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if num_threads:
            options.intra_op_num_threads = int(num_threads)
        self._session: Any = ort.InferenceSession(
            str(self.folder / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )
        self._dim = int(self._session.get_outputs()[0].shape[1])
        self._tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self._n_special = len(self._tokenizer.encode("").ids)
        self._fingerprint: str | None = None

    @property
    def name(self) -> str:
        return f"{DEFAULT_MODEL_NAME}-onnx-int8"

    @property
    def dim(self) -> int:
        return self._dim

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            payload = {
                "embedder": "e5-onnx",
                "version": 2,
                "export_version": self.export_version,
                "onnx_sha256": file_sha256(self.folder / MODEL_FILE),
                "tokenizer_sha256": file_sha256(self.folder / "tokenizer.json"),
                "query_prompt": self.query_prompt,
                "passage_prompt": self.passage_prompt,
                "pooling": "mean",
                "normalize": True,
                "max_seq_length": self.max_seq_length,
                "long_text": "windows-mean-v1",
            }
            self._fingerprint = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        return self._fingerprint

    def windows(self, text: str, *, kind: Kind = "passage") -> list[str]:
        """The substrings of ``text`` that :meth:`encode` embeds (one item if the text fits)."""
        prompt = self.query_prompt if kind == "query" else self.passage_prompt
        enc = self._tokenizer.encode(text, add_special_tokens=False)
        n_prompt = len(self._tokenizer.encode(prompt, add_special_tokens=False).ids)
        size = self.max_seq_length - self._n_special - n_prompt - _WINDOW_MARGIN
        if len(enc.ids) <= size:
            return [text]
        offsets = enc.offsets
        return [
            text[offsets[a][0] : offsets[b - 1][1]] for a, b in token_windows(len(enc.ids), size, size // 4)
        ]

    def _run(self, text: str) -> np.ndarray:
        ids = np.asarray([self._tokenizer.encode(text).ids], dtype=np.int64)
        if ids.shape[1] > self.max_seq_length:  # a window that re-tokenised longer: keep the model's limit
            ids = np.concatenate([ids[:, : self.max_seq_length - 1], ids[:, -1:]], axis=1)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        return self._session.run(None, feed)[0][0]

    def encode(
        self,
        texts: Sequence[str],
        *,
        kind: Kind = "passage",
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
    ) -> np.ndarray:
        """Encode texts into an L2-normalised float32 array of shape ``(len(texts), 384)``.

        ``batch_size`` is accepted for the protocol; texts run one at a time (see the module doc).
        """
        items = check_texts(texts)
        check_kind(kind)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        if show_progress_bar is None and len(items) <= batch_size:
            show_progress_bar = False  # no bar for one batch's worth
        prompt = self.query_prompt if kind == "query" else self.passage_prompt
        out = np.empty((len(items), self.dim), dtype=np.float32)
        for i, text in enumerate(progress(items, desc="e5-onnx", show_progress_bar=show_progress_bar)):
            pieces = self.windows(text, kind=kind)
            vecs = np.stack([self._run(prompt + p) for p in pieces])
            out[i] = vecs.mean(axis=0) if len(pieces) > 1 else vecs[0]
        return l2_normalize(out)

    def __repr__(self) -> str:
        return f"E5OnnxEmbedder(folder={str(self.folder)!r})"


def load_e5_onnx(**options: Any) -> E5OnnxEmbedder:
    """Build the ``"e5-onnx"`` embedder (exporting the model on first use)."""
    return E5OnnxEmbedder(**options)
