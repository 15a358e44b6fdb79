"""``govnlp index build`` and ``govnlp search``: build a search index of past replies and query it.

Examples::

    govnlp index build replies/ --out replies.index
    govnlp index build messages.jsonl --text-field reply --id-field id --out msg.index --embedder hash
    govnlp search replies.index "建议加强对老旧小区物业服务企业的监管" --k 5 --filter "year>=2020" \
        --filter "kind=提案答复|建议答复" --format jsonl
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from govnlp.errors import ConfigError, ParseError
from govnlp.parsing.vocabulary import SUPPORTED_SUFFIXES
from govnlp.pipeline import shorten
from govnlp.search.filters import parse_filter_expressions

logger = logging.getLogger(__name__)

#: File types read as replies by ``govnlp index build``; ``.jsonl`` files are records.
REPLY_SUFFIXES = SUPPORTED_SUFFIXES


def register(sub: Any) -> None:
    """Add the ``index`` (with ``build``) and ``search`` commands."""
    p_index = sub.add_parser(
        "index",
        help="build a search index of past replies",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    isub = p_index.add_subparsers(dest="index_command", required=True, metavar="SUBCOMMAND")
    b = isub.add_parser(
        "build",
        help="index reply files (txt/html/docx/pdf, folders of them) or JSONL records",
        description="Parse reply files and index their measures, problems and body paragraphs, or index the "
        "records of JSONL files (one JSON object per line); save the index folder to --out.",
    )
    b.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="reply files, folders of reply files, or .jsonl files"
    )
    b.add_argument("--out", required=True, help="the index folder to write (replaced atomically)")
    b.add_argument(
        "--embedder",
        default=None,
        help="embedder spec: a model folder, 'hash', 'tfidf', 'use-onnx' … "
        "(default: the default offline model)",
    )
    b.add_argument("--text-field", default="text", help="JSONL field holding the text (default: text)")
    b.add_argument(
        "--id-field",
        default="id",
        help="JSONL field holding the record id (default: id; records without it get a content hash)",
    )
    b.add_argument(
        "--index-type",
        choices=("auto", "exact", "hnsw", "ivf", "numpy"),
        default=None,
        help="vector index (default: auto = exact, IVF past the size threshold)",
    )
    b.add_argument(
        "--lexical",
        choices=("tfidf", "bm25", "bm25+tfidf"),
        default=None,
        help="lexical scorer (default: the library default, tfidf: character 1-3-gram TF-IDF)",
    )
    b.add_argument(
        "--tokenizer",
        choices=("char1-3", "bigram", "bigram-only", "jieba"),
        default=None,
        help="lexical tokenizer (default: the library default of the lexical scorer)",
    )
    clean = b.add_mutually_exclusive_group()
    clean.add_argument(
        "--clean",
        dest="clean",
        action="store_true",
        default=None,
        help="embed texts with salutations, thanks, contact lines and dates stripped",
    )
    clean.add_argument(
        "--no-clean", dest="clean", action="store_false", help="embed the raw texts (the library default)"
    )
    b.add_argument("--batch-size", type=int, default=32)
    from govnlp.cli.scale import add_engine_options  # --engine ray (H-scale, issue 16)

    add_engine_options(b)
    b.set_defaults(func=run_build)

    s = sub.add_parser(
        "search",
        help="search a saved index",
        description="Search a saved index folder. Filters apply before ranking: key=value (equality), "
        "key=a|b (any of), key>=v, key<=v, key>v, key<v (ranges; dates as 2023-01-01).",
    )
    s.add_argument("index", metavar="DIR", help="a folder written by 'govnlp index build'")
    s.add_argument("query", help="the query text")
    s.add_argument("--k", type=int, default=10, help="number of hits (default 10)")
    s.add_argument("--mode", choices=("hybrid", "dense", "lexical"), default="hybrid")
    s.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="metadata filter, repeatable: kind=提案答复|建议答复, year>=2020, lead_agency=市住建局",
    )
    s.add_argument("--embedder", default=None, help="embedder spec (default: the one the index records)")
    s.add_argument("--format", choices=("table", "jsonl"), default="table")
    s.set_defaults(func=run_search)


# -- build -------------------------------------------------------------------------------------------------
def _expand(inputs: list[str]) -> Iterator[Path]:
    for name in inputs:
        path = Path(name)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (*REPLY_SUFFIXES, ".jsonl")
            )
            if not found:
                raise ConfigError(
                    f"{path} holds no reply files ({', '.join(REPLY_SUFFIXES)}) or .jsonl files"
                )
            yield from found
        elif path.is_file():
            yield path
        else:
            raise ConfigError(f"input {name!r} does not exist; give reply files, folders or .jsonl files")


def read_items(inputs: list[str]) -> list[Any]:
    """ReplyDocuments parsed from reply files and dict records read from JSONL files, in input order."""
    from govnlp.storage import read_jsonl

    items: list[Any] = []
    for path in _expand(inputs):
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            items.extend(read_jsonl(path))
        elif suffix in REPLY_SUFFIXES:
            from govnlp.parsing import parse_reply

            items.append(parse_reply(path))
        else:
            raise ParseError(
                f"{path}: unsupported file type {suffix!r}; expected {', '.join(REPLY_SUFFIXES)} or .jsonl"
            )
    return items


def run_build(args: argparse.Namespace) -> int:
    from govnlp.search import SearchIndex

    if getattr(args, "engine", "local") == "ray":
        from govnlp.cli.scale import run_build_ray

        return run_build_ray(args)
    items = read_items(args.inputs)
    options: dict[str, Any] = {"batch_size": args.batch_size}
    if args.clean is not None:
        options["clean"] = args.clean
    if args.index_type:
        options["index_type"] = args.index_type
    if args.lexical:
        options["lexical"] = args.lexical
    if args.tokenizer:
        options["tokenizer"] = args.tokenizer
    index = SearchIndex.build(
        items,
        embedder=args.embedder,
        text_field=args.text_field,
        id_field=args.id_field,
        show_progress_bar=not args.quiet,
        **options,
    )
    index.save(args.out)
    print(f"indexed {len(index)} records from {len(items)} inputs into {args.out}")
    return 0


# -- search ------------------------------------------------------------------------------------------------
#: ``--filter`` strings to a filters dict: the library's parser, shared with the web API.
parse_filters = parse_filter_expressions


def run_search(args: argparse.Namespace) -> int:
    from govnlp.search import SearchIndex

    index = SearchIndex.load(args.index, embedder=args.embedder)
    hits = index.search(args.query, k=args.k, mode=args.mode, filters=parse_filters(args.filter))
    if args.format == "jsonl":
        for h in hits:
            print(json.dumps(h.to_dict(), ensure_ascii=False, sort_keys=True))
        return 0
    if not hits:
        print("(no hits)")
    for h in hits:
        rec = h.record
        parts = [f"{h.rank:>3}. {h.score:.4f}"]
        if h.dense_score is not None:
            parts.append(f"dense {h.dense_score:.3f}")
        if h.lexical_score is not None:
            parts.append(f"lexical {h.lexical_score:.2f}")
        print("  ".join(parts) + f"  [{h.id}]")
        print("     " + shorten(rec.get("text", ""), 100))
        source = " · ".join(str(rec[k]) for k in ("title", "lead_agency", "date", "unit") if rec.get(k))
        if source:
            print("     " + shorten(source, 100))
    return 0
