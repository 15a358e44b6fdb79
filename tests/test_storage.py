"""Saved folders: manifest checks, atomic replacement, JSONL helpers, embedder specs for reloading."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from govnlp.embedders import load_embedder
from govnlp.errors import FormatError
from govnlp.storage import atomic_folder, read_jsonl, read_manifest, write_jsonl, write_manifest


def _save(path: Path, value: str) -> None:
    with atomic_folder(path) as tmp:
        (tmp / "data.txt").write_text(value, encoding="utf-8")
        write_manifest(tmp, "test.thing", 1, count=1)


def test_save_and_read_manifest(tmp_path: Path) -> None:
    _save(tmp_path / "thing", "a")
    manifest = read_manifest(tmp_path / "thing", "test.thing", 1)
    assert manifest["format"] == "test.thing" and manifest["count"] == 1 and manifest["govnlp_version"]


def test_folder_gets_umask_permissions_not_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        _save(tmp_path / "thing", "a")
    finally:
        os.umask(old)
    assert (tmp_path / "thing").stat().st_mode & 0o777 == 0o755


def test_failed_save_keeps_the_previous_folder(tmp_path: Path) -> None:
    _save(tmp_path / "thing", "old")
    with pytest.raises(RuntimeError), atomic_folder(tmp_path / "thing") as tmp:
        (tmp / "data.txt").write_text("new", encoding="utf-8")
        raise RuntimeError("interrupted")
    assert (tmp_path / "thing" / "data.txt").read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["thing"]


def test_save_without_manifest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="manifest"), atomic_folder(tmp_path / "thing") as tmp:
        (tmp / "data.txt").write_text("x", encoding="utf-8")
    assert not (tmp_path / "thing").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no manifest.json"), ("{not json", "not valid JSON"), ('{"format": "other"}', "expected")],
)
def test_read_manifest_refuses_bad_folders(tmp_path: Path, content: str | None, message: str) -> None:
    folder = tmp_path / "thing"
    folder.mkdir()
    if content is not None:
        (folder / "manifest.json").write_text(content, encoding="utf-8")
    with pytest.raises(FormatError, match=message):
        read_manifest(folder, "test.thing", 1)


def test_read_manifest_refuses_newer_versions(tmp_path: Path) -> None:
    folder = tmp_path / "thing"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"format": "test.thing", "format_version": 9}))
    with pytest.raises(FormatError, match="Upgrade govnlp"):
        read_manifest(folder, "test.thing", 1)


def test_jsonl_round_trip_and_bad_line(tmp_path: Path) -> None:
    rows = [{"text": "老旧小区加装电梯", "n": 1}, {"text": "停车难", "n": 2}]
    assert write_jsonl(tmp_path / "r.jsonl", rows) == 2
    assert read_jsonl(tmp_path / "r.jsonl") == rows
    (tmp_path / "bad.jsonl").write_text('{"a": 1}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(FormatError, match=r"bad\.jsonl:2"):
        read_jsonl(tmp_path / "bad.jsonl")


def test_loaded_embedders_record_the_spec_that_rebuilds_them() -> None:
    assert load_embedder("hash").spec == "hash"
    assert (
        getattr(load_embedder("hash", dim=64), "spec", None) is None
    )  # options: the name alone is not enough
