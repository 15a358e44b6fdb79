"""Batch encoding of a corpus in resumable shards, on Ray Data or in one process.

:func:`encode_dataset` reads records (reply files, Parquet, JSONL, a ``datasets.Dataset`` or dicts), cleans
and embeds their texts, and writes the vectors into numbered Parquet shards of ``shard_size`` rows. With
``engine="ray"`` the work runs on Ray Data: reply files are parsed by parallel Ray tasks, and the texts go
through ``map_batches`` over an actor pool, one embedder per actor (``concurrency`` actors, ``batch_size``
texts per call); text cleaning runs in the actors too. ``engine="local"`` does the same in this process
(the reference the Ray path is tested against).

Resuming: the output folder records a plan (embedder fingerprint, shard size, a digest of the ids and texts)
before the first shard; every shard is written to a temporary file and renamed into place, so a shard file
is either complete or absent. Running the same call again after a crash computes only the shards that are
missing. A plan that does not match (other input, other embedder) is refused with a clear error.

Layout of the output folder (format ``govnlp.encoded_dataset``)::

    plan.json                 embedder {name, dim, fingerprint, spec}, clean, shard_size, records, shards, digest
    shards/shard-00000.parquet   columns id (string), record (JSON string: id, text, metadata),
                                 index_text (string: the cleaned text that was embedded),
                                 vector (fixed-size list of float32)
    manifest.json             written last, when every shard is there

Read it back with :func:`load_encoded`: ``vectors()``, ``ids()``, ``records()``, ``to_dataset()`` (a
``datasets.Dataset``), ``write_jsonl(path)``, ``to_search_index()``.

Example:
    >>> from govnlp.scale import encode_dataset
    >>> enc = encode_dataset("replies/", "replies.encoded", embedder="hash", engine="ray", concurrency=2)
    >>> enc.vectors().shape, enc.ids()[:2]
    >>> index = enc.to_search_index()          # a SearchIndex, without encoding again
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from govnlp.embedders.base import Embedder, Kind
from govnlp.errors import ConfigError, FormatError, missing_extra
from govnlp.search.search_index import DEFAULT_CLEAN

__all__ = [
    "ENGINES",
    "FORMAT",
    "FORMAT_VERSION",
    "EncodedDataset",
    "encode_dataset",
    "index_text",
    "load_encoded",
    "read_records",
]

logger = logging.getLogger(__name__)

FORMAT = "govnlp.encoded_dataset"
FORMAT_VERSION = 1
ENGINES = ("ray", "local")
#: Reply file types parsed as replies; ``.jsonl`` and ``.parquet`` files hold records.
REPLY_SUFFIXES = (".txt", ".html", ".htm", ".docx", ".pdf")
RECORD_SUFFIXES = (".jsonl", ".parquet")


# -- records ---------------------------------------------------------------------------------------------
def index_text(text: str, clean: bool = DEFAULT_CLEAN) -> str:
    """The text that is embedded for a record: ``clean_for_index(text)``, or the raw text when cleaning
    is off or leaves nothing (the rule :class:`govnlp.search.SearchIndex` applies)."""
    if not clean:
        return text
    from govnlp.cleaning import clean_for_index

    cleaned = clean_for_index(text)
    return cleaned if cleaned.strip() else text


def _expand(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    out: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in (*REPLY_SUFFIXES, *RECORD_SUFFIXES)
            )
            if not found:
                raise ConfigError(
                    f"{path} holds no reply files ({', '.join(REPLY_SUFFIXES)}) or record files "
                    f"({', '.join(RECORD_SUFFIXES)})"
                )
            out.extend(found)
        elif path.is_file():
            if path.suffix.lower() not in (*REPLY_SUFFIXES, *RECORD_SUFFIXES):
                raise ConfigError(
                    f"{path}: unsupported file type {path.suffix!r}; expected reply files "
                    f"({', '.join(REPLY_SUFFIXES)}) or record files ({', '.join(RECORD_SUFFIXES)})"
                )
            out.append(path)
        else:
            raise ConfigError(f"input {str(name)!r} does not exist; give files, folders or a dataset")
    return out


def _parse_file(path: str) -> list[dict[str, Any]]:
    """The index records of one reply file (runs in a Ray task or in this process)."""
    from govnlp.parsing import parse_reply
    from govnlp.scale._compat import document_records

    return document_records(parse_reply(path))


def _parse_task(batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
    """Ray task: parse a batch of reply files into records (JSON strings) keyed by (file order, unit)."""
    order: list[int] = []
    unit: list[int] = []
    rec: list[str] = []
    for i, path in zip(batch["order"].tolist(), batch["path"].tolist(), strict=True):
        for j, r in enumerate(_parse_file(str(path))):
            order.append(int(i))
            unit.append(j)
            rec.append(json.dumps(r, ensure_ascii=False, sort_keys=True))
    return {"order": order, "unit": unit, "record": rec}


def _parse_files(files: list[Path], engine: str, concurrency: int) -> list[list[dict[str, Any]]]:
    """The records of each reply file, in file order; parsed by Ray tasks when ``engine="ray"``."""
    if engine == "local" or len(files) < 2:
        return [_parse_file(str(f)) for f in files]
    ray = _ray()
    ds = ray.data.from_items([{"order": i, "path": str(p)} for i, p in enumerate(files)])
    ds = ds.repartition(max(1, min(len(files), concurrency * 4)))
    parsed = ds.map_batches(_parse_task, batch_format="numpy", concurrency=concurrency)
    rows: list[tuple[int, int, str]] = []
    for b in parsed.iter_batches(batch_size=None, batch_format="numpy"):
        rows.extend(zip(b["order"].tolist(), b["unit"].tolist(), b["record"].tolist(), strict=True))
    rows.sort(key=lambda t: (t[0], t[1]))
    out: list[list[dict[str, Any]]] = [[] for _ in files]
    for i, _, r in rows:
        out[i].append(json.loads(r))
    return out


def read_records(
    source: Any,
    *,
    text_field: str = "text",
    id_field: str = "id",
    engine: str = "local",
    concurrency: int = 2,
) -> list[dict[str, Any]]:
    """The index records of ``source``, in a fixed order (input order; files sorted within folders).

    Args:
        source: a path or list of paths (reply files, folders of them, ``.jsonl`` or ``.parquet`` record
            files), a ``datasets.Dataset``, or an iterable of dicts / ReplyDocuments.
        engine: ``"ray"`` parses reply files in parallel Ray tasks; ``"local"`` in this process.

    Returns:
        Records as :func:`govnlp.search.records.build_records` makes them (``id``, ``text``, metadata).
    """
    from govnlp.scale._compat import build_records

    if isinstance(source, (str, os.PathLike)):
        source = [source]
    if _is_hf_dataset(source):
        return build_records(iter(source), text_field=text_field, id_field=id_field)
    items = list(source)
    if not (items and all(isinstance(x, (str, os.PathLike)) for x in items)):
        return build_records(items, text_field=text_field, id_field=id_field)
    from govnlp.storage import read_jsonl

    files = _expand(items)
    replies = [f for f in files if f.suffix.lower() in REPLY_SUFFIXES]
    parsed = dict(zip(replies, _parse_files(replies, engine, concurrency), strict=True))
    out: list[dict[str, Any]] = []
    for f in files:
        suffix = f.suffix.lower()
        if f in parsed:
            out.extend(parsed[f])
        elif suffix == ".jsonl":
            out.extend(build_records(read_jsonl(f), text_field=text_field, id_field=id_field))
        else:
            out.extend(build_records(_read_parquet(f), text_field=text_field, id_field=id_field))
    return out


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - pyarrow comes with datasets
        raise missing_extra("pyarrow", "parquet", "reading Parquet records") from exc
    return list(pq.read_table(path).to_pylist())


def _is_hf_dataset(obj: Any) -> bool:
    return type(obj).__module__.startswith("datasets.") and hasattr(obj, "column_names")


# -- the plan and the shards ----------------------------------------------------------------------------
def _digest(records: list[dict[str, Any]]) -> str:
    h = hashlib.sha256()
    for r in records:
        h.update(r["id"].encode("utf-8"))
        h.update(b"\x00")
        h.update(r["text"].encode("utf-8"))
        h.update(b"\x01")
    return h.hexdigest()


def _shard_name(i: int) -> str:
    return f"shard-{i:05d}.parquet"


def _embedder_entry(embedder: Embedder | str | None) -> tuple[Embedder, dict[str, Any]]:
    from govnlp.embedders import load_embedder

    emb = (
        load_embedder(embedder)
        if not isinstance(embedder, Embedder) or isinstance(embedder, str)
        else embedder
    )
    spec = embedder if isinstance(embedder, str) or embedder is None else getattr(emb, "spec", None)
    if embedder is None:
        spec = "default"
    return emb, {"name": emb.name, "dim": int(emb.dim), "fingerprint": emb.fingerprint(), "spec": spec}


def _write_shard(
    folder: Path, i: int, ids: list[str], recs: list[str], texts: list[str], vecs: np.ndarray
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    dim = int(vecs.shape[1])
    flat = pa.array(np.ascontiguousarray(vecs, dtype=np.float32).reshape(-1), type=pa.float32())
    table = pa.table(
        {
            "id": pa.array(ids, type=pa.string()),
            "record": pa.array(recs, type=pa.string()),
            "index_text": pa.array(texts, type=pa.string()),
            "vector": pa.FixedSizeListArray.from_arrays(flat, dim),
        }
    )
    target = folder / _shard_name(i)
    tmp = folder / f".{_shard_name(i)}.part-{os.getpid()}"
    pq.write_table(table, tmp)
    os.replace(tmp, target)


def _shard_done(folder: Path, i: int, expected_ids: list[str]) -> bool:
    """True when shard ``i`` exists, is readable and holds exactly ``expected_ids``."""
    path = folder / _shard_name(i)
    if not path.is_file():
        return False
    try:
        import pyarrow.parquet as pq

        ids = pq.read_table(path, columns=["id"]).column("id").to_pylist()
    except Exception:  # an unreadable shard is recomputed
        logger.warning("shard %s is unreadable; it will be computed again", path)
        return False
    return bool(ids == expected_ids)


# -- the encoding workers -------------------------------------------------------------------------------
class _Encoder:
    """One embedder per worker: cleans and embeds a batch ``{shard, pos, id, record, text}``."""

    def __init__(self, spec: Any, clean: bool, batch_size: int, threads: int | None = None) -> None:
        from govnlp.embedders import load_embedder

        if threads:
            try:
                import torch

                torch.set_num_threads(threads)
            except ImportError:  # pragma: no cover - torch is a core dependency
                pass
        self.embedder = (
            spec if isinstance(spec, Embedder) and not isinstance(spec, str) else load_embedder(spec)
        )
        self.clean = clean
        self.batch_size = batch_size

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        t0 = time.time()  # wall clock, comparable across the processes of one machine
        texts = [index_text(str(t), self.clean) for t in list(batch["text"])]
        vecs = self.embedder.encode(
            texts, kind="passage", batch_size=self.batch_size, show_progress_bar=False
        )
        return {
            "shard": np.asarray(batch["shard"]),
            "pos": np.asarray(batch["pos"]),
            "index_text": np.asarray(texts, dtype=object),
            "vector": np.ascontiguousarray(vecs, dtype=np.float32),
            "t0": np.full(len(texts), t0),
            "t1": np.full(len(texts), time.time()),
        }


def _ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise missing_extra("ray", "scale", "encoding on Ray (engine='ray')") from exc
    if not ray.is_initialized():
        logger.info("starting a local Ray instance (call ray.init() first to use a cluster)")
        ray.init(include_dashboard=False, log_to_driver=False)
    return ray


def _pool(concurrency: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(concurrency, int) and not isinstance(concurrency, bool):
        lo = hi = concurrency
    elif isinstance(concurrency, tuple) and len(concurrency) == 2:
        lo, hi = (int(c) for c in concurrency)
    else:
        raise ConfigError(f"concurrency must be an int or a (min, max) tuple of ints, got {concurrency!r}")
    if not 1 <= lo <= hi:
        raise ConfigError(f"concurrency must satisfy 1 <= min <= max, got {concurrency!r}")
    return lo, hi


def _run_ray(
    todo: list[int],
    shards: list[tuple[int, int]],
    records: list[dict[str, Any]],
    spec: Any,
    clean: bool,
    batch_size: int,
    concurrency: int | tuple[int, int],
    on_shard: Callable[[int, dict[int, tuple[str, np.ndarray]]], None],
    clock: list[tuple[float, float]],
) -> None:
    import pyarrow as pa

    ray = _ray()
    lo, hi = _pool(concurrency)
    # blocks of a few batches each, so that the actors share the work evenly
    block = max(batch_size * 4, 256)
    tables = []
    for i in todo:
        start, stop = shards[i]
        for a in range(start, stop, block):
            b = min(stop, a + block)
            tables.append(
                pa.table(
                    {
                        "shard": pa.array([i] * (b - a), type=pa.int64()),
                        "pos": pa.array(range(a - start, b - start), type=pa.int64()),
                        "text": pa.array([records[j]["text"] for j in range(a, b)], type=pa.string()),
                    }
                )
            )
    ds = ray.data.from_arrow(tables)
    encoded = ds.map_batches(
        _Encoder,
        batch_size=batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(min_size=lo, max_size=hi),
        fn_constructor_kwargs={"spec": spec, "clean": clean, "batch_size": batch_size, "threads": 1},
        num_cpus=1,
    )
    pending: dict[int, dict[int, tuple[str, np.ndarray]]] = {}
    for b in encoded.iter_batches(batch_size=None, batch_format="numpy"):
        if len(b["shard"]):
            clock.append((float(b["t0"].min()), float(b["t1"].max())))
        for s, p, t, v in zip(
            b["shard"].tolist(), b["pos"].tolist(), b["index_text"], b["vector"], strict=True
        ):
            part = pending.setdefault(int(s), {})
            part[int(p)] = (str(t), np.asarray(v, dtype=np.float32))
            start, stop = shards[int(s)]
            if len(part) == stop - start:
                on_shard(int(s), pending.pop(int(s)))
    if pending:  # pragma: no cover - Ray returned fewer rows than it was given
        raise FormatError(f"Ray returned incomplete shards {sorted(pending)}; run encode_dataset again")


def _run_local(
    todo: list[int],
    shards: list[tuple[int, int]],
    records: list[dict[str, Any]],
    embedder: Embedder,
    clean: bool,
    batch_size: int,
    on_shard: Callable[[int, dict[int, tuple[str, np.ndarray]]], None],
    clock: list[tuple[float, float]],
) -> None:
    worker = _Encoder(embedder, clean, batch_size)
    for i in todo:
        start, stop = shards[i]
        out = worker(
            {
                "shard": np.full(stop - start, i),
                "pos": np.arange(stop - start),
                "text": [records[j]["text"] for j in range(start, stop)],
            }
        )
        if stop > start:
            clock.append((float(out["t0"][0]), float(out["t1"][0])))
        on_shard(
            i,
            {
                p: (t, v)
                for p, t, v in zip(out["pos"].tolist(), out["index_text"], out["vector"], strict=True)
            },
        )


def encode_dataset(
    source: Any,
    out: str | os.PathLike[str],
    *,
    embedder: Embedder | str | None = None,
    engine: str = "ray",
    text_field: str = "text",
    id_field: str = "id",
    clean: bool = DEFAULT_CLEAN,
    batch_size: int = 64,
    concurrency: int | tuple[int, int] = 2,
    shard_size: int = 10_000,
) -> EncodedDataset:
    """Embed a corpus into resumable Parquet shards (see the module docstring).

    Args:
        source: reply files / folders / ``.jsonl`` / ``.parquet`` paths, a ``datasets.Dataset``, or an
            iterable of dict records or ReplyDocuments.
        out: the output folder; running again with the same inputs resumes from the missing shards.
        embedder: an embedder spec (``"hash"``, a model folder, None = the default model). With
            ``engine="ray"`` every actor loads it by name, so an Embedder object must come from
            :func:`govnlp.load_embedder`.
        engine: ``"ray"`` (Ray Data, actor pool) or ``"local"`` (this process).
        clean: embed ``clean_for_index(text)`` as :class:`~govnlp.search.SearchIndex` does.
        batch_size: texts per ``map_batches`` call (and per ``encode`` batch).
        concurrency: actors in the pool: ``n`` or ``(min, max)`` (an autoscaling pool).
        shard_size: rows per output shard (the unit of resuming).

    Returns:
        The :class:`EncodedDataset` in ``out``.

    Raises:
        ConfigError: bad arguments, or ``out`` holds shards of other inputs or another embedder.
        MissingExtraError: ``engine="ray"`` without Ray installed (extra ``govnlp[scale]``).
    """
    if engine not in ENGINES:
        raise ConfigError(f"engine must be one of {ENGINES}, got {engine!r}")
    for name, value in (("batch_size", batch_size), ("shard_size", shard_size)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{name} must be a positive int, got {value!r}")
    lo, hi = _pool(concurrency)
    if engine == "ray":
        if not isinstance(embedder, (str, type(None))) and getattr(embedder, "spec", None) is None:
            raise ConfigError(
                "engine='ray' loads one embedder per Ray actor by name: pass embedder as a spec ('hash', a "
                "model folder, None for the default model), or an embedder made by govnlp.load_embedder(spec)"
            )
        _ray()
    t0 = time.perf_counter()
    records = read_records(source, text_field=text_field, id_field=id_field, engine=engine, concurrency=hi)
    ids = [r["id"] for r in records]
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        dup = [i for i in ids if i in seen or seen.add(i)]  # type: ignore[func-returns-value]
        raise ConfigError(f"{len(dup)} repeated record id(s): {dup[:10]}; give the records distinct ids")
    emb, emb_entry = _embedder_entry(embedder)
    folder = Path(out)
    shard_dir = folder / "shards"
    shard_dir.mkdir(parents=True, exist_ok=True)
    shards = [(a, min(len(records), a + shard_size)) for a in range(0, len(records), shard_size)]
    plan = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "embedder": emb_entry,
        "clean": bool(clean),
        "shard_size": shard_size,
        "records": len(records),
        "shards": len(shards),
        "digest": _digest(records),
    }
    _check_plan(folder, plan)
    todo = [i for i, (a, b) in enumerate(shards) if not _shard_done(shard_dir, i, ids[a:b])]
    logger.info(
        "encoding %d records in %d shards (%d already written) with %s on %s",
        len(records),
        len(shards),
        len(shards) - len(todo),
        emb.name,
        engine,
    )
    written: list[int] = []

    def on_shard(i: int, rows: dict[int, tuple[str, np.ndarray]]) -> None:
        start, stop = shards[i]
        order = range(stop - start)
        _write_shard(
            shard_dir,
            i,
            ids[start:stop],
            [json.dumps(records[start + p], ensure_ascii=False, sort_keys=True) for p in order],
            [rows[p][0] for p in order],
            np.stack([rows[p][1] for p in order]) if rows else np.zeros((0, emb.dim), np.float32),
        )
        written.append(i)

    clock: list[tuple[float, float]] = []  # (start, end) wall-clock time of every encoded batch
    t_enc = time.time()
    if todo:
        if engine == "ray":
            _run_ray(todo, shards, records, emb_entry["spec"], clean, batch_size, (lo, hi), on_shard, clock)
        else:
            _run_local(todo, shards, records, emb, clean, batch_size, on_shard, clock)
    last_run: dict[str, Any] = {"shards_written": len(written), "seconds": round(time.perf_counter() - t0, 3)}
    if clock:
        # start-up (reading, actor start, model load) until the first batch started, then the encoding rate
        # over the span from the first batch's start to the last batch's end (all workers together)
        start, end = min(t for t, _ in clock), max(t for _, t in clock)
        last_run["startup_s"] = round(start - t_enc, 3)
        last_run["encode_span_s"] = round(end - start, 3)
        if end > start:
            n_rows = sum(shards[i][1] - shards[i][0] for i in todo)
            last_run["rows_per_s_encoding"] = round(n_rows / (end - start), 1)
    from govnlp.storage import write_manifest

    write_manifest(
        folder,
        FORMAT,
        FORMAT_VERSION,
        **{k: v for k, v in plan.items() if k not in ("format", "format_version")},
        engine=engine,
        last_run=last_run,
    )
    result = load_encoded(folder)
    result.shards_written = sorted(written)
    return result


def _check_plan(folder: Path, plan: dict[str, Any]) -> None:
    path = folder / "plan.json"
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise FormatError(
                f"{path} is not valid JSON ({exc}); remove the folder {folder} and run again"
            ) from exc
        diff = [k for k in plan if old.get(k) != plan[k]]
        if diff:
            raise ConfigError(
                f"{folder} holds shards of another run (different {', '.join(diff)}); resuming needs the same "
                "inputs, embedder, cleaning and shard_size. Use another output folder or remove this one."
            )
        return
    if any((folder / "shards").glob("shard-*.parquet")):
        raise ConfigError(f"{folder}/shards holds shards but no plan.json; remove the folder and run again")
    tmp = folder / "plan.json.part"
    tmp.write_text(json.dumps(plan, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


# -- the result -----------------------------------------------------------------------------------------
@dataclass
class EncodedDataset:
    """A folder written by :func:`encode_dataset`: records and their vectors, in input order."""

    path: Path
    manifest: dict[str, Any]
    shards_written: list[int]

    def __len__(self) -> int:
        return int(self.manifest["records"])

    @property
    def embedder_entry(self) -> dict[str, Any]:
        """``{name, dim, fingerprint, spec}`` of the embedder that made the vectors."""
        return dict(self.manifest["embedder"])

    def _tables(self, columns: list[str] | None = None) -> Iterator[Any]:
        import pyarrow.parquet as pq

        for i in range(int(self.manifest["shards"])):
            yield pq.read_table(self.path / "shards" / _shard_name(i), columns=columns)

    def ids(self) -> list[str]:
        """The record ids in input order."""
        return [x for t in self._tables(["id"]) for x in t.column("id").to_pylist()]

    def records(self) -> list[dict[str, Any]]:
        """The records (``id``, ``text``, metadata) in input order."""
        return [json.loads(x) for t in self._tables(["record"]) for x in t.column("record").to_pylist()]

    def index_texts(self) -> list[str]:
        """The texts that were embedded (cleaned when the dataset was encoded with ``clean=True``), in order."""
        return [x for t in self._tables(["index_text"]) for x in t.column("index_text").to_pylist()]

    def vectors(self) -> np.ndarray:
        """All vectors, float32 ``(len(self), dim)``, in input order."""
        dim = int(self.manifest["embedder"]["dim"])
        parts = [
            np.asarray(t.column("vector").combine_chunks().flatten(), dtype=np.float32).reshape(-1, dim)
            for t in self._tables(["vector"])
        ]
        return np.concatenate(parts) if parts else np.zeros((0, dim), np.float32)

    def to_dataset(self) -> Any:
        """The shards as a ``datasets.Dataset`` (columns id, record, index_text, vector)."""
        import datasets

        files = [str(self.path / "shards" / _shard_name(i)) for i in range(int(self.manifest["shards"]))]
        return datasets.Dataset.from_parquet(files)

    def write_jsonl(self, path: str | os.PathLike[str]) -> Path:
        """Write one JSON object per record: ``{"id", "record", "index_text", "vector"}`` (UTF-8 JSONL)."""
        target = Path(path)
        tmp = target.with_name(f".{target.name}.part-{os.getpid()}")
        with tmp.open("w", encoding="utf-8") as fh:
            for t in self._tables():
                for row in t.to_pylist():
                    row["record"] = json.loads(row["record"])
                    fh.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
        os.replace(tmp, target)
        return target

    def to_search_index(self, embedder: Embedder | str | None = None, **options: Any) -> Any:
        """A :class:`govnlp.search.SearchIndex` of these records built from the stored vectors.

        The index records the original embedder (name, fingerprint, spec), so it is saved, loaded and
        queried like one built by ``SearchIndex.build``. ``embedder`` (default: the recorded spec) is
        used for queries and for texts not in this dataset; ``options`` go to the SearchIndex
        constructor (``clean`` defaults to the setting the vectors were made with).
        """
        from govnlp.search import SearchIndex

        entry = self.embedder_entry
        spec = embedder if embedder is not None else entry.get("spec")
        table = dict(zip(self.index_texts(), self.vectors(), strict=True))
        pre = _PrecomputedEmbedder(entry, table, spec)
        options.setdefault("clean", bool(self.manifest["clean"]))
        index = SearchIndex.build(self.records(), embedder=pre, **options)
        if pre.misses:
            logger.warning("%d texts were not in the encoded dataset and were embedded again", pre.misses)
        return index


class _PrecomputedEmbedder:
    """Serves the stored vectors of known passages; anything else goes to the real embedder.

    It carries the real embedder's name, dimension, fingerprint and spec, so an index built through it
    is the index ``SearchIndex.build`` would have made with the real embedder.
    """

    def __init__(self, entry: dict[str, Any], table: dict[str, np.ndarray], spec: Any) -> None:
        self._entry = entry
        self._table = table
        self._spec_arg = spec
        self._real: Embedder | None = None
        self.misses = 0
        if isinstance(spec, str) or spec is None:
            self.spec = spec if spec is not None else "default"

    @property
    def name(self) -> str:
        return str(self._entry["name"])

    @property
    def dim(self) -> int:
        return int(self._entry["dim"])

    def fingerprint(self) -> str:
        return str(self._entry["fingerprint"])

    def _embedder(self) -> Embedder:
        if self._real is None:
            from govnlp.embedders import load_embedder
            from govnlp.embedders.base import check_fingerprint

            emb = load_embedder(self._spec_arg)
            check_fingerprint(self.name, self.fingerprint(), emb, what="the encoded dataset")
            self._real = emb
        return self._real

    def encode(
        self,
        texts: Sequence[str],
        *,
        kind: Kind = "passage",
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
    ) -> np.ndarray:
        from govnlp.embedders.base import check_texts

        items = check_texts(texts)
        if kind == "passage" and all(t in self._table for t in items):
            if not items:
                return np.zeros((0, self.dim), np.float32)
            return np.stack([self._table[t] for t in items]).astype(np.float32, copy=False)
        if kind == "passage":
            self.misses += sum(t not in self._table for t in items)
        return self._embedder().encode(
            items, kind=kind, batch_size=batch_size, show_progress_bar=show_progress_bar
        )


def load_encoded(path: str | os.PathLike[str]) -> EncodedDataset:
    """Open a folder written by :func:`encode_dataset` (all shards must be there).

    Raises:
        FormatError: not an encoded dataset, an unfinished run (shards missing), or a newer format.
    """
    from govnlp.storage import read_manifest

    folder = Path(path)
    if not (folder / "manifest.json").is_file() and (folder / "plan.json").is_file():
        raise FormatError(f"{folder} is an unfinished encoding run; run encode_dataset again to finish it")
    m = read_manifest(folder, FORMAT, FORMAT_VERSION)
    missing = [i for i in range(int(m["shards"])) if not (folder / "shards" / _shard_name(i)).is_file()]
    if missing:
        raise FormatError(f"{folder} lacks shards {missing[:10]}; run encode_dataset again to finish it")
    return EncodedDataset(path=folder, manifest=m, shards_written=[])
