"""Corpus files (JSONL, Parquet) and Hugging Face datasets interop round-trip parsed replies."""

from __future__ import annotations

from pathlib import Path

import pytest

from govnlp import parse_reply
from govnlp.corpus import load_corpus, save_corpus
from govnlp.documents import ReplyDocument
from govnlp.errors import ConfigError, FormatError
from govnlp.hfdata import from_dataset, to_dataset

SAMPLES = Path(__file__).parents[1] / "src" / "govnlp" / "data" / "samples"


@pytest.fixture(scope="module")
def docs() -> list[ReplyDocument]:
    return [parse_reply(p) for p in sorted(SAMPLES.glob("*.txt"))[:4]]


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_corpus_round_trip(tmp_path: Path, docs: list[ReplyDocument], suffix: str) -> None:
    path = tmp_path / f"replies{suffix}"
    assert save_corpus(docs, path) == len(docs)
    assert load_corpus(path) == docs
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_corpus_rejects_unknown_suffix_and_missing_file(tmp_path: Path, docs: list[ReplyDocument]) -> None:
    with pytest.raises(ConfigError, match=r"\.jsonl or \.parquet"):
        save_corpus(docs, tmp_path / "replies.csv")
    with pytest.raises(FormatError, match="does not exist"):
        load_corpus(tmp_path / "missing.jsonl")


def test_failed_save_keeps_previous_corpus(tmp_path: Path, docs: list[ReplyDocument]) -> None:
    path = tmp_path / "replies.jsonl"
    save_corpus(docs[:1], path)
    with pytest.raises(TypeError):
        save_corpus([docs[0], "not a document"], path)  # type: ignore[list-item]
    assert load_corpus(path) == docs[:1]


def test_document_level_dataset_round_trip(docs: list[ReplyDocument]) -> None:
    ds = to_dataset(docs, level="document")
    assert len(ds) == len(docs)
    assert from_dataset(ds) == docs


def test_measure_level_dataset_carries_document_metadata(docs: list[ReplyDocument]) -> None:
    ds = to_dataset(docs, level="measure")
    assert len(ds) == sum(len(d.measures) for d in docs)
    seed = docs[0]
    first = ds[0]
    assert first["doc_id"] == seed.id
    assert first["lead_agency"] == seed.lead_agency
    assert first["ordinal"] == seed.measures[0].ordinal
    assert first["title"] == seed.title
    assert first["measure_title"] == seed.measures[0].title
    records = from_dataset(ds)
    assert records[0]["figures"] == [f.to_dict() for f in seed.measures[0].figures]
    assert {r["id"] for r in records} == {m.id for d in docs for m in d.measures}


def test_paragraph_level_dataset(docs: list[ReplyDocument]) -> None:
    ds = to_dataset(docs, level="paragraph")
    assert len(ds) == sum(len(d.paragraphs) for d in docs)
    assert set(ds["role"]) <= {"opening", "section_heading", "problem", "body", "closing", "contact"}
    assert from_dataset(ds)[0]["text"] == docs[0].paragraphs[0].text


def test_bad_level_and_bad_items(docs: list[ReplyDocument]) -> None:
    with pytest.raises(ConfigError, match="level"):
        to_dataset(docs, level="sentence")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ReplyDocument"):
        to_dataset([{"text": "x"}])  # type: ignore[list-item]
