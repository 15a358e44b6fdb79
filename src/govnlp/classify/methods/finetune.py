"""Fine-tuning a transformer encoder for sequence classification, on CPU, with early stopping.

The encoder comes from a local folder (by default the default model's folder,
``govnlp.embedders.default_model_dir()``: multilingual-e5-small as a plain BERT folder). A stratified
validation split is held out; after each evaluation the best weights (by validation macro-F1, then loss)
are kept, and training stops after ``patience`` evaluations without improvement. The validation scores
of the kept weights are exposed for calibration. Saved as safetensors + config + tokenizer.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from govnlp.classify.text import normalize_text
from govnlp.errors import ConfigError, ModelNotFoundError
from govnlp.progress import quiet_model_loading, resolve_show

__all__ = ["FinetuneMethod"]

logger = logging.getLogger(__name__)


def _macro_f1(y: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    f1s = []
    for c in range(n_classes):
        tp = np.sum((pred == c) & (y == c))
        fp = np.sum((pred == c) & (y != c))
        fn = np.sum((pred != c) & (y == c))
        if tp + fp + fn:
            f1s.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s)) if f1s else 0.0


class FinetuneMethod:
    """Fine-tune ``AutoModelForSequenceClassification`` from a local encoder folder.

    Args:
        model_path: a Hugging Face encoder folder (``config.json``, weights, tokenizer); None = the default
            model's folder.
        max_len: tokens per text (longer texts are truncated: messages are ~425 characters on average).
        epochs: maximum passes over the training split.
        batch_size: training batch size.
        learning_rate: AdamW peak learning rate (linear warm-up over 6% of steps, then linear decay).
        validation_size: fraction held out for early stopping and calibration.
        patience: evaluations without improvement before stopping.
        evals_per_epoch: validation evaluations per epoch.
        max_steps: stop after this many optimiser steps (None: no cap; useful for smoke tests).
        freeze_embeddings: keep the word-embedding table fixed. For e5-small it holds 96M of the 118M
            weights (250k XLM-R pieces); freezing it makes each AdamW step much cheaper on CPU and
            guards the rare pieces against drift on small data.
        random_state: seed of the split, the head initialisation and the batch order (the global torch
            RNG state is restored afterwards).
        show_progress_bar: tqdm bars while training and predicting.
    """

    name: ClassVar[str] = "finetune"
    cross_validate: ClassVar[bool] = False

    def __init__(
        self,
        *,
        model_path: str | Path | None = None,
        max_len: int = 256,
        epochs: int = 3,
        batch_size: int = 16,
        learning_rate: float = 5e-5,
        validation_size: float = 0.1,
        patience: int = 2,
        evals_per_epoch: int = 2,
        max_steps: int | None = None,
        freeze_embeddings: bool = True,
        random_state: int | None = 0,
        show_progress_bar: bool | None = None,
    ) -> None:
        self.model_path = model_path
        self.max_len = max_len
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_size = validation_size
        self.patience = patience
        self.evals_per_epoch = evals_per_epoch
        self.max_steps = max_steps
        self.freeze_embeddings = freeze_embeddings
        self.random_state = random_state
        self.show_progress_bar = show_progress_bar
        self.model_: Any = None
        self.tokenizer_: Any = None

    # --- helpers -----------------------------------------------------------------------------------

    def _resolve_path(self) -> Path:
        if self.model_path is None:
            from govnlp.embedders import default_model_dir

            return Path(default_model_dir())
        path = Path(self.model_path)
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(
                f"{path} is not a Hugging Face model folder (no config.json); pass model_path= a folder "
                "saved with save_pretrained, or None for the default model."
            )
        return path

    def _show(self) -> bool:
        return resolve_show(self.show_progress_bar)

    def prepare(self, texts: list[str]) -> list[str]:
        return [normalize_text(t) for t in texts]

    def _encode(self, texts: list[str]) -> dict[str, Any]:
        return self.tokenizer_(
            texts, truncation=True, max_length=self.max_len, padding=True, return_tensors="pt"
        )

    def _scores(self, texts: list[str], *, batch_size: int = 32, show: bool = False) -> np.ndarray:
        import torch
        from tqdm.auto import tqdm

        self.model_.eval()
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), self.model_.config.num_labels), dtype=np.float64)
        with torch.inference_mode():
            for start in tqdm(range(0, len(texts), batch_size), disable=not show, desc="predict"):
                idx = order[start : start + batch_size]
                enc = self._encode([texts[i] for i in idx])
                out[idx] = self.model_(**enc).logits.double().numpy()
        return out

    # --- the Method contract -------------------------------------------------------------------------

    def fit(self, features: list[str], y: np.ndarray, *, n_classes: int, multilabel: bool) -> FinetuneMethod:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging as hf_logging

        if self.max_len < 8:
            raise ConfigError(f"max_len must be >= 8, got {self.max_len}")
        path = self._resolve_path()
        texts = list(features)
        y = np.asarray(y)
        train_idx, val_idx = _split(y, self.validation_size, self.random_state, multilabel)
        seed = 0 if self.random_state is None else int(self.random_state)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.tokenizer_ = AutoTokenizer.from_pretrained(path)
            # the new classification head is "missing from the checkpoint" by design: silence that report
            verbosity = hf_logging.get_verbosity()
            hf_logging.set_verbosity_error()
            try:
                with quiet_model_loading():
                    self.model_ = AutoModelForSequenceClassification.from_pretrained(
                        path,
                        num_labels=n_classes,
                        problem_type="multi_label_classification"
                        if multilabel
                        else "single_label_classification",
                    )
            finally:
                hf_logging.set_verbosity(verbosity)
            self._train(texts, y, train_idx, val_idx, n_classes=n_classes, multilabel=multilabel, seed=seed)
        self.n_classes_ = n_classes
        self.multilabel_ = multilabel
        return self

    def _train(
        self,
        texts: list[str],
        y: np.ndarray,
        train_idx: np.ndarray,
        val_idx: np.ndarray,
        *,
        n_classes: int,
        multilabel: bool,
        seed: int,
    ) -> None:
        import torch
        from tqdm.auto import tqdm

        model = self.model_
        rng = np.random.default_rng(seed)
        steps_per_epoch = max(1, math.ceil(len(train_idx) / self.batch_size))
        total = steps_per_epoch * self.epochs
        if self.max_steps is not None:
            total = min(total, self.max_steps)
        warmup = max(1, int(0.06 * total))
        if self.freeze_embeddings:
            model.get_input_embeddings().weight.requires_grad_(False)
        trainable = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(trainable, lr=self.learning_rate, weight_decay=0.01)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup)))
        )
        eval_every = max(1, steps_per_epoch // max(1, self.evals_per_epoch))
        val_texts = [texts[i] for i in val_idx]
        y_val = y[val_idx]
        best: tuple[float, float] | None = None
        best_state: dict[str, Any] | None = None
        bad = 0
        step = 0
        history: list[dict[str, float]] = []
        t0 = time.perf_counter()
        bar = tqdm(total=total, disable=not self._show(), desc="finetune")
        stop = False
        for _epoch in range(self.epochs):
            perm = train_idx[rng.permutation(len(train_idx))]
            for start in range(0, len(perm), self.batch_size):
                model.train()
                idx = perm[start : start + self.batch_size]
                enc = self._encode([texts[i] for i in idx])
                labels = torch.tensor(y[idx], dtype=torch.float32 if multilabel else torch.long)
                loss = model(**enc, labels=labels).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(trainable, 1.0)
                opt.step()
                sched.step()
                opt.zero_grad()
                step += 1
                bar.update(1)
                last = step >= total
                if len(val_idx) and (step % eval_every == 0 or last):
                    scores = self._scores(val_texts)
                    metric, vloss = _val_metric(scores, y_val, n_classes, multilabel)
                    history.append({"step": step, "val_macro_f1": metric, "val_loss": vloss})
                    logger.info("finetune step %d: val macro-F1 %.4f, loss %.4f", step, metric, vloss)
                    if best is None or (metric, -vloss) > best:
                        best, bad = (metric, -vloss), 0
                        best_state = copy.deepcopy(model.state_dict())
                        self.validation_scores_ = scores
                    else:
                        bad += 1
                        if bad >= self.patience:
                            stop = True
                if last or stop:
                    stop = True
                    break
            if stop:
                break
        bar.close()
        if best_state is not None:
            model.load_state_dict(best_state)
        else:  # no validation rows (tiny data): keep the last weights, calibrate on nothing
            self.validation_scores_ = np.zeros((0, n_classes))
        self.validation_indices_ = val_idx
        self.history_ = history
        self.train_seconds_ = time.perf_counter() - t0
        self.steps_ = step

    def decision_function(self, features: list[str]) -> np.ndarray:
        return self._scores(list(features), show=self._show() and len(features) > 256)

    def save(self, folder: Path) -> dict[str, Any]:
        model_dir = folder / "model"
        self.model_.save_pretrained(model_dir, safe_serialization=True)
        self.tokenizer_.save_pretrained(model_dir)
        return {
            "max_len": self.max_len,
            "n_classes": self.n_classes_,
            "multilabel": self.multilabel_,
            "base_model": str(self.model_path) if self.model_path is not None else None,
            "steps": getattr(self, "steps_", None),
            "history": getattr(self, "history_", []),
            "files": ["model/"],
        }

    @classmethod
    def load(cls, folder: Path, info: dict[str, Any], **context: Any) -> FinetuneMethod:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        model_dir = folder / "model"
        if not (model_dir / "config.json").is_file():
            from govnlp.errors import FormatError

            raise FormatError(f"{model_dir} has no config.json; the classifier folder is incomplete.")
        m = cls(model_path=info.get("base_model"), max_len=int(info["max_len"]))
        m.tokenizer_ = AutoTokenizer.from_pretrained(model_dir)
        with quiet_model_loading():
            m.model_ = AutoModelForSequenceClassification.from_pretrained(model_dir)
        m.model_.eval()
        m.n_classes_ = int(info["n_classes"])
        m.multilabel_ = bool(info["multilabel"])
        return m


def _split(
    y: np.ndarray, validation_size: float, random_state: int | None, multilabel: bool
) -> tuple[np.ndarray, np.ndarray]:
    """A stratified (single-label) or random (multi-label) train/validation split of row indices."""
    n = len(y)
    idx = np.arange(n)
    n_val = round(validation_size * n)
    if validation_size <= 0 or n_val < 2 or n - n_val < 2:
        return idx, idx[:0]
    rng = np.random.default_rng(random_state)
    if multilabel:
        perm = rng.permutation(n)
        return np.sort(perm[n_val:]), np.sort(perm[:n_val])
    val: list[int] = []
    for c in np.unique(y):
        members = idx[y == c]
        k = round(validation_size * len(members))
        if len(members) >= 3:
            k = max(1, k)
        val.extend(rng.permutation(members)[:k].tolist())
    val_idx = np.sort(np.asarray(val, dtype=np.int64))
    train_idx = np.setdiff1d(idx, val_idx)
    return train_idx, val_idx


def _val_metric(scores: np.ndarray, y: np.ndarray, n_classes: int, multilabel: bool) -> tuple[float, float]:
    from govnlp.classify.calibration import sigmoid, softmax

    if multilabel:
        p = sigmoid(scores)
        loss = float(-np.mean(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12)))
        pred = (p >= 0.5).astype(int)
        f1s = []
        for j in range(n_classes):
            tp = np.sum(pred[:, j] & y[:, j])
            denom = pred[:, j].sum() + y[:, j].sum()
            if denom:
                f1s.append(2 * tp / denom)
        return (float(np.mean(f1s)) if f1s else 0.0), loss
    p = softmax(scores)
    loss = float(-np.mean(np.log(p[np.arange(len(y)), y] + 1e-12)))
    return _macro_f1(y, scores.argmax(axis=1), n_classes), loss
