"""Saving govnlp objects as folders: JSON manifest, atomic writes, checked loads.

Every saved object is a folder holding ``manifest.json`` plus data files (``.npy``, ``.faiss``,
``.safetensors``, UTF-8 JSONL). A save writes into a temporary sibling folder, writes the manifest
last, then renames the folder into place, so an interrupted save never leaves a folder that loads.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from govnlp._version import __version__
from govnlp.errors import FormatError

__all__ = [
    "MANIFEST",
    "atomic_folder",
    "read_jsonl",
    "read_manifest",
    "write_jsonl",
    "write_manifest",
]

MANIFEST = "manifest.json"


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike[str], *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``path`` only if the block finishes without error.

    The caller writes its files (manifest last) into the yielded folder. On success the folder is
    renamed to ``path`` (an existing folder there is replaced only after the new one is complete);
    on error the temporary folder is removed and ``path`` is untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and not target.is_dir():
        raise FormatError(f"cannot save to {target}: a file (not a folder) is there. Choose another path.")
    if target.exists() and not overwrite:
        raise FormatError(f"cannot save to {target}: it already exists. Pass overwrite=True or another path.")
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    # mkdtemp makes the folder private (0700); a saved model or index gets the usual umask permissions
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)
    try:
        yield tmp
        if not (tmp / MANIFEST).is_file():
            raise FormatError(f"internal error: save into {target} wrote no {MANIFEST}")
        old = None
        if target.exists():
            old = target.parent / f".{target.name}.old-{os.getpid()}"
            if old.exists():
                shutil.rmtree(old)
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_manifest(folder: Path, format_name: str, format_version: int, **fields: Any) -> dict[str, Any]:
    """Write ``manifest.json`` (sorted keys) and return its content. Call it last in a save."""
    manifest = {
        "format": format_name,
        "format_version": format_version,
        "govnlp_version": __version__,
        **fields,
    }
    tmp = folder / (MANIFEST + ".part")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, folder / MANIFEST)
    return manifest


def read_manifest(folder: str | os.PathLike[str], format_name: str, max_version: int) -> dict[str, Any]:
    """Read and check the manifest of a saved folder.

    Raises:
        FormatError: the folder does not exist, has no manifest (an interrupted save or another kind of
            folder), holds another format, or was written by a newer format version.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FormatError(f"{folder} is not a folder; expected a saved govnlp {format_name}.")
    mpath = folder / MANIFEST
    if not mpath.is_file():
        raise FormatError(
            f"{folder} has no {MANIFEST}: it is not a saved govnlp {format_name}, or its save was "
            "interrupted. Save it again."
        )
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"{mpath} is not valid JSON ({exc}); save the {format_name} again.") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != format_name:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise FormatError(f"{folder} holds a {found!r}, expected a govnlp {format_name!r}.")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > max_version:
        raise FormatError(
            f"{folder} has {format_name} format version {version!r}; this govnlp ({__version__}) reads "
            f"versions up to {max_version}. Upgrade govnlp."
        )
    return manifest


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows as UTF-8 JSON Lines (sorted keys); return the number written."""
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, sort_keys=True))
            fh.write("\n")
            n += 1
    return n


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read UTF-8 JSON Lines; blank lines are skipped. Raises FormatError naming the bad line."""
    rows: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise FormatError(f"{path}:{lineno} is not valid JSON: {exc}") from exc
            if not isinstance(row, dict):
                raise FormatError(f"{path}:{lineno} is a JSON {type(row).__name__}, expected an object")
            rows.append(row)
    return rows
