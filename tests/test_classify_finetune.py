"""The finetune method on a tiny BERT built by hand (no download): trains, calibrates, saves, reloads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from govnlp.classify import TextClassifier
from govnlp.errors import ModelNotFoundError
from tiny_models import save_tiny_bert

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


def _texts(fixtures_dir: Path) -> tuple[list[str], list[str]]:
    rows = [
        json.loads(x)
        for x in (fixtures_dir / "classify_messages.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    return [r["text"] for r in rows], [r["label"] for r in rows]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory, fixtures_dir: Path) -> Path:
    """A 1-layer, 32-wide BERT with a character WordLevel tokenizer, saved with save_pretrained."""
    texts, _ = _texts(fixtures_dir)
    chars = sorted({ch for t in texts for ch in t if not ch.isspace()})
    folder = tmp_path_factory.mktemp("tiny-bert")
    # one layer; a wider init lets it learn in a few steps; with the pooler, as a classifier base has one
    save_tiny_bert(
        folder,
        chars,
        specials=("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"),
        layers=1,
        pooling_layer=True,
        initializer_range=0.2,
    )
    return folder


def test_finetune_trains_calibrates_and_round_trips(tiny_bert, fixtures_dir, tmp_path) -> None:
    texts, labels = _texts(fixtures_dir)
    params = {"model_path": str(tiny_bert), "epochs": 8, "batch_size": 8, "max_len": 48,
              "learning_rate": 5e-3, "validation_size": 0.25, "evals_per_epoch": 1,
              "freeze_embeddings": False}  # fmt: skip
    clf = TextClassifier("finetune", method_params=params, random_state=0, show_progress_bar=False)
    rng_before = torch.random.get_rng_state()
    assert clf.fit(texts, labels) is clf
    assert torch.equal(rng_before, torch.random.get_rng_state())  # no global seeding
    method = clf.members_[0]
    assert 1 <= method.steps_ <= 8 * 5
    assert method.history_ and "val_macro_f1" in method.history_[0]
    assert len(method.validation_indices_) == 12  # stratified 25 % of 48
    assert clf.training_metrics_["heldout_rows"] == 12
    proba = clf.predict_proba(texts)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert clf.score(texts, labels) > 0.3  # learns something in a few steps (chance 0.25)
    path = clf.save(tmp_path / "ft")
    assert (path / "member0" / "model" / "model.safetensors").is_file()
    assert (path / "member0" / "model" / "tokenizer.json").is_file()
    assert not list(path.rglob("*.bin")) and not list(path.rglob("*.pkl"))
    again = TextClassifier.load(path)
    np.testing.assert_allclose(again.predict_proba(texts), proba, rtol=1e-5, atol=1e-6)


def test_finetune_multilabel_max_steps(tiny_bert, fixtures_dir) -> None:
    texts, labels = _texts(fixtures_dir)
    multi = [[y, "交通运输"] if i % 3 == 0 else [y] for i, y in enumerate(labels)]
    params = {
        "model_path": str(tiny_bert),
        "max_steps": 2,
        "batch_size": 8,
        "max_len": 32,
        "validation_size": 0.25,
    }
    clf = TextClassifier("finetune", method_params=params, random_state=0, show_progress_bar=False).fit(
        texts, multi
    )
    assert clf.members_[0].steps_ == 2
    # the word-embedding table is frozen by default: unchanged after training
    from transformers import BertModel

    base = BertModel.from_pretrained(tiny_bert).get_input_embeddings().weight
    tuned = clf.members_[0].model_.get_input_embeddings().weight
    assert torch.equal(base, tuned)
    assert not torch.equal(
        BertModel.from_pretrained(tiny_bert).encoder.layer[0].output.dense.weight,
        clf.members_[0].model_.bert.encoder.layer[0].output.dense.weight,
    )
    assert clf.multilabel_ and clf.thresholds_.shape == (4,)
    assert all(isinstance(p, tuple) for p in clf.predict(texts[:5]))


def test_finetune_missing_model_folder(tmp_path, fixtures_dir) -> None:
    texts, labels = _texts(fixtures_dir)
    with pytest.raises(ModelNotFoundError, match=r"config\.json"):
        TextClassifier("finetune", method_params={"model_path": str(tmp_path)}).fit(texts, labels)
