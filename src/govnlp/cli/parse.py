"""``govnlp parse PATH... [--format json|jsonl]``: print replies in the JSON interchange format."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from govnlp.errors import ParseError

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "parse",
        help="parse replies (.txt/.html/.docx/.pdf, or - for stdin) into the JSON interchange format",
        description="Parse government replies and print ReplyDocument.to_dict() as JSON.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="reply files, or - to read the text from stdin")
    p.add_argument(
        "--format",
        choices=("json", "jsonl"),
        default="json",
        help="json: one object (a list for several paths); jsonl: one object per line",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from govnlp.parsing import parse_reply
    from govnlp.parsing.reader import decode_bytes

    docs = []
    for raw in args.paths:
        if raw == "-":
            # bytes, decoded like a file (UTF-8, UTF-16 with a BOM, GB18030 or Big5), not by the locale
            stream = getattr(sys.stdin, "buffer", None)
            text = decode_bytes(stream.read(), "stdin") if stream is not None else sys.stdin.read()
            docs.append(parse_reply(text, as_text=True).to_dict())
            continue
        path = Path(raw)
        if not path.is_file():
            raise ParseError(f"file not found: {raw}. Pass existing reply files, or - to read from stdin.")
        docs.append(parse_reply(path).to_dict())
    if args.format == "jsonl":
        for d in docs:
            sys.stdout.write(json.dumps(d, ensure_ascii=False, sort_keys=True) + "\n")
    else:
        payload = docs[0] if len(docs) == 1 else docs
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    return 0
