"""Saving govnlp objects as folders: JSON manifest, atomic writes, checked loads.

Every saved object is a folder holding ``manifest.json`` plus data files (``.npy``, ``.faiss``,
``.safetensors``, UTF-8 JSONL). A save writes into a temporary sibling folder (``.NAME.tmp-*``), writes
the manifest last, fsyncs every file and folder, then swaps it into place with two renames (the old
folder goes to ``.NAME.old-PID`` and is removed after the swap), all holding a lock file
``.NAME.lock`` next to the folder (removed afterwards), so two saves to one path run one after the other.

Guarantees:

* A save replaces only an empty folder or a govnlp folder of the same format; any other folder at the
  path is left alone and the save raises :class:`~govnlp.errors.FormatError` (no user file is deleted).
* An interrupted save (an exception, or the process killed at any point) never leaves a folder that
  loads half-written: the path holds the old data or the new. If the process died between the two
  renames, the next save or load of the path restores the complete folder (the new one when it is
  complete, else the old) and removes the leftovers.
* A load decorated with :func:`consistent_load` never sees a mix of two saves: if the folder was
  swapped while it was being read, the load is repeated (at last holding the save lock).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from govnlp._version import __version__
from govnlp.errors import FormatError, GovnlpError

__all__ = [
    "MANIFEST",
    "atomic_folder",
    "consistent_load",
    "read_jsonl",
    "read_manifest",
    "write_jsonl",
    "write_manifest",
]

MANIFEST = "manifest.json"

logger = logging.getLogger(__name__)

_F = TypeVar("_F", bound=Callable[..., Any])

#: the temporary folders this module makes: ``.NAME.tmp-XXXXXXXX`` (mkdtemp) and ``.NAME.old-PID``
_TMP_NAME = re.compile(r"^\.(?P<name>.+)\.tmp-[a-z0-9_]{4,16}$")
#: how long a load waits for a save of the same folder to finish before it gives up
LOCK_TIMEOUT_S = 600.0
#: a load that a save disturbed is repeated this many times without the lock (which a writer saving in a
#: loop could hold nearly all the time) before it waits for the lock
_UNLOCKED_TRIES = 4


def _leftovers(target: Path) -> tuple[list[Path], list[Path]]:
    """The ``.NAME.tmp-*`` and ``.NAME.old-*`` folders that saves of ``target`` left behind."""
    tmps: list[Path] = []
    olds: list[Path] = []
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(tmp-[a-z0-9_]{{4,16}}|old-[0-9]+)$")
    with contextlib.suppress(OSError):
        for entry in os.scandir(target.parent):
            m = pattern.match(entry.name)
            if m and entry.is_dir(follow_symlinks=False):
                (tmps if m.group(1).startswith("tmp") else olds).append(Path(entry.path))
    return tmps, olds


def _remove(folder: Path) -> None:
    """Delete a temporary folder of ours; its manifest goes first, so a half-deleted one never loads."""
    with contextlib.suppress(OSError):
        (folder / MANIFEST).unlink()
    shutil.rmtree(folder, ignore_errors=True)


def _fsync_dir(folder: Path) -> None:
    if os.name == "nt":  # Windows cannot open a folder to fsync it
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    """fsync every file under ``folder``, then every folder (deepest first)."""
    for root, _dirs, files in os.walk(folder, topdown=False):
        for name in files:
            path = os.path.join(root, name)
            if os.path.islink(path):
                continue
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(root))


def _recover(target: Path) -> None:
    """Restore ``target`` after a save that died between its two renames; then remove leftovers.

    Call it holding the lock of ``target``. When ``target`` is missing and an ``.old-*`` folder shows
    that a swap was under way, the complete new folder (a ``.tmp-*`` with a manifest) is renamed into
    place, else the complete old one. Leftovers are removed only while ``target`` exists.
    """
    tmps, olds = _leftovers(target)
    if not target.exists() and olds:
        complete = [p for p in tmps if (p / MANIFEST).is_file()] or [
            p for p in olds if (p / MANIFEST).is_file()
        ]
        if complete:
            best = max(complete, key=lambda p: (p / MANIFEST).stat().st_mtime_ns)
            os.replace(best, target)
            _fsync_dir(target.parent)
            logger.warning("recovered %s from %s, left by an interrupted save", target, best.name)
    if target.exists():
        for leftover in tmps + olds:
            if leftover.exists():
                _remove(leftover)


@contextlib.contextmanager
def _lock(target: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold the lock file ``.NAME.lock`` next to ``target``; yields whether it is held.

    Without ``wait`` it yields False at once if another save holds the lock; in a read-only folder it
    yields False too (nobody can save there, so there is nothing to wait for). The holder removes the
    lock file when it is done, and a waiter locks only the file the path still names, so no stale lock
    file stays next to the folder.
    """
    path = target.parent / f".{target.name}.lock"
    try:
        import fcntl
    except ImportError:  # Windows: filelock's lock file (kept after release)
        from filelock import FileLock, Timeout

        lock = FileLock(path, timeout=LOCK_TIMEOUT_S if wait else 0)
        try:
            lock.acquire()
        except Timeout as exc:
            if not wait:
                yield False
                return
            raise _lock_timeout(target) from exc
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            lock.release()
        return
    deadline = time.monotonic() + LOCK_TIMEOUT_S
    logged = False
    fd = -1
    while fd < 0:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError:
            break
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            fd = -1
            if not wait:
                break
            if time.monotonic() > deadline:
                raise _lock_timeout(target) from None
            if not logged:
                logger.info("waiting for another process to finish saving %s", target)
                logged = True
            time.sleep(0.02)
            continue
        try:  # the previous holder may have removed the file after we opened it
            current = os.stat(path).st_ino == os.fstat(fd).st_ino
        except OSError:
            current = False
        if not current:
            os.close(fd)
            fd = -1
    if fd < 0:
        yield False
        return
    try:
        yield True
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)


