"""The folder format of a saved search index (format ``govnlp.search_index``): an
:class:`~govnlp.search.state.IndexState` to a folder and back.

Layout::

    manifest.json      format, format_version, govnlp_version, embedder {name, dim, fingerprint, spec,
                       reloadable}, counts {records, vectors, lexical}, index (backend and parameters),
                       index_type, fusion, lexical {kind, tokenizer, k1, b, ...}, cleaning {clean, cleaner},
                       next_label, batch_size
    vectors.faiss      faiss.write_index of the vector index (vectors.npy + labels.npy for numpy;
                       deleted.npy: HNSW tombstones)
    ids.json           {"ids": [...], "labels": [...]}: record id -> int64 label, in record order
    records.jsonl      one record per line (id, text, index_text, metadata)
    lexical/           tf.npz (term counts, CSR), labels.npy, bm25.json or tfidf.json (vocabulary, parameters,
                       version); for kind bm25+tfidf: lexical.json + bm25/ + tfidf/ (see govnlp.search.lexical)

Saving writes into a temporary sibling folder, manifest last, and renames it into place
(:func:`govnlp.storage.atomic_folder`); loading checks the format, version, counts and labels of every
part and returns a new state, so a failed load changes nothing. No pickle anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from govnlp.errors import FormatError
from govnlp.index import index_params, load_index
from govnlp.search.lexical import load_lexical
from govnlp.search.state import IndexState
from govnlp.storage import consistent_load

__all__ = ["FORMAT", "FORMAT_VERSION", "read_state", "write_state"]

FORMAT = "govnlp.search_index"
FORMAT_VERSION = 1


def write_state(state: IndexState, path: str | Path) -> Path:
    """Write ``state`` into the folder ``path`` (see the module docstring)."""
    from govnlp.storage import atomic_folder, write_jsonl, write_manifest

    with atomic_folder(path) as tmp:
        files: list[str] = []
        if state.vectors is not None:
            files += state.vectors.save(tmp)
        state.lexical.save(tmp / "lexical")
        ids = list(state.records)
        (tmp / "ids.json").write_text(
            json.dumps({"ids": ids, "labels": [state.labels[i] for i in ids]}, ensure_ascii=False),
            encoding="utf-8",
        )
        write_jsonl(tmp / "records.jsonl", state.records.values())
        if state.ranker is not None:
            state.ranker.save(tmp / "ranker")
            files.append("ranker/")
        write_manifest(
            tmp,
            FORMAT,
            FORMAT_VERSION,
            embedder=state.embedder,
            counts={
                "records": len(state.records),
                "vectors": len(state.vectors) if state.vectors is not None else 0,
                "lexical": len(state.lexical),
            },
            index=index_params(state.vectors) if state.vectors is not None else None,
            index_type=state.index_type,
            fusion=state.fusion,
            lexical=state.lexical.describe(),
            cleaning={"clean": state.clean, "cleaner": state.cleaner},
            clean_lexical=state.clean_lexical,
            long_text=state.long_text,
            next_label=state.next_label,
            batch_size=state.batch_size,
            files=[*files, "ids.json", "records.jsonl", "lexical/"],
        )
    return Path(path)


@consistent_load
def read_state(path: str | Path) -> IndexState:
    """Read a folder written by :func:`write_state`.

    Raises:
        FormatError: not a saved search index, a newer format version, a damaged file, or parts that
            disagree on counts, ids or labels.
    """
    from govnlp.storage import read_jsonl, read_manifest

    folder = Path(path)
    m = read_manifest(folder, FORMAT, FORMAT_VERSION)
    try:
        emb_entry: dict[str, Any] = dict(m["embedder"])
        counts, lex, cleaning = m["counts"], m["lexical"], m["cleaning"]
        fusion = dict(m["fusion"])
        n_rec = int(counts["records"])
        clean = bool(cleaning["clean"])
        kind = lex.get("kind", "bm25")  # indexes saved before lexical kinds existed are BM25
        tokenizer = lex["tokenizer"]
        dim = int(emb_entry["dim"])
        batch_size = int(m.get("batch_size", 32))
        next_label = m.get("next_label")
        next_label = None if next_label is None else int(next_label)
        index_type = str(m.get("index_type", "auto"))
        if not isinstance(emb_entry.get("name"), str) or not isinstance(emb_entry.get("fingerprint"), str):
            raise ValueError("embedder name or fingerprint")
        if dim < 1 or batch_size < 1 or not isinstance(tokenizer, str) or not isinstance(kind, str):
            raise ValueError("embedder dim, batch_size, lexical tokenizer or kind")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise FormatError(f"{folder}/manifest.json lacks or garbles {exc}; save the index again.") from exc
    try:
        ids_doc = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
        ids, labels = list(ids_doc["ids"]), [int(x) for x in ids_doc["labels"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FormatError(f"cannot read {folder}/ids.json ({exc}); save the index again.") from exc
    try:
        records = read_jsonl(folder / "records.jsonl")
    except FormatError:
        raise
    except (OSError, ValueError) as exc:  # ValueError: not UTF-8 or not JSON
        raise FormatError(f"cannot read {folder}/records.jsonl ({exc}); save the index again.") from exc
    lexical = load_lexical(folder / "lexical", tokenizer=tokenizer)
    if lexical.kind != kind:
        raise FormatError(
            f"{folder}: the manifest records a {kind!r} lexical index but lexical/ holds a "
            f"{lexical.kind!r} one; save the index again."
        )
    vec_params = m.get("index")
    if vec_params is not None and not isinstance(vec_params, dict):
        raise FormatError(f"{folder}/manifest.json: 'index' is not an object; save the index again.")
    vectors = load_index(folder, dim, vec_params) if vec_params else None
    ranker = None
    if (folder / "ranker").is_dir():
        from govnlp.search.ranker import Ranker

        ranker = Ranker.load(folder / "ranker")
    found = {
        "records": len(records),
        "ids": len(ids),
        "labels": len(labels),
        "vectors": len(vectors) if vectors is not None else 0,
        "lexical": len(lexical),
    }
    expected = {
        "records": n_rec,
        "ids": n_rec,
        "labels": n_rec,
        "vectors": counts["vectors"],
        "lexical": counts["lexical"],
    }
    if found != expected or counts["vectors"] != n_rec or counts["lexical"] != n_rec:
        raise FormatError(
            f"{folder} is inconsistent: the manifest says {counts}, the files hold {found}. Save the index again."
        )
    if [r.get("id") for r in records] != ids:
        raise FormatError(f"{folder}: records.jsonl and ids.json list different ids; save the index again.")
    label_set = set(labels)
    empty = np.zeros(0, dtype=np.int64)
    parts: list[tuple[str, np.ndarray]] = [
        ("vectors", vectors.labels() if vectors is not None else empty),
        ("lexical", lexical.labels()),
    ]
    for name, held in parts:
        if set(np.asarray(held).tolist()) != label_set:
            raise FormatError(
                f"{folder}: the {name} index holds other labels than ids.json; save the index again."
            )
    return IndexState(
        embedder=emb_entry,
        index_type=index_type,
        fusion=fusion,
        clean=clean,
        cleaner=cleaning.get("cleaner", "none"),
        long_text=str(m.get("long_text", "mean")),
        clean_lexical=bool(m.get("clean_lexical", True)),
        batch_size=batch_size,
        records={r["id"]: r for r in records},
        labels=dict(zip(ids, labels, strict=True)),
        next_label=max(labels, default=-1) + 1
        if next_label is None
        else max(next_label, max(labels, default=-1) + 1),
        vectors=vectors,
        ranker=ranker,
        lexical=lexical,
    )
