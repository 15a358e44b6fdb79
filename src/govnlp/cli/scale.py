"""``govnlp index build ... --engine ray``: parse and embed on Ray, then save the usual index folder.

Kept apart from :mod:`govnlp.cli.index` so that the index command only gains two options. The shards
(:func:`govnlp.scale.encode_dataset`) go to ``--shards`` (default ``OUT.shards``); a crashed build run
again with the same arguments resumes from the shards not yet written.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """The ``--engine``, ``--workers`` and ``--shards`` options of ``govnlp index build``."""
    parser.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: one process (default); ray: parse and embed on Ray Data with an actor pool "
        "(needs pip install 'govnlp[scale]'; starts a local Ray instance unless RAY_ADDRESS is set)",
    )
    parser.add_argument("--workers", type=int, default=2, help="Ray actors, one embedder each (default 2)")
    parser.add_argument(
        "--shards",
        default=None,
        metavar="DIR",
        help="where --engine ray keeps its resumable shards (default: OUT.shards)",
    )


def run_build_ray(args: argparse.Namespace) -> int:
    """Encode the inputs on Ray into shards, build the SearchIndex from them, save it to ``args.out``."""
    from govnlp.scale import encode_dataset

    options: dict[str, Any] = {"batch_size": args.batch_size}
    if args.index_type:
        options["index_type"] = args.index_type
    if args.lexical:
        options["lexical"] = args.lexical
    if args.tokenizer:
        options["tokenizer"] = args.tokenizer
    shards = args.shards or f"{str(args.out).rstrip('/')}.shards"
    encoded = encode_dataset(
        args.inputs,
        shards,
        embedder=args.embedder,
        engine="ray",
        text_field=args.text_field,
        id_field=args.id_field,
        **({} if args.clean is None else {"clean": args.clean}),
        batch_size=args.batch_size,
        concurrency=args.workers,
    )
    index = encoded.to_search_index(**options)
    index.save(args.out)
    written = len(encoded.shards_written)
    print(
        f"indexed {len(index)} records into {args.out} (Ray, {args.workers} workers; "
        f"{written} of {encoded.manifest['shards']} shards computed this run, kept in {shards})"
    )
    return 0