def _lock_timeout(target: Path) -> FormatError:
    return FormatError(
        f"{target} is being saved by another process that has held its lock for more than "
        f"{LOCK_TIMEOUT_S:.0f} s; try again later."
    )


def _existing_format(target: Path) -> str | None:
    """The format of the folder a save would replace: None for no folder or an empty one.

    Raises:
        FormatError: ``target`` is a file, a folder holding other files, or a folder whose manifest
            cannot be read; govnlp never deletes those.
    """
    if not target.exists() and not target.is_symlink():
        return None
    if not target.is_dir():
        raise FormatError(f"cannot save to {target}: a file (not a folder) is there. Choose another path.")
    if not any(target.iterdir()):
        return None
    mpath = target / MANIFEST
    if not mpath.is_file():
        raise FormatError(
            f"cannot save to {target}: it is a folder with files in it, not a saved govnlp folder (it has "
            f"no {MANIFEST}), and saving would delete them. Choose another path, or empty the folder."
        )
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
        found = manifest["format"]
        if not isinstance(found, str):
            raise TypeError(f"format is a {type(found).__name__}")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise FormatError(
            f"cannot save to {target}: its {MANIFEST} does not name a govnlp format ({exc}), so it may "
            "not be a govnlp folder and will not be replaced. Choose another path, or remove it yourself."
        ) from exc
    return found


