"""``govnlp match``: a new proposal's problems matched to similar past measures (the main job)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from govnlp.cli.index import parse_filters
from govnlp.errors import ConfigError


def register(sub: Any) -> None:
    p = sub.add_parser(
        "match",
        help="match a new proposal or message to similar past measures",
        description=(
            "Parse a proposal/suggestion/message into its problems and suggestions, search each against an "
            "index of past replies, and print the most similar past measures with their source and the "
            "predicted categories. Without --index, a demo index over the sample replies shipped with "
            "govnlp is built on first use (default offline model) and cached."
        ),
    )
    p.add_argument("text", nargs="?", help="the proposal text; '-' or omitted with --file reads a file/stdin")
    p.add_argument("--file", help="read the proposal from this file")
    p.add_argument("--index", help="a saved pipeline or search index folder (default: the demo index)")
    p.add_argument("--k", type=int, default=5, help="measures per problem (default 5)")
    p.add_argument("--mode", choices=("hybrid", "dense", "lexical"), default="hybrid")
    p.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="metadata filter, repeatable: kind=提案答复|建议答复, year>=2023, lead_agency=市住建局",
    )
    p.add_argument("--embedder", help="embedder spec for the demo index (default: the default model)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=run)


def _read_text(args: argparse.Namespace) -> str:
    if args.file:
        with open(args.file, encoding="utf-8") as fh:
            return fh.read()
    if args.text in (None, "-"):
        if sys.stdin.isatty():
            raise ConfigError(
                'give the proposal text: govnlp match "建议…", --file FILE, or pipe it to stdin'
            )
        return sys.stdin.read()
    return str(args.text)


def run(args: argparse.Namespace) -> int:
    from govnlp.pipeline import Pipeline, demo_pipeline, format_result

    text = _read_text(args)
    show = not args.quiet
    pipe = Pipeline.load(args.index) if args.index else demo_pipeline(args.embedder, show_progress_bar=show)
    result = pipe.match(text, k=args.k, mode=args.mode, filters=parse_filters(args.filter))
    if args.format == "json":
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return 0
    print(format_result(result))
    return 0
