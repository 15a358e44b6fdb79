"""``govnlp train`` / ``govnlp tag`` / ``govnlp evaluate``: category classifiers from the command line.

Examples::

    govnlp train --data messages.jsonl --text-field text --label-field label --method tfidf --out models/tagger
    govnlp tag models/tagger "小区物业乱收停车费" --abstain-below 0.6
    govnlp tag models/tagger --data new_messages.jsonl --format jsonl > tagged.jsonl
    govnlp evaluate models/tagger --data test.jsonl --plot confusion.png
    govnlp train --data proposals_2019.jsonl --out models/proposal-tagger     # fields title, text, category
    govnlp tag models/proposal-tagger --data proposals_2020.jsonl --abstain-below 0.5

Rows with a ``title`` field (``--title-field``) are read as proposals: the classifier sees the title, a
newline and the text. The label field defaults to ``label``, or ``category`` when rows have no ``label``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from govnlp.errors import ConfigError, FormatError

_METHOD_HELP = "tfidf (default), embedding, finetune, ensemble (= tfidf+embedding) or a '+'-joined list"
_TITLE_HELP = (
    "field holding a proposal's title, read before the text when present (default: title; '' for none)"
)


def register(sub: Any) -> None:
    """Add the ``train``, ``tag`` and ``evaluate`` subcommands."""
    p = sub.add_parser(
        "train",
        help="train a category classifier on labelled JSONL",
        description="Train a TextClassifier on a JSON Lines file (one object per line) and save it as a folder.",
    )
    p.add_argument("--data", required=True, help="training data, JSON Lines")
    p.add_argument("--text-field", default="text", help="field holding the text (default: text)")
    p.add_argument("--title-field", default="title", help=_TITLE_HELP)
    p.add_argument(
        "--label-field",
        help="field holding the label, or a list of labels (default: label, else category)",
    )
    p.add_argument("--method", default="tfidf", help=_METHOD_HELP)
    p.add_argument("--out", required=True, help="folder to save the classifier into")
    p.add_argument("--taxonomy", help="validate labels against a built-in taxonomy name or a .json/.csv file")
    p.add_argument(
        "--embedder", help="embedder spec for embedding-based methods (default: the default model)"
    )
    p.add_argument("--model-path", help="encoder folder for --method finetune (default: the default model's)")
    p.add_argument("--epochs", type=int, help="fine-tuning epochs (finetune only)")
    p.add_argument("--seed", type=int, default=0, help="random_state (default 0)")
    p.set_defaults(func=run_train)

    p = sub.add_parser(
        "tag",
        help="tag texts with a trained classifier",
        description="Print the predicted category of each text (and its probability).",
    )
    p.add_argument("model", help="a classifier folder saved by 'govnlp train'")
    p.add_argument("texts", nargs="*", help="texts to tag")
    p.add_argument("--data", help="JSON Lines file of texts to tag instead")
    p.add_argument("--text-field", default="text", help="field holding the text in --data (default: text)")
    p.add_argument("--title-field", default="title", help=_TITLE_HELP)
    p.add_argument("--top-k", type=int, default=1, help="also show the k most probable labels (default 1)")
    p.add_argument(
        "--abstain-below", type=float, help="print no label when the top probability is below this"
    )
    p.add_argument("--format", choices=("table", "jsonl"), default="table")
    p.set_defaults(func=run_tag)

    p = sub.add_parser(
        "evaluate",
        help="evaluate a trained classifier on labelled JSONL",
        description="Accuracy, macro-F1, per-class scores, confusion matrix and calibration error.",
    )
    p.add_argument("model", help="a classifier folder saved by 'govnlp train'")
    p.add_argument("--data", required=True, help="labelled test data, JSON Lines")
    p.add_argument("--text-field", default="text")
    p.add_argument("--title-field", default="title", help=_TITLE_HELP)
    p.add_argument("--label-field", help="field holding the label (default: label, else category)")
    p.add_argument("--plot", help="also write the confusion matrix as a PNG here")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=run_evaluate)


def read_rows(path: str, fields: list[str]) -> list[dict[str, Any]]:
    """JSONL rows, checking that each has the given fields (ConfigError names the fields a row has)."""
    from govnlp.storage import read_jsonl

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"--data {path}: no such file")
    rows = read_jsonl(p)
    if not rows:
        raise FormatError(f"--data {path} has no rows")
    for i, row in enumerate(rows, 1):
        missing = [f for f in fields if row.get(f) in (None, "")]
        if missing:
            raise ConfigError(
                f"{path}: row {i} has no {missing} field; its fields are {sorted(row)}. "
                "Name the right fields with --text-field / --label-field."
            )
    return rows


def label_field(args: argparse.Namespace, path: str) -> str:
    """``--label-field``, or ``label`` / ``category`` (whichever the first row of ``path`` has)."""
    if args.label_field:
        return str(args.label_field)
    from govnlp.storage import read_jsonl

    p = Path(path)
    first = read_jsonl(p)[:1] if p.is_file() else []
    return "category" if first and "label" not in first[0] and "category" in first[0] else "label"


def row_texts(rows: list[dict[str, Any]], text_field: str, title_field: str | None) -> list[str]:
    """The text of each row; a row with a title is read as a proposal (title, newline, text)."""
    from govnlp.classify.text import document_text

    out = []
    for r in rows:
        title = r.get(title_field) if title_field else None
        text = str(r[text_field])
        out.append(document_text({"title": str(title), "text": text}) if title else text)
    return out


def run_train(args: argparse.Namespace) -> int:
    from govnlp.classify import TextClassifier

    label = label_field(args, args.data)
    rows = read_rows(args.data, [args.text_field, label])
    texts = row_texts(rows, args.text_field, args.title_field)
    labels = [r[label] for r in rows]
    params: dict[str, Any] = {}
    if args.model_path or args.epochs:
        if "finetune" not in args.method:
            raise ConfigError("--model-path and --epochs apply to --method finetune only")
        ft = {k: v for k, v in (("model_path", args.model_path), ("epochs", args.epochs)) if v}
        params = ft if args.method == "finetune" else {"finetune": ft}
    clf = TextClassifier(
        args.method,
        embedder=args.embedder,
        taxonomy=args.taxonomy,
        method_params=params or None,
        random_state=args.seed,
        show_progress_bar=not args.quiet,
    ).fit(texts, labels)
    path = clf.save(args.out)
    m = clf.training_metrics_
    f1 = m.get("heldout_macro_f1")
    print(
        f"trained {args.method} on {len(texts)} texts, {len(clf.classes_)} classes"
        + (f"; held-out macro-F1 {f1:.4f}" if f1 is not None else "")
        + f"; saved to {path}"
    )
    return 0


def run_tag(args: argparse.Namespace) -> int:
    from govnlp.classify import TextClassifier

    if args.data and args.texts:
        raise ConfigError("give texts on the command line or --data FILE, not both")
    rows: list[dict[str, Any]]
    if args.data:
        rows = read_rows(args.data, [args.text_field])
        texts = row_texts(rows, args.text_field, args.title_field)
    elif args.texts:
        texts = list(args.texts)
        rows = [{"text": t} for t in texts]
    else:
        raise ConfigError('give texts to tag: govnlp tag DIR "留言内容" ... or --data FILE.jsonl')
    clf = TextClassifier.load(args.model)
    proba = clf.predict_proba(texts)
    pred = clf.predict(texts, abstain_below=args.abstain_below)
    k = max(1, args.top_k)
    for row, text, p, lab in zip(rows, texts, proba, pred, strict=True):
        order = p.argsort()[::-1][:k]
        top = [(str(clf.classes_[j]), round(float(p[j]), 4)) for j in order]
        label = list(lab) if isinstance(lab, tuple) else lab
        if args.format == "jsonl":
            out = dict(row)
            out.update({"predicted": label, "top": [{"label": a, "probability": b} for a, b in top]})
            sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        else:
            shown = (
                "、".join(label) if isinstance(label, list) else (label if label is not None else "(abstain)")
            )
            alts = "  ".join(f"{a} {b:.3f}" for a, b in top)
            snippet = text.replace("\n", " ")[:40]
            print(f"{shown}\t{alts}\t{snippet}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from govnlp.classify import TextClassifier, evaluate_classifier

    label = label_field(args, args.data)
    rows = read_rows(args.data, [args.text_field, label])
    clf = TextClassifier.load(args.model)
    report = evaluate_classifier(
        clf, row_texts(rows, args.text_field, args.title_field), [r[label] for r in rows]
    )
    if args.format == "json":
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(report.summary())
    if args.plot:
        path = report.plot_confusion(args.plot)
        print(f"confusion matrix written to {path}", file=sys.stderr)
    return 0
