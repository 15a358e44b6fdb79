"""The folder format of a saved :class:`govnlp.search.SearchIndex` (format ``govnlp.search_index``).

Layout::

    manifest.json      format, format_version, govnlp_version, embedder {name, dim, fingerprint, spec,
                       reloadable}, counts {records, vectors, lexical}, index (backend and parameters),
                       index_type, fusion, lexical {kind, tokenizer, k1, b, ...}, cleaning {clean, cleaner},
                       next_label
    vectors.faiss      faiss.write_index of the vector index (vectors.npy + labels.npy for numpy;
                       deleted.npy: HNSW tombstones)
    ids.json           {"ids": [...], "labels": [...]}: record id -> int64 label, in record order
    records.jsonl      one record per line (id, text, index_text, metadata)
    lexical/           tf.npz (term counts, CSR), labels.npy, bm25.json or tfidf.json (vocabulary, parameters,
                       version); for kind bm25+tfidf: lexical.json + bm25/ + tfidf/ (see govnlp.lexical)

Saving writes into a temporary sibling folder, manifest last, and renames it into place
(:func:`govnlp.storage.atomic_folder`); loading checks the format, version, counts and labels of every
part and builds a new object, so a failed load changes nothing. No pickle anywhere.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from govnlp.embedders.base import Embedder, check_fingerprint
from govnlp.errors import FormatError
from govnlp.index import index_params, load_index
from govnlp.lexical import load_lexical

if TYPE_CHECKING:  # pragma: no cover
    from govnlp.search import SearchIndex

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "embedder_entry",
    "read_search_index",
    "resolve_embedder",
    "write_search_index",
]

logger = logging.getLogger(__name__)

FORMAT = "govnlp.search_index"
FORMAT_VERSION = 1


def resolve_embedder(spec: Embedder | str | None) -> Embedder:
    """An Embedder as is; a spec (or None, the default model) through :func:`govnlp.load_embedder`."""
    if isinstance(spec, Embedder) and not isinstance(spec, str):
        return spec
    from govnlp.embedders import load_embedder

    return load_embedder(spec)


def embedder_entry(index: SearchIndex) -> dict[str, Any]:
    """The manifest entry naming the index's embedder (resolving it if it was never used)."""
    if index._embedder is not None:
        emb = index._embedder
        entry = {"name": emb.name, "dim": int(emb.dim), "fingerprint": emb.fingerprint()}
    elif index._expected is not None:
        entry = {k: index._expected[k] for k in ("name", "dim", "fingerprint")}
    else:  # never used: resolve it now so that the manifest names it
        emb = index.embedder
        entry = {"name": emb.name, "dim": int(emb.dim), "fingerprint": emb.fingerprint()}
    return {**entry, "spec": index._embedder_spec, "reloadable": index._reloadable}


def write_search_index(index: SearchIndex, path: str | Path) -> Path:
    """Write ``index`` into the folder ``path`` (see the module docstring)."""
    from govnlp.storage import atomic_folder, write_jsonl, write_manifest

    emb_entry = embedder_entry(index)
    with atomic_folder(path) as tmp:
        files: list[str] = []
        if index._vectors is not None:
            files += index._vectors.save(tmp)
        index._lexical.save(tmp / "lexical")
        ids = list(index._records)
        (tmp / "ids.json").write_text(
            json.dumps({"ids": ids, "labels": [index._label[i] for i in ids]}, ensure_ascii=False),
            encoding="utf-8",
        )
        write_jsonl(tmp / "records.jsonl", index._records.values())
        write_manifest(
            tmp,
            FORMAT,
            FORMAT_VERSION,
            embedder=emb_entry,
            counts={
                "records": len(index._records),
                "vectors": len(index._vectors) if index._vectors is not None else 0,
                "lexical": len(index._lexical),
            },
            index=index_params(index._vectors) if index._vectors is not None else None,
            index_type=index.index_type,
            fusion=index.fusion,
            lexical=index._lexical.describe(),
            cleaning={"clean": index.clean, "cleaner": index._cleaner_name},
            next_label=index._next_label,
            batch_size=index.batch_size,
            files=[*files, "ids.json", "records.jsonl", "lexical/"],
        )
    return Path(path)


def read_search_index(
    cls: type[SearchIndex], path: str | Path, embedder: Embedder | str | None = None
) -> SearchIndex:
    """Read a folder written by :func:`write_search_index` into a new ``cls`` object."""
    from govnlp.storage import read_jsonl, read_manifest

    folder = Path(path)
    m = read_manifest(folder, FORMAT, FORMAT_VERSION)
    try:
        emb_entry, counts = m["embedder"], m["counts"]
        lex, fusion, cleaning = m["lexical"], m["fusion"], m["cleaning"]
        n_rec = int(counts["records"])
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"{folder}/manifest.json lacks {exc}; save the index again.") from exc
    emb_obj: Embedder | None = None
    if embedder is not None:
        emb_obj = resolve_embedder(embedder)
        check_fingerprint(
            emb_entry["name"], emb_entry["fingerprint"], emb_obj, what=f"the search index {folder}"
        )
    elif not emb_entry.get("reloadable", True):
        logger.warning(
            "the index %s was built with an embedder object (%s) that cannot be reloaded by name; "
            "pass embedder= to load() before a dense or hybrid search",
            folder,
            emb_entry["name"],
        )
    index = cls(
        emb_obj if emb_obj is not None else emb_entry.get("spec"),
        index_type=m.get("index_type", "auto"),
        tokenizer=lex["tokenizer"],
        lexical=lex.get("kind", "bm25"),  # indexes saved before lexical kinds existed are BM25
        fusion=fusion,
        clean=bool(cleaning["clean"]),
        bm25_k1=lex["k1"],
        bm25_b=lex["b"],
        batch_size=int(m.get("batch_size", 32)),
    )
    index._expected = emb_entry
    index._embedder_spec = emb_entry.get("spec")  # kept for the next save, whatever embedder= was given
    index._reloadable = bool(emb_entry.get("reloadable", True))
    index._cleaner_name = cleaning.get("cleaner", "none")

    try:
        ids_doc = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
        ids, labels = list(ids_doc["ids"]), [int(x) for x in ids_doc["labels"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FormatError(f"cannot read {folder}/ids.json ({exc}); save the index again.") from exc
    try:
        records = read_jsonl(folder / "records.jsonl")
    except OSError as exc:
        raise FormatError(f"cannot read {folder}/records.jsonl ({exc}); save the index again.") from exc
    lexical = load_lexical(folder / "lexical", tokenizer=lex["tokenizer"])
    if lexical.kind != lex.get("kind", "bm25"):
        raise FormatError(
            f"{folder}: the manifest records a {lex.get('kind', 'bm25')!r} lexical index but lexical/ holds a "
            f"{lexical.kind!r} one; save the index again."
        )
    vectors = load_index(folder, int(emb_entry["dim"]), m["index"]) if m.get("index") else None
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
    index._vectors = vectors
    index._lexical = lexical
    index._records = {r["id"]: r for r in records}
    index._label = dict(zip(ids, labels, strict=True))
    index._id = dict(zip(labels, ids, strict=True))
    index._next_label = int(m.get("next_label", max(labels, default=-1) + 1))
    for r in records:
        index._fields.update(k for k in r if k not in ("text", "index_text"))
    return index
