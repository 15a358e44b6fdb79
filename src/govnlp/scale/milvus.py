"""Milvus as a search backend: the records of a :class:`~govnlp.search.SearchIndex` in a Milvus collection.

:class:`MilvusIndex` keeps govnlp's records in one collection:

- ``id``: govnlp's stable record id (VARCHAR primary key), so upsert and delete use the same ids;
- ``dense``: the L2-normalised vector (inner product, the same scores as the faiss backend);
- ``text`` and ``index_text`` (the cleaned text); ``index_text`` goes through a BM25 function with the
  jieba Chinese analyzer into the sparse field ``sparse`` (Milvus 2.5+; Milvus Lite has it too);
- one scalar field per record field (VARCHAR, INT64, DOUBLE, BOOL, ARRAY<VARCHAR>), typed from the records
  the collection was made with, which filters use; the whole record as JSON (``record``), which hits return.

``search`` takes the same arguments as ``SearchIndex.search`` and returns the same :class:`Hit` objects.
Filters become Milvus boolean expressions (:mod:`govnlp.scale.milvus_filters`) that Milvus applies before
ranking; a filter with no exact translation raises, it is never dropped. Hybrid mode fuses the dense
and the BM25 lists with govnlp's fusion (:func:`govnlp.search.fuse_runs`); Milvus's BM25 (jieba words)
scores differ from govnlp's own lexical index (character bigrams by default), so hybrid and lexical
rankings can differ from ``SearchIndex``'s; dense rankings match (overlap checked by the tests).

``uri`` is a local ``.db`` path (Milvus Lite, a pure-Python engine: for tests and small sets) or a server
``http://host:19530`` (Milvus Standalone/Distributed; see ``docs/milvus/docker-compose.yml``). The code
path is the same.

The collection's govnlp settings (embedder name, dimension and fingerprint, field kinds, cleaning,
fusion) are kept as JSON in the collection property ``govnlp.meta``, so a collection opened again refuses another
embedder, like a saved index does.

Example:
    >>> from govnlp import SearchIndex
    >>> from govnlp.scale import MilvusIndex
    >>> index = SearchIndex.load("replies.index")
    >>> mil = MilvusIndex.from_search_index(index, "replies.db")       # or uri="http://host:19530"
    >>> mil.search("老旧小区加装电梯", k=5, filters={"year": {"gte": 2020}})
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from govnlp.documents import ReplyDocument
from govnlp.embedders.base import Embedder, check_fingerprint
from govnlp.errors import ConfigError, FormatError, missing_extra
from govnlp.scale._compat import build_records
from govnlp.scale.encode import index_text
from govnlp.scale.milvus_filters import FilterTranslationError, milvus_filter
from govnlp.search import (
    CANDIDATE_DEPTH_FACTOR,
    DEFAULT_CLEAN,
    DEFAULT_MODE,
    MODES,
    Hit,
    fuse_runs,
    fusion_config,
)

__all__ = ["DEFAULT_ANALYZER", "FORMAT", "FilterTranslationError", "MilvusIndex", "infer_field_kinds"]

logger = logging.getLogger(__name__)

FORMAT = "govnlp.milvus_collection"
FORMAT_VERSION = 1
#: The analyzer of ``index_text`` for BM25: jieba words (Milvus Lite and Milvus 2.5+ servers).
DEFAULT_ANALYZER: dict[str, Any] = {"tokenizer": "jieba"}
#: Dense index types and their build parameters.
DENSE_INDEXES: dict[str, dict[str, Any]] = {
    "HNSW": {"M": 16, "efConstruction": 200},
    "IVF_FLAT": {"nlist": 1024},
    "FLAT": {},
    "AUTOINDEX": {},
}
MAX_VARCHAR = 65_535
_INSERT_BATCH = 2_000
# fields whose kind is known when every value in the first records is null
_DEFAULT_KINDS = {"year": "int", "co_agencies": "str_list", "figures": "json"}
_META_KEY = "govnlp.meta"  # the collection property holding govnlp's settings (JSON)
_RESERVED = ("id", "text", "index_text", "dense", "sparse", "record")


def _pymilvus() -> Any:
    try:
        import pymilvus
    except ImportError as exc:
        raise missing_extra("pymilvus", "scale", "the Milvus backend") from exc
    return pymilvus


def _kind_of(values: list[Any]) -> str:
    vals = [v for v in values if v is not None]
    if not vals:
        return "none"
    if all(isinstance(v, bool) for v in vals):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
        return "int"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
        return "float"
    if all(isinstance(v, str) for v in vals):
        return "str"
    if all(isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v) for v in vals):
        return "str_list"
    return "json"


def infer_field_kinds(records: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Field name -> kind (see :mod:`govnlp.scale.milvus_filters`) for the metadata of ``records``."""
    names: dict[str, None] = {}
    for r in records:
        for key in r:
            if key not in ("text", "index_text"):
                names.setdefault(key)
    kinds: dict[str, str] = {}
    for name in names:
        kind = _kind_of([r.get(name) for r in records])
        if kind == "none":
            kind = _DEFAULT_KINDS.get(name, "str")
        kinds[name] = kind
    kinds["id"] = "str"
    return kinds


