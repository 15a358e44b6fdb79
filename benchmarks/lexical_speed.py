"""Speed of govnlp's lexical indexes (``bm25``, ``tfidf``, ``bm25+tfidf``) on real reply text.

Corpus: the cleaned replies of ../shared/corpora/message_reply/dev.jsonl (1,926), and, for larger sizes,
synthetic documents made of real reply sentences drawn at random (each document as many sentences as a
real reply has; the vocabulary and sentence lengths are real, the combinations are not). Queries: 200
real messages (title + detail, about 340 characters) and the 170 proposal-style queries. For each size
and kind: build time (tokenise + index), single-query latency p50/p95 of ``index.search(q, k=10)``, and
the index's saved size.

Usage::

    nice -n 10 .venv/bin/python benchmarks/lexical_speed.py [--corpora ../shared/corpora] [--sizes 1926,20000,100000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from govnlp.cleaning import clean_for_index
from govnlp.search.lexical import make_lexical

HERE = Path(__file__).resolve().parent
KINDS = ("bm25", "tfidf", "bm25+tfidf")
_SENT = re.compile(r"(?<=[。！？；])")


def corpus(rows: list[dict[str, Any]], size: int, seed: int = 0) -> list[str]:
    """The real cleaned replies, topped up to ``size`` with documents of randomly drawn real sentences."""
    real = [clean_for_index(r["reply"]) for r in rows]
    if size <= len(real):
        return real[:size]
    sentences = [s for d in real for s in _SENT.split(d) if s.strip()]
    lengths = [max(1, len([s for s in _SENT.split(d) if s.strip()])) for d in real]
    rng = random.Random(seed)
    docs = list(real)
    while len(docs) < size:
        docs.append("".join(rng.choice(sentences) for _ in range(rng.choice(lengths))))
    return docs


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def measure(kind: str, docs: list[str], query_sets: dict[str, list[str]], repeats: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    idx = make_lexical(kind)
    idx.add(docs, np.arange(len(docs)))
    idx.search("老旧小区", k=10)  # the first query prepares the scoring matrices
    out: dict[str, Any] = {"build_s": round(time.perf_counter() - t0, 2), "vocabulary": idx.vocabulary_size}
    for name, queries in query_sets.items():
        lat = []
        for _ in range(repeats):
            for q in queries:
                t = time.perf_counter()
                idx.search(q, k=10)
                lat.append((time.perf_counter() - t) * 1000)
        out[name] = {
            "query_p50_ms": round(statistics.median(lat), 2),
            "query_p95_ms": round(float(np.percentile(lat, 95)), 2),
        }
    with tempfile.TemporaryDirectory() as tmp:
        idx.save(Path(tmp) / "lex")
        out["saved_bytes_per_doc"] = round(folder_bytes(Path(tmp) / "lex") / len(docs), 1)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpora", default=str(HERE.parent.parent / "shared" / "corpora"))
    p.add_argument("--sizes", default="1926,20000,100000")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--out", default=str(HERE / "results" / "bench_lexical_speed.json"))
    args = p.parse_args(argv)
    path = Path(args.corpora) / "message_reply" / "dev.jsonl"
    if not path.is_file():
        raise SystemExit(f"{path} not found: pass --corpora DIR")
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    rng = random.Random(1)
    msgs = [f"{r['title']}\n{r['detail']}" for r in rows if r["eval_query"]]
    props = [json.loads(line)["query"] for line in (HERE / "data" / "proposal_queries.jsonl").open()]
    query_sets = {"messages": rng.sample(msgs, 200), "proposals": props}
    results: dict[str, Any] = {"benchmark": "lexical_speed", "sizes": {}}
    for size in (int(s) for s in args.sizes.split(",")):
        docs = corpus(rows, size)
        per_kind: dict[str, Any] = {}
        for kind in KINDS:
            r = per_kind[kind] = measure(kind, docs, query_sets, args.repeats)
            print(
                f"{size:>7} {kind:10s} build {r['build_s']:6.1f}s  {r['saved_bytes_per_doc']:.0f} B/doc  "
                + "  ".join(
                    f"{name} p50 {r[name]['query_p50_ms']:.2f} / p95 {r[name]['query_p95_ms']:.2f} ms"
                    for name in query_sets
                ),
                flush=True,
            )
        results["sizes"][str(size)] = per_kind
    results["protocol"] = (
        "cleaned real replies topped up with documents of random real reply sentences; 200 random message "
        "queries and 170 proposal queries, one search(q, k=10) call each, one query thread; build includes "
        "tokenising and one first query"
    )
    results["machine"] = {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
