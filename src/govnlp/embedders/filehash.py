"""File hashing for fingerprints, and govnlp's cache folder.

A model folder's digest is a sha256 over the relative path, size and full sha256 of each of its files.
Hashing a 240 MB weights file takes about a second, so each file's sha256 is cached on disk (in the
govnlp cache folder) keyed by absolute path, size and modification time; a changed file is re-hashed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from pathlib import Path

__all__ = ["cache_dir", "file_sha256", "folder_digest"]

logger = logging.getLogger(__name__)

# files that do not change the vectors
_SKIP_NAMES = {"README.md", ".gitattributes", "govnlp_model.json", "model_card.md"}
_lock = threading.Lock()
_memo: dict[tuple[str, int, int], str] = {}


def cache_dir() -> Path:
    """govnlp's cache folder: ``$GOVNLP_CACHE``, else ``$XDG_CACHE_HOME/govnlp``, else ``~/.cache/govnlp``."""
    env = os.environ.get("GOVNLP_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "govnlp"


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _db_path() -> Path:
    return cache_dir() / "file_sha256.json"


def _read_db() -> dict[str, dict[str, object]]:
    try:
        data = json.loads(_db_path().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_db(db: dict[str, dict[str, object]]) -> None:
    path = _db_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".file_sha256.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(db, fh, sort_keys=True)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only cache only costs speed
        logger.debug("could not write the hash cache %s: %s", path, exc)


def file_sha256(path: str | os.PathLike[str], *, use_cache: bool = True) -> str:
    """Full sha256 of a file, cached by (absolute path, size, mtime)."""
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns)
    with _lock:
        if key in _memo:
            return _memo[key]
    if use_cache and st.st_size >= (1 << 20):
        db = _read_db()
        entry = db.get(str(p))
        if entry and entry.get("size") == st.st_size and entry.get("mtime_ns") == st.st_mtime_ns:
            digest = str(entry["sha256"])
        else:
            digest = _hash_file(p)
            db = _read_db()
            db[str(p)] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}
            _write_db(db)
    else:
        digest = _hash_file(p)
    with _lock:
        _memo[key] = digest
    return digest


def folder_digest(folder: str | os.PathLike[str]) -> str:
    """sha256 over (relative path, size, sha256) of every file under ``folder`` (sorted).

    README/model-card files and hidden files are skipped: they do not change the vectors.
    """
    root = Path(folder)
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if not p.is_file() or p.name in _SKIP_NAMES or any(part.startswith(".") for part in rel.parts):
            continue
        h.update(f"{rel.as_posix()}\0{p.stat().st_size}\0{file_sha256(p)}\n".encode())
    return h.hexdigest()
