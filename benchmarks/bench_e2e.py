"""End to end: build a pipeline over every reply in message_reply/dev.jsonl and answer 100 matches.

For each embedder (the default model through sentence-transformers, and the fast int8 ONNX path) a fresh
subprocess parses the replies, builds the index (+ zero-shot tagger), then runs 100 matches whose
proposals are dev messages (title + detail, parsed by ``parse_proposal`` into problems). Reported: parse
and build time, records indexed, match latency (p50/p95, per proposal, all its problems), and the
process's peak resident memory (``ru_maxrss``).

    python benchmarks/bench_e2e.py [--corpora ../shared/corpora] [--backends default e5-onnx]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker(corpora: Path, backend: str, n_matches: int) -> dict:
    import govnlp
    from govnlp.pipeline import Pipeline

    with open(corpora / "message_reply" / "dev.jsonl", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    rss_start = _rss_mb()
    t0 = time.perf_counter()
    docs = [govnlp.parse_reply(r["reply"]) for r in rows if (r.get("reply") or "").strip()]
    t_parse = time.perf_counter() - t0
    t0 = time.perf_counter()
    emb = govnlp.load_embedder(None if backend == "default" else backend)
    emb.encode(["预热"])  # load the weights before the clock of the build starts
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    pipe = Pipeline.build(docs, embedder=emb, show_progress_bar=False)
    t_build = time.perf_counter() - t0
    proposals = [
        f"{r.get('title') or ''}\n{r.get('detail') or ''}".strip() for r in rows if r.get("eval_query")
    ][:n_matches]
    latencies, n_items = [], 0
    for text in proposals:
        t0 = time.perf_counter()
        result = pipe.match(text, k=5)
        latencies.append(time.perf_counter() - t0)
        n_items += len(result.items)
    latencies.sort()
    return {
        "backend": backend,
        "embedder": emb.name,
        "replies": len(docs),
        "records_indexed": len(pipe.index),
        "parse_s": round(t_parse, 2),
        "model_load_s": round(t_load, 2),
        "build_s": round(t_build, 2),
        "matches": len(proposals),
        "problems_searched": n_items,
        "match_total_s": round(sum(latencies), 2),
        "match_p50_ms": round(1000 * statistics.median(latencies), 1),
        "match_p95_ms": round(1000 * latencies[int(0.95 * (len(latencies) - 1))], 1),
        "rss_before_mb": round(rss_start, 1),
        "peak_rss_mb": round(_rss_mb(), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpora", default=str(HERE.parent / ".." / "shared" / "corpora"))
    ap.add_argument("--out", default=str(HERE / "results" / "bench_e2e.json"))
    ap.add_argument("--backends", nargs="+", default=["default", "e5-onnx"])
    ap.add_argument("--matches", type=int, default=100)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    corpora = Path(args.corpora)
    if args.worker:
        print(json.dumps(worker(corpora, args.worker, args.matches)))
        return
    results = []
    for backend in args.backends:
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--corpora",
                str(corpora),
                "--worker",
                backend,
                "--matches",
                str(args.matches),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise SystemExit(f"worker {backend} failed:\n{proc.stderr[-3000:]}")
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(res)
        print(
            f"{backend:8s} replies={res['replies']} records={res['records_indexed']} parse={res['parse_s']}s "
            f"build={res['build_s']}s match p50={res['match_p50_ms']}ms p95={res['match_p95_ms']}ms "
            f"peak RSS={res['peak_rss_mb']} MB"
        )
    import torch

    out = {
        "benchmark": "bench_e2e",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "platform": platform.platform(),
        },
        "results": results,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        json.dumps(out, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