def _fits(kind: str, v: Any) -> bool:
    if v is None:
        return True
    if kind == "str":
        return isinstance(v, str)
    if kind == "int":
        return isinstance(v, int) and not isinstance(v, bool)
    if kind == "float":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if kind == "bool":
        return isinstance(v, bool)
    if kind == "str_list":
        return isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v)
    return True


class MilvusIndex:
    """Search a Milvus collection of govnlp records with ``SearchIndex``'s calls and hits.

    Args:
        uri: a local ``.db`` path (Milvus Lite) or ``http://host:19530`` (a Milvus server).
        collection: the collection name.
        embedder: an Embedder, a spec for :func:`govnlp.load_embedder`, or None (the one the collection
            records; the default model for a new collection). Checked against the collection's fingerprint.
        token: the server token (``"user:password"``), if the server needs one.
        index_type: the dense index: ``"HNSW"`` (default), ``"IVF_FLAT"``, ``"FLAT"`` (exact), ``"AUTOINDEX"``.
        index_params: build parameters of the dense index (default :data:`DENSE_INDEXES`).
        search_params: dense search parameters (default: HNSW ``ef`` = max(64, depth); IVF ``nprobe`` 32).
        analyzer: the Milvus analyzer of ``index_text`` for BM25 (None: no BM25 field; lexical and
            hybrid search then raise).
        clean: embed and analyse ``clean_for_index(text)``, as ``SearchIndex`` does.
        fusion: hybrid fusion, as for ``SearchIndex`` (None: govnlp's default).
        batch_size: encoding batch size.
    """

    def __init__(
        self,
        uri: str,
        collection: str = "govnlp",
        embedder: Embedder | str | None = None,
        *,
        token: str = "",
        index_type: str = "HNSW",
        index_params: Mapping[str, Any] | None = None,
        search_params: Mapping[str, Any] | None = None,
        analyzer: Mapping[str, Any] | None = DEFAULT_ANALYZER,
        clean: bool = DEFAULT_CLEAN,
        fusion: Any = None,
        batch_size: int = 32,
    ) -> None:
        if index_type not in DENSE_INDEXES:
            raise ConfigError(f"index_type must be one of {sorted(DENSE_INDEXES)}, got {index_type!r}")
        self.uri = str(uri)
        self.collection = collection
        self.index_type = index_type
        self.index_params = dict(index_params if index_params is not None else DENSE_INDEXES[index_type])
        self.search_params = dict(search_params) if search_params is not None else None
        self.analyzer = dict(analyzer) if analyzer is not None else None
        self.clean = bool(clean)
        self.fusion = fusion_config(fusion)
        self.batch_size = int(batch_size)
        self._embedder: Embedder | None = None
        self._spec: str | None = None
        if isinstance(embedder, str) or embedder is None:
            self._spec = embedder
        else:
            self._embedder = embedder
            self._spec = getattr(embedder, "spec", None)
        self._client = _pymilvus().MilvusClient(uri=self.uri, token=token)
        self._meta: dict[str, Any] | None = self._read_meta()
        if self._meta is not None:
            self.clean = bool(self._meta["clean"])
            self.analyzer = self._meta.get("analyzer")
            self.fusion = fusion_config(fusion if fusion is not None else self._meta.get("fusion"))
            if self._spec is None and self._embedder is None:
                self._spec = self._meta["embedder"].get("spec")
            if self._embedder is None and embedder is not None:
                from govnlp.embedders import load_embedder

                self._embedder = load_embedder(embedder)
            if self._embedder is not None:
                self._check(self._embedder)  # an embedder given explicitly is checked at once

    # -- the collection -----------------------------------------------------------------------------
    def _read_meta(self) -> dict[str, Any] | None:
        if not self._client.has_collection(self.collection):
            return None
        props = self._client.describe_collection(self.collection).get("properties") or {}
        try:
            meta = json.loads(props.get(_META_KEY) or "")
        except ValueError:
            meta = None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise FormatError(
                f"the Milvus collection {self.collection!r} at {self.uri} was not made by govnlp (its properties "
                f"hold no {_META_KEY!r}); use another collection name"
            )
        if int(meta.get("format_version", 0)) > FORMAT_VERSION:
            raise FormatError(
                f"the Milvus collection {self.collection!r} was made by a newer govnlp (format version "
                f"{meta.get('format_version')}); upgrade govnlp"
            )
        self._client.load_collection(self.collection)
        return meta

    @property
    def fields(self) -> list[str]:
        """The record fields that filters may name."""
        return sorted((self._meta or {}).get("fields", {"id": "str"}))

    def _check(self, emb: Embedder) -> None:
        if self._meta is not None:
            e = self._meta["embedder"]
            check_fingerprint(
                e["name"], e["fingerprint"], emb, what=f"the Milvus collection {self.collection!r}"
            )

    @property
    def embedder(self) -> Embedder:
        """The embedder (loaded on first use, checked against the collection's fingerprint)."""
        if self._embedder is None:
            from govnlp.embedders import load_embedder

            emb = load_embedder(self._spec)
            self._check(emb)
            self._embedder = emb
        return self._embedder

    def _create(self, entry: dict[str, Any], kinds: dict[str, str]) -> None:
        pm = _pymilvus()
        dt = pm.DataType
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "embedder": entry,
            "fields": {
                n: (k if n in _RESERVED or (n.isascii() and n.isidentifier()) else "json")
                for n, k in kinds.items()
            },
            "clean": self.clean,
            "analyzer": self.analyzer,
            "fusion": self.fusion,
        }
        schema = pm.MilvusClient.create_schema(
            auto_id=False,
            enable_dynamic_field=False,
        )
        schema.add_field("id", dt.VARCHAR, is_primary=True, max_length=1024)
        schema.add_field("dense", dt.FLOAT_VECTOR, dim=int(entry["dim"]))
        schema.add_field("text", dt.VARCHAR, max_length=MAX_VARCHAR)
        if self.analyzer is not None:
            schema.add_field(
                "index_text",
                dt.VARCHAR,
                max_length=MAX_VARCHAR,
                enable_analyzer=True,
                analyzer_params=dict(self.analyzer),
            )
            schema.add_field("sparse", dt.SPARSE_FLOAT_VECTOR)
            schema.add_function(
                pm.Function(
                    name="bm25",
                    function_type=pm.FunctionType.BM25,
                    input_field_names=["index_text"],
                    output_field_names=["sparse"],
                )
            )
        else:
            schema.add_field("index_text", dt.VARCHAR, max_length=MAX_VARCHAR)
        schema.add_field("record", dt.JSON)
        scalar = {"str": dt.VARCHAR, "int": dt.INT64, "float": dt.DOUBLE, "bool": dt.BOOL}
        for name, kind in kinds.items():
            if name in _RESERVED or kind == "json" or not name.isascii() or not name.isidentifier():
                continue
            if kind == "str_list":
                schema.add_field(
                    name,
                    dt.ARRAY,
                    element_type=dt.VARCHAR,
                    max_capacity=1024,
                    max_length=4096,
                    nullable=True,
                )
            elif kind == "str":
                schema.add_field(name, dt.VARCHAR, max_length=MAX_VARCHAR, nullable=True)
            else:
                schema.add_field(name, scalar[kind], nullable=True)
        params = self._client.prepare_index_params()
        params.add_index(
            field_name="dense", index_type=self.index_type, metric_type="IP", params=self.index_params
        )
        if self.analyzer is not None:
            params.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        self._client.create_collection(self.collection, schema=schema, consistency_level="Strong")
        # sync=False: the index is registered at once and built by the server; waiting here would ask
        # for AllocTimestamp, which Milvus Lite does not implement (it logs an error, then carries on)
        self._client.create_index(self.collection, params, sync=False)
        self._client.load_collection(self.collection)
        self._client.alter_collection_properties(
            self.collection, properties={_META_KEY: json.dumps(meta, ensure_ascii=False, sort_keys=True)}
        )
        self._meta = meta

    def drop(self) -> None:
        """Drop the collection (all its records)."""
        if self._client.has_collection(self.collection):
            self._client.drop_collection(self.collection)
        self._meta = None

    def close(self) -> None:
        """Close the connection."""
        self._client.close()

    def flush(self) -> None:
        """Seal the inserted rows into indexed segments (Milvus builds the dense index on flush)."""
        if self._meta is not None:
            self._client.flush(self.collection)

    # -- construction -------------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        items: Iterable[ReplyDocument | dict[str, Any]],
        uri: str,
        collection: str = "govnlp",
        *,
        embedder: Embedder | str | None = None,
        text_field: str = "text",
        id_field: str = "id",
        overwrite: bool = False,
        **options: Any,
    ) -> MilvusIndex:
        """A new collection of ``items`` (ReplyDocuments and/or dict records); ``options`` go to the constructor.

        Raises:
            ConfigError: the collection exists and ``overwrite`` is False.
        """
        index = cls._fresh(uri, collection, embedder, overwrite, options)
        index.add(items, text_field=text_field, id_field=id_field)
        return index

    @classmethod
    def _fresh(
        cls, uri: str, collection: str, embedder: Any, overwrite: bool, options: dict[str, Any]
    ) -> MilvusIndex:
        pm = _pymilvus()
        client = pm.MilvusClient(uri=str(uri), token=options.get("token", ""))
        if client.has_collection(collection):
            if not overwrite:
                raise ConfigError(
                    f"the Milvus collection {collection!r} already exists at {uri}; pass overwrite=True to "
                    "replace it, or open it with MilvusIndex(uri, collection) to add to it"
                )
            client.drop_collection(collection)
        return cls(uri, collection, embedder, **options)

    @classmethod
    def from_search_index(
        cls, index: Any, uri: str, collection: str = "govnlp", *, overwrite: bool = False, **options: Any
    ) -> MilvusIndex:
        """A collection of the records and vectors of a :class:`~govnlp.search.SearchIndex` (no re-encoding).

        The saved index folder stays the source of truth: the collection can be rebuilt from it at any time.
        """
        state = index.state()
        entry = {k: state.embedder[k] for k in ("name", "dim", "fingerprint")}
        entry["spec"] = state.embedder.get("spec")
        options.setdefault("clean", state.clean)
        options.setdefault("fusion", state.fusion)
        mil = cls._fresh(uri, collection, options.pop("embedder", None) or entry["spec"], overwrite, options)
        records = list(state.records.values())
        if records:
            labels = np.array([state.labels[r["id"]] for r in records], dtype=np.int64)
            vectors = state.vectors.reconstruct(labels)
            mil.add_vectors(records, vectors, entry)
        return mil

    @classmethod
    def from_encoded(
        cls, encoded: Any, uri: str, collection: str = "govnlp", *, overwrite: bool = False, **options: Any
    ) -> MilvusIndex:
        """A collection of an :class:`~govnlp.scale.encode.EncodedDataset` (the vectors Ray computed)."""
        entry = encoded.embedder_entry
        options.setdefault("clean", bool(encoded.manifest["clean"]))
        mil = cls._fresh(
            uri, collection, options.pop("embedder", None) or entry.get("spec"), overwrite, options
        )
        records = encoded.records()
        for r, t in zip(records, encoded.index_texts(), strict=True):
            r["index_text"] = t
        mil.add_vectors(records, encoded.vectors(), entry)
        return mil

    # -- records ------------------------------------------------------------------------------------
    def __len__(self) -> int:
        if self._meta is None:
            return 0
        rows = self._client.query(self.collection, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def _existing(self, ids: list[str]) -> set[str]:
        if self._meta is None or not ids:
            return set()
        found: set[str] = set()
        for a in range(0, len(ids), 1000):
            rows = self._client.get(self.collection, ids=ids[a : a + 1000], output_fields=["id"])
            found.update(str(r["id"]) for r in rows)
        return found

    def __contains__(self, rid: object) -> bool:
        return isinstance(rid, str) and rid in self._existing([rid])

    def get(self, rid: str) -> dict[str, Any]:
        """A copy of the record ``rid``. Raises KeyError naming the id."""
        rows = self._records([rid])
        if rid not in rows:
            raise KeyError(f"no record with id {rid!r} in the Milvus collection {self.collection!r}")
        return rows[rid]

    def _records(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        if self._meta is None or not ids:
            return {}
        out: dict[str, dict[str, Any]] = {}
        for a in range(0, len(ids), 1000):
            rows = self._client.get(
                self.collection, ids=ids[a : a + 1000], output_fields=["record", "text", "index_text"]
            )
            for r in rows:
                rec = dict(r["record"])
                rec.update(id=str(r["id"]), text=r["text"], index_text=r["index_text"])
                out[str(r["id"])] = rec
        return out

    def add(
        self,
        items: Iterable[ReplyDocument | dict[str, Any]],
        *,
        text_field: str = "text",
        id_field: str = "id",
    ) -> list[str]:
        """Add new items; return the ids added.

        Raises:
            ConfigError: an id is already in the collection or repeats among the items (use :meth:`upsert`).
        """
        records = build_records(items, text_field=text_field, id_field=id_field)
        ids = [r["id"] for r in records]
        dup = sorted({i for i in ids if ids.count(i) > 1} | self._existing(ids)) if len(ids) < 5000 else None
        if dup is None:
            seen: set[str] = set()
            rep = {i for i in ids if i in seen or seen.add(i)}  # type: ignore[func-returns-value]
            dup = sorted(rep | self._existing(ids))
        if dup:
            raise ConfigError(
                f"{len(dup)} record id(s) already in the collection or repeated: {dup[:10]}; use upsert() to "
                "replace records, or give the records distinct ids (id_field=)."
            )
        self._encode_insert(records)
        return ids

    def _entry(self) -> dict[str, Any]:
        emb = self.embedder
        return {
            "name": emb.name,
            "dim": int(emb.dim),
            "fingerprint": emb.fingerprint(),
            "spec": self._spec if self._spec is not None else getattr(emb, "spec", None),
        }

    def _encode_insert(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        for r in records:
            r["index_text"] = index_text(r["text"], self.clean)
        vecs = self.embedder.encode(
            [r["index_text"] for r in records], kind="passage", batch_size=self.batch_size
        )
        self.add_vectors(records, np.asarray(vecs, dtype=np.float32), self._entry())

    def add_vectors(
        self, records: list[dict[str, Any]], vectors: np.ndarray, embedder: dict[str, Any]
    ) -> None:
        """Insert records with vectors computed elsewhere (e.g. by :func:`~govnlp.scale.encode_dataset`).

        Args:
            records: dict records with ``id`` and ``text`` (``index_text`` is computed when absent).
            vectors: float32 ``(len(records), dim)``, L2-normalised.
            embedder: ``{"name", "dim", "fingerprint", "spec"}`` of the embedder that made them; a
                collection refuses vectors of another fingerprint.
        """
        entry = embedder
        if vectors.shape != (len(records), int(entry["dim"])):
            raise ConfigError(
                f"expected vectors of shape {(len(records), entry['dim'])}, got {vectors.shape}"
            )
        for r in records:
            if "index_text" not in r:
                r["index_text"] = index_text(r["text"], self.clean)
        if self._meta is None:
            self._create(entry, infer_field_kinds(records))
        else:
            e = self._meta["embedder"]
            if e["fingerprint"] != entry["fingerprint"]:
                from govnlp.errors import EmbedderMismatchError

                raise EmbedderMismatchError(
                    f"the Milvus collection {self.collection!r} holds vectors of {e['name']!r}, these come from "
                    f"{entry['name']!r}; vectors of two models cannot be mixed. Use another collection."
                )
        assert self._meta is not None
        kinds: dict[str, str] = self._meta["fields"]
        new_fields: set[str] = set()
        rows = []
        for r, v in zip(records, vectors, strict=True):
            row: dict[str, Any] = {
                "id": r["id"],
                "dense": v.tolist(),
                "text": r["text"],
                "index_text": r["index_text"],
                "record": {k: x for k, x in r.items() if k not in ("id", "text", "index_text")},
            }
            for key in ("text", "index_text"):
                if len(row[key].encode("utf-8")) > MAX_VARCHAR:
                    raise ConfigError(
                        f"record {r['id']!r}: its {key} is longer than Milvus's VARCHAR limit of {MAX_VARCHAR} "
                        "bytes; split the text into paragraphs (reply files are indexed per measure/paragraph)"
                    )
            for k, x in r.items():
                if k in _RESERVED:
                    continue
                kind = kinds.get(k)
                if kind is None:
                    new_fields.add(k)
                    continue
                if kind == "json" or not (k.isascii() and k.isidentifier()):
                    continue
                if not _fits(kind, x):
                    raise ConfigError(
                        f"record {r['id']!r}: field {k!r} holds {x!r} but the Milvus collection stores it as "
                        f"{kind}; give the field one type in every record"
                    )
                row[k] = list(x) if kind == "str_list" and x is not None else x
            rows.append(row)
        if new_fields:
            logger.warning(
                "fields %s are not in the Milvus collection schema: they are stored in the record but cannot be "
                "filtered",
                sorted(new_fields),
            )
        for a in range(0, len(rows), _INSERT_BATCH):
            self._client.insert(self.collection, rows[a : a + _INSERT_BATCH])

    def delete(self, ids: Iterable[str], *, missing: str = "raise") -> int:
        """Remove records by id; return how many were removed (``missing`` as in ``SearchIndex.delete``)."""
        if isinstance(ids, str):
            raise TypeError("delete() expects a list of ids, got a single str; wrap it: delete([id])")
        if missing not in ("raise", "ignore"):
            raise ConfigError(f"missing must be 'raise' or 'ignore', got {missing!r}")
        ids = list(dict.fromkeys(ids))
        known = self._existing(ids)
        unknown = [i for i in ids if i not in known]
        if unknown and missing == "raise":
            raise ConfigError(
                f"{len(unknown)} id(s) not in the collection: {unknown[:10]}; nothing was deleted. "
                "Pass missing='ignore' to skip unknown ids."
            )
        todo = [i for i in ids if i in known]
        for a in range(0, len(todo), 1000):
            self._client.delete(self.collection, ids=todo[a : a + 1000])
        return len(todo)

    def upsert(
        self,
        items: Iterable[ReplyDocument | dict[str, Any]],
        *,
        text_field: str = "text",
        id_field: str = "id",
    ) -> list[str]:
        """Add items, replacing records with the same id (a ReplyDocument replaces all records of its
        ``doc_id``, as in ``SearchIndex.upsert``); return the ids written."""
        items = list(items)
        records = list(
            {r["id"]: r for r in build_records(items, text_field=text_field, id_field=id_field)}.values()
        )
        doc_ids = sorted({d.id for d in items if isinstance(d, ReplyDocument)})
        stale = set(self._existing([r["id"] for r in records]))
        if doc_ids and self._meta is not None and self._meta["fields"].get("doc_id") == "str":
            expr = milvus_filter({"doc_id": doc_ids}, self._meta["fields"])
            rows = self._client.query(self.collection, filter=expr, output_fields=["id", "record"])
            stale.update(str(r["id"]) for r in rows if (r.get("record") or {}).get("unit"))
        self.delete(sorted(stale), missing="ignore")
        self._encode_insert(records)
        return [r["id"] for r in records]

    # -- search -------------------------------------------------------------------------------------
    def search(
        self, query: str, *, k: int = 10, mode: str = DEFAULT_MODE, filters: Mapping[str, Any] | None = None
    ) -> list[Hit]:
        """The ``k`` best records for ``query``, as ``SearchIndex.search``."""
        if not isinstance(query, str):
            raise TypeError(
                f"search() expects one query str, got {type(query).__name__}; use search_batch() for lists"
            )
        return self.search_batch([query], k=k, mode=mode, filters=filters)[0]

    def _dense_params(self, depth: int) -> dict[str, Any]:
        if self.search_params is not None:
            return dict(self.search_params)
        if self.index_type == "HNSW":
            return {"ef": max(64, depth)}
        if self.index_type == "IVF_FLAT":
            return {"nprobe": 32}
        return {}

    def search_batch(
        self,
        queries: Sequence[str],
        *,
        k: int = 10,
        mode: str = DEFAULT_MODE,
        filters: Mapping[str, Any] | None = None,
    ) -> list[list[Hit]]:
        """:meth:`search` for many queries (encoded in one batch with ``kind="query"``)."""
        if isinstance(queries, str):
            raise TypeError("search_batch() expects a list of queries, got a single str; use search()")
        queries = list(queries)
        if mode not in MODES:
            raise ConfigError(f"mode must be one of {MODES}, got {mode!r}")
        if not isinstance(k, int) or isinstance(k, bool) or k <= 0:
            raise ConfigError(f"k must be a positive int, got {k!r}")
        if mode != "dense" and self.analyzer is None:
            raise ConfigError(
                f"mode {mode!r} needs the BM25 field; this collection was made with analyzer=None"
            )
        if self._meta is None:
            milvus_filter(filters, {"id": "str"})  # still refuse bad filters
            return [[] for _ in queries]
        expr = milvus_filter(filters, self._meta["fields"])
        if not queries:
            return []
        depth = k if mode != "hybrid" else max(k * CANDIDATE_DEPTH_FACTOR, int(self.fusion["depth"]))
        qvecs = None
        dense: list[dict[str, float]] = []
        lexical: list[dict[str, float]] = []
        if mode in ("dense", "hybrid"):
            qvecs = np.asarray(
                self.embedder.encode(queries, kind="query", batch_size=self.batch_size), dtype=np.float32
            )
            res = self._client.search(
                self.collection,
                data=qvecs.tolist(),
                anns_field="dense",
                limit=depth,
                filter=expr,
                search_params={"metric_type": "IP", "params": self._dense_params(depth)},
                output_fields=["id"],
            )
            dense = [{str(h["id"]): float(h["distance"]) for h in hits} for hits in res]
        if mode in ("lexical", "hybrid"):
            lexical = self._bm25(queries, depth, expr)
        if mode == "dense":
            return [self._hits(run, k, "dense") for run in dense]
        if mode == "lexical":
            return [self._hits(run, k, "lexical") for run in lexical]
        assert qvecs is not None
        return [
            self._fuse(q, qv, d, lx, k) for q, qv, d, lx in zip(queries, qvecs, dense, lexical, strict=True)
        ]

    def _bm25(self, queries: list[str], limit: int, expr: str) -> list[dict[str, float]]:
        res = self._client.search(
            self.collection,
            data=queries,
            anns_field="sparse",
            limit=limit,
            filter=expr,
            search_params={"metric_type": "BM25"},
            output_fields=["id"],
        )
        # BM25 scores are >= 0; Milvus Lite reports them negated (as distances), servers as scores
        return [{str(h["id"]): abs(float(h["distance"])) for h in hits} for hits in res]

    def _hits(self, run: dict[str, float], k: int, which: str) -> list[Hit]:
        top = sorted(run.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        recs = self._records([rid for rid, _ in top])
        return [
            Hit(
                id=rid,
                score=s,
                rank=j + 1,
                record=recs[rid],
                dense_score=s if which == "dense" else None,
                lexical_score=s if which == "lexical" else None,
            )
            for j, (rid, s) in enumerate(top)
            if rid in recs
        ]

    def _fuse(
        self, query: str, qvec: np.ndarray, dense: dict[str, float], lexical: dict[str, float], k: int
    ) -> list[Hit]:
        top = fuse_runs(dense, lexical, self.fusion)[:k]
        ids = [rid for rid, _ in top]
        need_dense = [i for i in ids if i not in dense]
        need_lex = [i for i in ids if i not in lexical]
        dscore = dict(dense)
        if need_dense:
            rows = self._client.get(self.collection, ids=need_dense, output_fields=["dense"])
            for r in rows:
                dscore[str(r["id"])] = float(np.asarray(r["dense"], dtype=np.float32) @ qvec)
        lscore = dict(lexical)
        if need_lex:
            expr = milvus_filter({"id": need_lex}, {"id": "str"})
            lscore.update(self._bm25([query], len(need_lex), expr)[0])
        recs = self._records(ids)
        return [
            Hit(
                id=rid,
                score=float(fs),
                rank=j + 1,
                record=recs[rid],
                dense_score=dscore.get(rid),
                lexical_score=lscore.get(rid, 0.0),
            )
            for j, (rid, fs) in enumerate(top)
            if rid in recs
        ]

    def __repr__(self) -> str:
        name = (self._meta or {}).get("embedder", {}).get("name", self._spec)
        return f"MilvusIndex(uri={self.uri!r}, collection={self.collection!r}, embedder={name!r})"