def _make_parent(target: Path) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise FormatError(
            f"cannot save to {target}: a file is in the way of its parent folder {target.parent} "
            f"({exc.strerror}). Choose a path under a folder."
        ) from exc
    except OSError as exc:
        raise FormatError(f"cannot save to {target}: cannot create {target.parent} ({exc})") from exc


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike[str], *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``path`` only if the block finishes without error.

    The caller writes its files (manifest last) into the yielded folder. On success the files are
    fsynced and the folder is renamed to ``path`` (an existing folder there is replaced only after the
    new one is complete); on error the temporary folder is removed and ``path`` is untouched. Saves
    to one path are serialised by a lock file; leftovers of killed saves are recovered or removed.

    Raises:
        FormatError: ``path`` is a file, lies under a file, is a folder that is neither empty nor a
            saved govnlp folder of the same format (its files would be deleted), already exists while
            ``overwrite`` is False, or the block wrote no manifest.
    """
    target = Path(path)
    _make_parent(target)
    # a save nested in another save's fresh temporary folder needs no lock and has no leftovers
    nested = _TMP_NAME.match(target.parent.name) is not None
    with contextlib.ExitStack() as stack:
        if not nested and stack.enter_context(_lock(target)):
            _recover(target)
        existing = _existing_format(target)
        if target.exists() and not overwrite:
            raise FormatError(
                f"cannot save to {target}: it already exists. Pass overwrite=True or another path."
            )
        try:
            tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        except OSError as exc:
            raise FormatError(f"cannot save to {target}: cannot write in {target.parent} ({exc})") from exc
        # mkdtemp makes the folder private (0700); a saved model or index gets the usual umask permissions
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        try:
            yield tmp
            if not (tmp / MANIFEST).is_file():
                raise FormatError(f"internal error: save into {target} wrote no {MANIFEST}")
            if existing is not None:
                new = json.loads((tmp / MANIFEST).read_text(encoding="utf-8")).get("format")
                if new != existing:
                    raise FormatError(
                        f"cannot save a govnlp {new!r} to {target}: it holds a saved {existing!r}, which "
                        "would be deleted. Choose another path, or remove it first."
                    )
            _fsync_tree(tmp)
            old = None
            if target.exists() or target.is_symlink():
                old = target.parent / f".{target.name}.old-{os.getpid()}"
                if old.exists():
                    _remove(old)
                os.replace(target, old)
            os.replace(tmp, target)
            _fsync_dir(target.parent)
            if old is not None:
                if old.is_symlink():
                    old.unlink()
                else:
                    _remove(old)
        except BaseException:
            _remove(tmp)
            raise


def _stamp(folder: Path) -> tuple[int, int, int, int] | None:
    """What changes when a save swaps ``folder``: the folder's and its manifest's inode and times."""
    try:
        d = os.stat(folder)
        m = os.stat(folder / MANIFEST)
    except OSError:
        return None
    return (d.st_ino, d.st_ctime_ns, m.st_ino, m.st_mtime_ns)


def _prepare_load(folder: Path) -> None:
    """Before a load: finish what a killed save left behind.

    A missing folder with an ``.old-*`` sibling waits for the lock (a save may be between its renames)
    and is then restored; other leftovers are removed only if no save holds the lock right now.
    """
    tmps, olds = _leftovers(folder)
    if not tmps and not olds:
        return
    must_recover = bool(olds) and not folder.exists()
    with contextlib.suppress(OSError), _lock(folder, wait=must_recover) as locked:
        if locked:
            _recover(folder)


def consistent_load(load: _F) -> _F:
    """Make a loader of saved folders safe against concurrent saves and damaged folders.

    The decorated function takes the folder as its ``path`` argument. Before loading it restores a
    folder a killed save left between its two renames. If the folder was swapped by a save while it
    was read (or vanished for the instant between the renames), the load is repeated (at last holding
    the save lock), so a reader gets the old data or the new, never a mix and never an error. Errors that are
    not :class:`~govnlp.errors.GovnlpError` (a hand-edited manifest value, a truncated array file)
    become a :class:`~govnlp.errors.FormatError` naming the folder.
    """
    signature = inspect.signature(load)

    @functools.wraps(load)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        raw = signature.bind(*args, **kwargs).arguments.get("path")
        if not isinstance(raw, (str, os.PathLike)):
            return load(*args, **kwargs)
        folder = Path(raw)
        _prepare_load(folder)
        for attempt in range(_UNLOCKED_TRIES):
            before = _stamp(folder)
            try:
                result = load(*args, **kwargs)
            except Exception as exc:
                after = _stamp(folder)
                swapping = after is None and bool(_leftovers(folder)[1])
                if after == before and not swapping:
                    _reraise(folder, exc)
            else:
                if _stamp(folder) == before:
                    return result
            time.sleep(0.005 * attempt)  # a save swapped the folder meanwhile: read it again
        # saves keep swapping it: read it once more while no save can run
        with _lock(folder) as locked:
            if locked and not folder.exists():
                _recover(folder)
            try:
                return load(*args, **kwargs)
            except Exception as exc:
                _reraise(folder, exc)

    return wrapper  # type: ignore[return-value]


def _reraise(folder: Path, exc: Exception) -> Any:
    """Raise ``exc``, as a FormatError naming ``folder`` when it is a raw error of a damaged folder."""
    if isinstance(exc, GovnlpError) or not isinstance(
        exc, (KeyError, TypeError, ValueError, AttributeError, IndexError, OSError, EOFError)
    ):
        raise exc
    if isinstance(exc, OSError) and not isinstance(
        exc, (FileNotFoundError, IsADirectoryError, NotADirectoryError)
    ):
        raise FormatError(f"{folder} could not be read ({type(exc).__name__}: {exc}).") from exc
    raise FormatError(
        f"{folder} could not be loaded ({type(exc).__name__}: {exc}); the folder is damaged or was "
        "edited by hand. Save it again."
    ) from exc


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
    if not isinstance(version, int) or isinstance(version, bool) or not 0 <= version <= max_version:
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
    """Read UTF-8 JSON Lines; blank lines and a leading byte-order mark are skipped.

    Raises:
        FormatError: a line that is not UTF-8, not JSON, or not a JSON object (the message names it).
    """
    rows: list[dict[str, Any]] = []
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise FormatError(
                    f"{path}:{lineno} is not valid UTF-8 (byte {raw[exc.start : exc.start + 1]!r} at "
                    f"column {exc.start + 1}); save the file as UTF-8."
                ) from exc
            if lineno == 1:
                line = line.removeprefix("\ufeff")
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise FormatError(f"{path}:{lineno} is not valid JSON: {exc}") from exc
            except RecursionError as exc:
                raise FormatError(f"{path}:{lineno} is nested too deeply to read") from exc
            if not isinstance(row, dict):
                raise FormatError(f"{path}:{lineno} is a JSON {type(row).__name__}, expected an object")
            rows.append(row)
    return rows
