"""SearchIndex(long_text=): a text longer than the embedder's window is embedded by its first window."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from govnlp.embedders import load_embedder
from govnlp.errors import ConfigError
from govnlp.search import SearchIndex


class Windowed:
    """The hash embedder with 8-character windows (a stand-in for a model with a token limit)."""

    def __init__(self) -> None:
        self.inner = load_embedder("hash")
        self.name, self.dim = self.inner.name, self.inner.dim

    def fingerprint(self) -> str:
        return self.inner.fingerprint()

    def windows(self, text: str, *, kind: str = "passage") -> list[str]:
        return [text[i : i + 8] for i in range(0, len(text), 8)] or [text]

    def encode(self, texts, *, kind="passage", batch_size=32, show_progress_bar=None):  # type: ignore[no-untyped-def]
        return self.inner.encode(list(texts), kind=kind, batch_size=batch_size)


LONG = "老旧小区加装电梯补助。公交线路调整后出行不便，建议增设站点。"
RECORDS = [{"id": "long", "text": LONG}, {"id": "short", "text": "垃圾分类"}]


def _vector(index: SearchIndex, rid: str) -> np.ndarray:
    return index._vectors.reconstruct(np.array([index._label[rid]]))[0]  # type: ignore[union-attr]


def test_first_window_by_default_and_mean_on_request(tmp_path: Path) -> None:
    emb = Windowed()
    index = SearchIndex.build(RECORDS, embedder=emb, index_type="numpy", clean=False)
    assert index.long_text == "first"
    assert np.allclose(_vector(index, "long"), emb.encode([LONG[:8]])[0])
    assert np.allclose(_vector(index, "short"), emb.encode(["垃圾分类"])[0])
    mean = SearchIndex.build(RECORDS, embedder=emb, index_type="numpy", clean=False, long_text="mean")
    assert np.allclose(_vector(mean, "long"), emb.encode([LONG])[0])  # the embedder's own handling
    # the lexical side still sees the whole text
    assert mean.search("增设站点", k=1, mode="lexical")[0].id == "long"
    assert index.search("增设站点", k=1, mode="lexical")[0].id == "long"
    with pytest.raises(ConfigError, match="long_text"):
        SearchIndex(emb, long_text="last")


def test_long_text_is_saved_and_old_indexes_load_as_mean(tmp_path: Path) -> None:
    emb = Windowed()
    SearchIndex.build(RECORDS, embedder=emb, index_type="numpy", clean=False).save(tmp_path / "a")
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["long_text"] == "first"
    assert SearchIndex.load(tmp_path / "a", embedder=emb).long_text == "first"
    del manifest["long_text"]  # an index saved before the option existed
    (tmp_path / "a" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert SearchIndex.load(tmp_path / "a", embedder=emb).long_text == "mean"


def test_lexical_side_indexes_the_raw_text_by_default(tmp_path: Path) -> None:
    from govnlp.cleaning import clean_for_index

    text = "网友“UU0081234”您好！您反映的路灯问题，街道已安排维修，本周内修复。感谢您的支持！"
    assert "UU0081234" not in clean_for_index(text)  # the salutation is what cleaning removes
    records = [{"id": "a", "text": text}, {"id": "b", "text": "垃圾分类投放点已增设。"}]
    plain = SearchIndex.build(records, embedder="hash", index_type="numpy")
    assert not plain.clean  # the default since 0.3: both sides see the text as it is
    assert plain.get("a")["index_text"] == text
    assert [h.id for h in plain.search("UU0081234", k=2, mode="lexical")] == ["a"]
    raw = SearchIndex.build(records, embedder="hash", index_type="numpy", clean=True)
    assert raw.clean and not raw.clean_lexical
    assert raw.get("a")["index_text"] == clean_for_index(text)  # what is embedded is cleaned
    assert [h.id for h in raw.search("UU0081234", k=2, mode="lexical")] == ["a"]
    cleaned = SearchIndex.build(records, embedder="hash", index_type="numpy", clean=True, clean_lexical=True)
    assert cleaned.search("UU0081234", k=2, mode="lexical") == []
    raw.save(tmp_path / "raw")
    manifest = json.loads((tmp_path / "raw" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["clean_lexical"] is False
    assert not SearchIndex.load(tmp_path / "raw").clean_lexical
    del manifest["clean_lexical"]  # saved before the option existed: the lexical side was cleaned
    (tmp_path / "raw" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert SearchIndex.load(tmp_path / "raw").clean_lexical
