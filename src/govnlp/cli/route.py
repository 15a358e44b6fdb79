"""``govnlp route``: train an agency router, and recommend lead and co-agencies for a proposal.

govnlp route train --data assignments.jsonl --out models/router
govnlp route models/router "关于优化学校周边公交线路的建议" [--k 5] [--format json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from govnlp.errors import ConfigError, FormatError


def register(sub: Any) -> None:
    p = sub.add_parser(
        "route",
        help="recommend the lead agency (主办) and co-agencies (会办) of a proposal; 'route train' learns them",
        description=(
            "govnlp route DIR TEXT: recommend lead and co-agencies with a saved router, with the past "
            "proposals supporting each suggestion. govnlp route train --data FILE.jsonl --out DIR: learn a "
            "router from past assignments (one JSON object per line with the text, lead agency and "
            "co-agencies)."
        ),
        usage='govnlp route DIR "TEXT" [--k K] [--format table|json]\n'
        "       govnlp route train --data FILE.jsonl --out DIR [--text-field title] ...",
    )
    p.add_argument("target", metavar="DIR|train", help="a saved router folder, or 'train'")
    p.add_argument("text", nargs="?", help="the proposal text (or '-' for stdin)")
    p.add_argument("--k", type=int, default=5, help="suggestions of each kind (default 5)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--data", help="train: JSONL of past assignments")
    p.add_argument("--out", help="train: folder to save the router to")
    p.add_argument(
        "--text-field", default="title", help="train: field with the proposal text (default title)"
    )
    p.add_argument(
        "--lead-field", default="lead_agency", help="train: lead agency field (default lead_agency)"
    )
    p.add_argument(
        "--co-field", default="co_agencies", help="train: co-agency list field (default co_agencies)"
    )
    p.add_argument("--id-field", default="id", help="train: id field shown as evidence (default id)")
    p.add_argument("--no-knowledge", action="store_true", help="train: no function-word knowledge")
    p.add_argument(
        "--embedder",
        default="default",
        help="train: embedder for the neighbour vote (default: the default model; 'none': TF-IDF only)",
    )
    p.set_defaults(func=run)


def _train(args: argparse.Namespace) -> int:
    from govnlp.routing import AgencyRouter
    from govnlp.storage import read_jsonl

    if not args.data or not args.out:
        raise ConfigError("route train needs --data FILE.jsonl and --out DIR")
    if args.text is not None:
        raise ConfigError(f"route train takes no text argument (got {args.text!r}); use --data FILE.jsonl")
    path = Path(args.data)
    if not path.is_file():
        raise FormatError(f"{path} does not exist; give a JSONL file of past assignments with --data")
    rows = read_jsonl(path)
    texts, leads, cos, ids = [], [], [], []
    for n, row in enumerate(rows, 1):
        text, lead = row.get(args.text_field), row.get(args.lead_field)
        if not isinstance(text, str) or not text.strip():
            raise FormatError(f"{path} row {n}: no text in field {args.text_field!r} (set --text-field)")
        if not isinstance(lead, str) or not lead.strip():
            raise FormatError(
                f"{path} row {n}: no lead agency in field {args.lead_field!r} (set --lead-field)"
            )
        co = row.get(args.co_field) or []
        if isinstance(co, str):
            co = [a for a in co.replace("，", "、").replace(",", "、").split("、") if a.strip()]
        if not isinstance(co, list):
            raise FormatError(f"{path} row {n}: {args.co_field!r} must be a list of agency names")
        texts.append(text)
        leads.append(lead)
        cos.append([str(a) for a in co])
        ids.append(str(row.get(args.id_field, n)))
    embedder = None if args.embedder.lower() == "none" else args.embedder
    router = AgencyRouter(random_state=0, knowledge=not args.no_knowledge, embedder=embedder)
    router.fit(texts, leads, cos, ids=ids)
    router.save(args.out)
    print(f"trained on {len(texts)} proposals, {len(router.classes_)} lead agencies; saved to {args.out}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.target == "train":
        return _train(args)
    from govnlp.routing import AgencyRouter

    if args.text in (None, "-"):
        if sys.stdin.isatty():
            raise ConfigError('give the proposal text: govnlp route DIR "关于…的建议", or pipe it to stdin')
        text = sys.stdin.read()
    else:
        text = str(args.text)
    if not text.strip():
        raise ConfigError("the proposal text is empty; give its title or text")
    router = AgencyRouter.load(args.target)
    routing = router.recommend([text], k=args.k)[0]
    if args.format == "json":
        print(json.dumps({"text": text, **routing.to_dict()}, ensure_ascii=False, indent=2))
        return 0
    print(format_routing(routing))
    return 0


def format_routing(routing: Any) -> str:
    """Plain-text lines: lead and co-agency suggestions with their scores and evidence."""
    lines = []
    for title, items in (("主办 (lead)", routing.lead), ("会办 (co)", routing.co)):
        lines.append(f"{title}:")
        if not items:
            lines.append("  —")
        for i, a in enumerate(items, 1):
            ev = "、".join(a.evidence[:3])
            lines.append(f"  {i}. {a.agency}  ({a.score:.3f})" + (f"  依据：{ev}" if ev else ""))
    return "\n".join(lines)
