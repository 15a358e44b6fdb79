"""Search results before and after the search package move (issue 10), on the real message -> reply data.

Runs one code version (whichever ``govnlp`` is importable: point PYTHONPATH at an old checkout's
``src`` for the "before" run) and writes its results; ``--compare A.json B.json`` then checks that two
runs agree and writes ``benchmarks/results/bench_search_move.json``.

Per run, on every reply of ``message_reply/dev.jsonl`` (1,926) and all message queries (rows with
``eval_query``) and the 170 proposal queries: MRR@10 and Recall@10 of SearchIndex in lexical mode for
each lexical kind (bm25, tfidf, bm25+tfidf) and in hybrid mode with the default settings, plus a digest
of every query's top-10 ids and scores. The dense side uses the ``hash`` embedder so that no model runs:
the vector code did not change in the move; what this checks is the lexical scoring, fusion and the
SearchIndex code around them, which did.

Usage::

    PYTHONPATH=/old/src nice -n 10 python benchmarks/search_move_check.py --out /tmp/before.json
    nice -n 10 python benchmarks/search_move_check.py --out /tmp/after.json
    python benchmarks/search_move_check.py --compare /tmp/before.json /tmp/after.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _metrics(ranked: list[list[str]], relevant: list[str]) -> dict[str, float]:
    rr = [
        next((1.0 / (i + 1) for i, rid in enumerate(r[:10]) if rid == rel), 0.0)
        for r, rel in zip(ranked, relevant, strict=True)
    ]
    hit = [float(rel in r[:10]) for r, rel in zip(ranked, relevant, strict=True)]
    return {"mrr@10": round(sum(rr) / len(rr), 4), "recall@10": round(sum(hit) / len(hit), 4)}


def run(corpora: Path) -> dict[str, Any]:
    import govnlp
    from govnlp.search import SearchIndex

    rows = [json.loads(line) for line in (corpora / "message_reply" / "dev.jsonl").open(encoding="utf-8")]
    records = [{"id": str(r["msg_id"]), "text": r["reply"]} for r in rows]
    queries = {
        "messages": [(f"{r['title']}\n{r['detail']}", str(r["msg_id"])) for r in rows if r["eval_query"]],
        "proposals": [
            (q["query"], str(q["msg_id"]))
            for q in map(json.loads, (HERE / "data" / "proposal_queries.jsonl").open(encoding="utf-8"))
        ],
    }
    out: dict[str, Any] = {"govnlp": govnlp.__file__, "systems": {}}
    for name, kind, mode in (
        ("bm25", "bm25", "lexical"),
        ("tfidf", "tfidf", "lexical"),
        ("bm25+tfidf", "bm25+tfidf", "lexical"),
        ("hybrid (default lexical and fusion, hash embedder)", None, "hybrid"),
    ):
        t0 = time.perf_counter()
        index = SearchIndex.build(records, embedder="hash", lexical=kind)
        res: dict[str, Any] = {"build_s": round(time.perf_counter() - t0, 1)}
        digest = hashlib.sha256()
        for qname, qs in queries.items():
            hits = index.search_batch([q for q, _ in qs], k=10, mode=mode)
            ranked = [[h.id for h in hs] for hs in hits]
            res[qname] = _metrics(ranked, [rel for _, rel in qs])
            for hs in hits:
                digest.update(json.dumps([(h.id, round(h.score, 5)) for h in hs]).encode())
        res["top10_digest"] = digest.hexdigest()[:16]
        out["systems"][name] = res
        print(name, res, flush=True)
    out["queries"] = {k: len(v) for k, v in queries.items()}
    out["records"] = len(records)
    return out


def compare(before: Path, after: Path, out: Path) -> int:
    a = json.loads(before.read_text(encoding="utf-8"))
    b = json.loads(after.read_text(encoding="utf-8"))
    same = {}
    for name in a["systems"]:
        x, y = a["systems"][name], b["systems"][name]
        same[name] = {
            "metrics_equal": all(x[q] == y[q] for q in ("messages", "proposals")),
            "top10_identical": x["top10_digest"] == y["top10_digest"],
        }
    result = {"benchmark": "search_move_check", "before": a, "after": b, "same": same}
    existing = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else {}
    existing.update(result)
    out.write_text(json.dumps(existing, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    print(json.dumps(same, indent=1))
    print(f"wrote {out}")
    return 0 if all(v["metrics_equal"] for v in same.values()) else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpora", default=str(HERE.parent.parent / "shared" / "corpora"))
    p.add_argument("--out", default=None, help="where this run's results go")
    p.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"))
    p.add_argument("--results", default=str(HERE / "results" / "bench_search_move.json"))
    args = p.parse_args(argv)
    if args.compare:
        return compare(Path(args.compare[0]), Path(args.compare[1]), Path(args.results))
    res = run(Path(args.corpora))
    if args.out:
        Path(args.out).write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
