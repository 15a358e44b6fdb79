"""Saving never deletes a user's folder, an interrupted save loses nothing, concurrent saves and loads
are safe (issue 9, items 2 and 4)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from govnlp.errors import FormatError
from govnlp.storage import atomic_folder, consistent_load, read_jsonl, read_manifest, write_manifest

FORMAT = "test.thing"


def save_thing(path: Path, value: str, *, fmt: str = FORMAT) -> None:
    with atomic_folder(path) as tmp:
        (tmp / "data.txt").write_text(value, encoding="utf-8")
        write_manifest(tmp, fmt, 1, length=len(value))


@consistent_load
def load_thing(path: Path, pause: float = 0.0) -> str:
    """Read the manifest, then the data: a save between the two would mix two versions."""
    manifest = read_manifest(path, FORMAT, 1)
    time.sleep(pause)
    value = (Path(path) / "data.txt").read_text(encoding="utf-8")
    if len(value) != int(manifest["length"]):
        raise FormatError(f"{path}: manifest says {manifest['length']} characters, data has {len(value)}")
    return value


def _user_folder(path: Path) -> dict[str, str]:
    path.mkdir()
    files = {"reply1.txt": "关于加装电梯的答复", "notes.md": "我的笔记"}
    for name, text in files.items():
        (path / name).write_text(text, encoding="utf-8")
    return files


def _unchanged(path: Path, files: dict[str, str]) -> bool:
    return {p.name: p.read_text(encoding="utf-8") for p in path.iterdir()} == files


# -- never delete a user's folder -------------------------------------------------------------------


def test_save_refuses_a_folder_of_user_files(tmp_path: Path) -> None:
    files = _user_folder(tmp_path / "replies")
    with pytest.raises(FormatError, match="not a saved govnlp folder"):
        save_thing(tmp_path / "replies", "x")
    assert _unchanged(tmp_path / "replies", files)
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


def test_save_replaces_an_empty_folder_and_its_own_format(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    save_thing(tmp_path / "out", "one")
    save_thing(tmp_path / "out", "two")
    assert load_thing(tmp_path / "out") == "two"


def test_save_refuses_another_format(tmp_path: Path) -> None:
    save_thing(tmp_path / "out", "keep", fmt="govnlp.other")
    with pytest.raises(FormatError, match=r"holds a saved 'govnlp\.other'"):
        save_thing(tmp_path / "out", "new")
    assert (tmp_path / "out" / "data.txt").read_text(encoding="utf-8") == "keep"


def test_save_refuses_a_folder_with_an_unreadable_manifest(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "manifest.json").write_text("my own manifest, not JSON", encoding="utf-8")
    with pytest.raises(FormatError, match="does not name a govnlp format"):
        save_thing(tmp_path / "out", "new")
    assert (tmp_path / "out" / "manifest.json").read_text(encoding="utf-8").startswith("my own")


def test_save_under_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    with pytest.raises(FormatError, match="a file is in the way"):
        save_thing(tmp_path / "file.txt" / "out", "x")
    with pytest.raises(FormatError, match="a file"):
        save_thing(tmp_path / "file.txt", "x")
    assert (tmp_path / "file.txt").read_text(encoding="utf-8") == "x"


def _records(n: int = 6) -> list[dict[str, str]]:
    topics = ["加装电梯", "停车难", "噪音扰民", "学位不足", "道路维修", "垃圾分类"]
    return [{"id": f"r{i}", "text": f"关于{topics[i % 6]}问题的答复，第{i}号"} for i in range(n)]


def test_search_index_and_classifier_saves_keep_user_folders(tmp_path: Path) -> None:
    from govnlp.classify import TextClassifier
    from govnlp.search import SearchIndex

    files = _user_folder(tmp_path / "replies")
    index = SearchIndex.build(_records(), embedder="hash")
    with pytest.raises(FormatError, match="not a saved govnlp folder"):
        index.save(tmp_path / "replies")
    texts = [r["text"] for r in _records(12)]
    labels = ["a", "b", "c", "d", "e", "f"] * 2
    clf = TextClassifier("tfidf", random_state=0).fit(texts, labels)
    with pytest.raises(FormatError, match="not a saved govnlp folder"):
        clf.save(tmp_path / "replies")
    assert _unchanged(tmp_path / "replies", files)
    # a classifier folder is not replaced by an index, and the other way round
    clf.save(tmp_path / "tagger")
    index.save(tmp_path / "index")
    with pytest.raises(FormatError, match="holds a saved"):
        index.save(tmp_path / "tagger")
    with pytest.raises(FormatError, match="holds a saved"):
        clf.save(tmp_path / "index")
    assert TextClassifier.load(tmp_path / "tagger").predict([texts[0]])[0] == "a"
    assert len(SearchIndex.load(tmp_path / "index")) == 6


def test_cli_out_never_deletes_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from govnlp.cli import main

    replies = tmp_path / "replies"
    replies.mkdir()
    text = "关于加强老旧小区加装电梯工作的答复\n\n你提出的建议收悉。我局高度重视，已推动加装电梯12部。\n"
    (replies / "a.txt").write_text(text, encoding="utf-8")
    (replies / "unrelated.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    before = {p.name: p.read_bytes() for p in replies.iterdir()}
    code = main(["-q", "index", "build", str(replies), "--out", str(replies), "--embedder", "hash"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "not a saved govnlp folder" in err
    assert {p.name: p.read_bytes() for p in replies.iterdir()} == before
    data = tmp_path / "train.jsonl"
    data.write_text(
        "".join(
            json.dumps({"text": r["text"], "label": "ab"[i % 2]}, ensure_ascii=False) + "\n"
            for i, r in enumerate(_records(12))
        ),
        encoding="utf-8",
    )
    assert main(["-q", "train", "--data", str(data), "--out", str(replies)]) == 2
    assert "not a saved govnlp folder" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in replies.iterdir()} == before
    assert main(["-q", "train", "--data", str(data), "--out", str(data / "tagger")]) == 2
    err = capsys.readouterr().err
    assert "a file is in the way" in err and len(err.strip().splitlines()) == 1


# -- interrupted saves ------------------------------------------------------------------------------


def test_leftovers_of_killed_saves_are_removed_on_the_next_save(tmp_path: Path) -> None:
    save_thing(tmp_path / "t", "one")
    (tmp_path / ".t.tmp-abcd1234").mkdir()
    (tmp_path / ".t.tmp-abcd1234" / "data.txt").write_text("half", encoding="utf-8")
    (tmp_path / ".t.old-99999").mkdir()
    (tmp_path / ".other.tmp-abcd1234").mkdir()  # another folder's leftover: not ours to judge
    save_thing(tmp_path / "t", "two")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.tmp-abcd1234", "t"]


def _crash_between_renames(path: Path, old_value: str, new_value: str) -> None:
    """Leave what a save killed between its two renames leaves: the old folder moved away, the new
    one complete but not renamed into place."""
    save_thing(path, old_value)
    staging = path.parent / f".{path.name}.tmp-zz9zz9zz"
    staging.mkdir()
    (staging / "data.txt").write_text(new_value, encoding="utf-8")
    write_manifest(staging, FORMAT, 1, length=len(new_value))
    os.replace(path, path.parent / f".{path.name}.old-12345")


def test_load_recovers_a_save_killed_between_the_renames(tmp_path: Path) -> None:
    _crash_between_renames(tmp_path / "t", "old", "new!")
    assert not (tmp_path / "t").exists()
    assert load_thing(tmp_path / "t") == "new!"  # the new folder was complete: it wins
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


def test_load_recovers_the_old_folder_when_the_new_one_is_incomplete(tmp_path: Path) -> None:
    _crash_between_renames(tmp_path / "t", "old", "new!")
    (tmp_path / ".t.tmp-zz9zz9zz" / "manifest.json").unlink()
    assert load_thing(tmp_path / "t") == "old"


def test_save_recovers_before_judging_the_target(tmp_path: Path) -> None:
    _crash_between_renames(tmp_path / "t", "old", "new!")
    save_thing(tmp_path / "t", "newest")
    assert load_thing(tmp_path / "t") == "newest"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t"]


_SAVER = textwrap.dedent(
    """
    import sys, os
    from pathlib import Path
    from govnlp.storage import atomic_folder, write_manifest

    path, mode = Path(sys.argv[1]), sys.argv[2]
    real_replace = os.replace

    def replace(src, dst):
        if Path(dst) == path:
            os.kill(os.getpid(), 9)  # kill -9 between the two renames of the swap
        real_replace(src, dst)

    if mode == "between":
        os.replace = replace
    i = 0
    while True:
        value = ("AB"[i % 2]) * (200_000 + i)
        with atomic_folder(path) as tmp:
            (tmp / "data.txt").write_text(value, encoding="utf-8")
            (tmp / "more.txt").write_text(value, encoding="utf-8")
            write_manifest(tmp, "test.thing", 1, length=len(value))
        i += 1
        print(i, flush=True)
    """
)


def _saver(path: Path, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _SAVER, str(path), mode], stdout=subprocess.PIPE, text=True
    )


def test_kill_9_between_the_renames_loses_nothing(tmp_path: Path) -> None:
    save_thing(tmp_path / "t", "C" * 10)
    proc = _saver(tmp_path / "t", "between")
    assert proc.wait(timeout=120) == -signal.SIGKILL
    assert not (tmp_path / "t").exists()  # the window the old code never recovered from
    value = load_thing(tmp_path / "t")
    assert value in ("C" * 10, "A" * 200_000)


def test_kill_9_at_random_moments_of_saving(tmp_path: Path) -> None:
    save_thing(tmp_path / "t", "C" * 10)
    for delay in (0.05, 0.2, 0.35, 0.5):
        proc = _saver(tmp_path / "t", "loop")
        assert proc.stdout is not None
        proc.stdout.readline()  # at least one save done
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        value = load_thing(tmp_path / "t")
        assert set(value) in ({"A"}, {"B"})
    save_thing(tmp_path / "t", "final")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t"]


# -- concurrent saves and loads ---------------------------------------------------------------------


def test_concurrent_saves_run_one_after_the_other(tmp_path: Path) -> None:
    errors: list[BaseException] = []

    def worker(letter: str) -> None:
        try:
            for i in range(15):
                save_thing(tmp_path / "t", letter * (1000 + i))
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(c,)) for c in "AB"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert set(load_thing(tmp_path / "t")) in ({"A"}, {"B"})


def test_a_reader_never_fails_while_another_process_saves(tmp_path: Path) -> None:
    save_thing(tmp_path / "t", "C" * 10)
    proc = _saver(tmp_path / "t", "loop")
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        seen = set()
        for i in range(80):
            # a pause between reading the manifest and the data makes a swap in between likely
            value = load_thing(tmp_path / "t", pause=0.002 * (i % 3))
            seen.add(value[0])
        assert seen <= {"A", "B"}
    finally:
        proc.kill()
        proc.wait()


def test_hand_edited_manifest_values_are_format_errors(tmp_path: Path) -> None:
    save_thing(tmp_path / "t", "abc")
    manifest = json.loads((tmp_path / "t" / "manifest.json").read_text(encoding="utf-8"))
    manifest["length"] = "three"
    (tmp_path / "t" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(FormatError, match="edited by hand"):
        load_thing(tmp_path / "t")
    manifest["format_version"] = True
    (tmp_path / "t" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(FormatError, match="format version"):
        read_manifest(tmp_path / "t", FORMAT, 1)


def test_read_jsonl_names_a_line_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + '{"text": "停车难"}\n'.encode() + '{"text": "噪音"}\n'.encode("gbk"))
    with pytest.raises(FormatError, match=r"in\.jsonl:2 is not valid UTF-8"):
        read_jsonl(path)
    path.write_bytes(b"\xef\xbb\xbf" + '{"text": "停车难"}\n'.encode())
    assert read_jsonl(path) == [{"text": "停车难"}]


_INDEX_SAVER = textwrap.dedent(
    """
    import sys
    from govnlp.search import SearchIndex

    topics = ["加装电梯", "停车难", "噪音扰民", "学位不足", "道路维修", "垃圾分类", "公交线路", "路灯", "物业"]
    versions = [
        SearchIndex.build([{"id": f"r{i}", "text": f"关于{t}问题的答复"} for i, t in enumerate(topics[:n])], embedder="hash")
        for n in (4, 9)
    ]
    i = 0
    while True:
        versions[i % 2].save(sys.argv[1])
        i += 1
        print(i, flush=True)
    """
)


def test_search_index_loads_while_another_process_saves(tmp_path: Path) -> None:
    from govnlp.search import SearchIndex

    proc = subprocess.Popen(
        [sys.executable, "-c", _INDEX_SAVER, str(tmp_path / "idx")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        sizes = {len(SearchIndex.load(tmp_path / "idx")) for _ in range(60)}
        assert sizes <= {4, 9}
    finally:
        proc.kill()
        proc.wait()
