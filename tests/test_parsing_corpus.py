"""Opt-in: the parser over the real corpora (``pytest -m corpus --corpora DIR``): no exceptions, sane fields."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from govnlp import parse_proposal, parse_reply

pytestmark = pytest.mark.corpus


def test_reply_excerpts_kind_and_no_exceptions(corpora_dir: Path) -> None:
    folder = corpora_dir / "reply_excerpts"
    rows = list(csv.DictReader((folder / "index.csv").open(encoding="utf-8")))
    ok = 0
    for r in rows:
        d = parse_reply((folder / r["file"]).read_text(encoding="utf-8"))
        ok += d.kind == r["kind"]
    assert ok / len(rows) >= 0.95


def test_message_replies_parse(corpora_dir: Path) -> None:
    lines = (corpora_dir / "message_reply" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(x) for x in lines if x.strip()]
    kinds = [parse_reply(r["reply"]).kind for r in rows if r.get("reply", "").strip()]
    assert kinds.count("留言答复") / len(kinds) >= 0.9
    for r in rows[:300]:
        if r.get("detail", "").strip():
            for q in parse_proposal(r["detail"]).queries():
                assert q.text


def test_policy_pages_parse(corpora_dir: Path) -> None:
    from govnlp.parsing.reader import html_to_text

    lines = (corpora_dir / "policy_documents" / "policies.jsonl").read_text(encoding="utf-8").splitlines()
    for x in lines:
        r = json.loads(x)
        parse_reply(r["body_text"])
        parse_reply(html_to_text(r["page_html"]))
