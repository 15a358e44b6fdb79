"""Where the time of ``SearchIndex.build`` goes, with the default embedder (issue 14, point 7).

On a fixed sample of whole replies (the first ``--n`` rows by ``msg_id`` of the message-reply dev set,
as ``{"id", "text"}`` records) it measures, in CPU seconds (``time.process_time``: the machine is
shared) and wall seconds:

1. cleaning alone (``govnlp.cleaning.clean_for_index``, as ``SearchIndex`` calls it);
2. record building and validation (``govnlp.search.records.build_records``);
3. windows per reply (the embedder's ``windows()`` of the cleaned text): mean, p50, p90, max, and the
   share of replies longer than one window; also over every reply of the dev set;
4. dense encoding with ``long_text="first"`` (the first window of each reply, as ``SearchIndex`` does)
   against ``"mean"`` (every window, averaged);
5. the lexical index build (default kind, on the raw text as the default ``clean_lexical=False`` does);
6. the whole ``SearchIndex.build`` with the defaults against ``long_text="mean"``.

Every timed step but the model load is a median of 3 runs; the encodings and whole builds run interleaved, round by round,
so that the shared machine's load hits them alike. The model is loaded once before timing and passed
to every build.

The build time of 2,816 replies is extrapolated from the whole builds, assuming time linear in the
number of windows encoded: ``"first"`` encodes one window per reply, ``"mean"`` the dev set's mean
windows per reply.

Usage::

    nice -n 0 .venv/bin/python benchmarks/bench_build.py            # --n 150, about 7 minutes of CPU on 2 cores
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpora" / "message_reply" / "dev.jsonl"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "bench_build.json"
#: the size of the index whose build issue 14 reports (616 s on a busy 2-core machine)
TARGET_REPLIES = 2816


def load_replies(path: Path) -> list[dict[str, Any]]:
    """All replies of the corpus as ``{"id", "text"}`` records, sorted by ``msg_id``."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if isinstance(r.get("reply"), str) and r["reply"].strip()]
    rows.sort(key=lambda r: int(r["msg_id"]))
    return [{"id": str(r["msg_id"]), "text": r["reply"]} for r in rows]


def timed(fn: Callable[[], Any], repeats: int = 1) -> tuple[dict[str, Any], Any]:
    """Run ``fn`` ``repeats`` times; the median CPU and wall seconds, each run's, and the last result."""
    cpu, wall, out = [], [], None
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        out = fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    stats = {
        "cpu_s": round(statistics.median(cpu), 4),
        "wall_s": round(statistics.median(wall), 4),
        "runs": repeats,
        "cpu_s_runs": [round(x, 4) for x in cpu],
        "wall_s_runs": [round(x, 4) for x in wall],
    }
    return stats, out


def _median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    cpu = [r["cpu_s"] for r in runs]
    wall = [r["wall_s"] for r in runs]
    return {
        "cpu_s": round(statistics.median(cpu), 4),
        "wall_s": round(statistics.median(wall), 4),
        "runs": len(runs),
        "cpu_s_runs": cpu,
        "wall_s_runs": wall,
    }


def window_stats(counts: list[int]) -> dict[str, Any]:
    a = np.asarray(counts)
    return {
        "replies": int(a.size),
        "windows": int(a.sum()),
        "mean": round(float(a.mean()), 3),
        "p50": float(np.percentile(a, 50)),
        "p90": float(np.percentile(a, 90)),
        "max": int(a.max()),
        "share_more_than_one": round(float((a > 1).mean()), 4),
    }


def run(n: int, corpus: Path, repeats: int = 3) -> dict[str, Any]:
    from govnlp import cleaning, load_embedder
    from govnlp.search.lexical import make_lexical
    from govnlp.search.records import build_records
    from govnlp.search.search_index import (
        DEFAULT_CLEAN,
        DEFAULT_CLEAN_LEXICAL,
        DEFAULT_LONG_TEXT,
        SearchIndex,
    )

    result: dict[str, Any] = {"load_average_start": list(os.getloadavg())}
    everything = load_replies(corpus)
    sample = everything[:n]
    texts = [r["text"] for r in sample]
    result["sample"] = {
        "corpus": "message_reply/dev.jsonl (reply field)",
        "rows": f"first {len(sample)} by msg_id",
        "n": len(sample),
        "chars_mean": round(float(np.mean([len(t) for t in texts])), 1),
        "chars_max": max(len(t) for t in texts),
    }
    result["defaults"] = {
        "long_text": DEFAULT_LONG_TEXT,
        "clean": DEFAULT_CLEAN,
        "clean_lexical": DEFAULT_CLEAN_LEXICAL,
    }

    load, emb = timed(lambda: load_embedder())
    result["embedder"] = {"name": emb.name, "dim": emb.dim, "load": load}
    emb.encode(["预热"], kind="passage")  # first call costs extra; keep it out of the timings

    steps: dict[str, Any] = {}
    steps["cleaning"], cleaned = timed(lambda: [cleaning.clean_for_index(t) for t in texts], 3)
    steps["records"], _ = timed(lambda: build_records([dict(r) for r in sample]), 3)
    index_texts = [c if c.strip() else t for c, t in zip(cleaned, texts, strict=True)]

    # windows: what SearchIndex does for long_text="first" (tokenise, take the first window)
    steps["windowing"], wins = timed(lambda: [emb.windows(t, kind="passage") for t in index_texts], 3)
    counts = [len(w) for w in wins]
    result["windows_per_reply"] = window_stats(counts)
    all_counts = [len(emb.windows(cleaning.clean_for_index(r["text"]) or r["text"])) for r in everything]
    result["windows_per_reply_all_dev"] = window_stats(all_counts)
    print(
        "windows:", result["windows_per_reply"], "all dev:", result["windows_per_reply_all_dev"], flush=True
    )

    firsts = [w[0] for w in wins]

    def lexical() -> Any:
        lex = make_lexical()
        lex.add(texts, np.arange(len(texts), dtype=np.int64))
        return lex

    steps["lexical"], _ = timed(lexical, 3)
    print("lexical:", steps["lexical"], flush=True)

    # the heavy parts, interleaved round by round so that the shared machine's load hits them alike
    heavy: dict[str, Callable[[], Any]] = {
        "encode_first": lambda: emb.encode(firsts, kind="passage"),
        "encode_mean": lambda: emb.encode(index_texts, kind="passage"),
        "build_default": lambda: SearchIndex.build([dict(r) for r in sample], embedder=emb),
        "build_mean": lambda: SearchIndex.build([dict(r) for r in sample], embedder=emb, long_text="mean"),
    }
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in heavy}
    for rnd in range(repeats):
        for key, fn in heavy.items():
            runs[key].append(timed(fn)[0])
            print(f"round {rnd + 1} {key}:", runs[key][-1]["cpu_s"], "CPU s", flush=True)
    heavy_stats = {k: _median_of(v) for k, v in runs.items()}
    steps["encode_first"] = {**heavy_stats["encode_first"], "windows_encoded": len(firsts)}
    steps["encode_mean"] = {**heavy_stats["encode_mean"], "windows_encoded": int(sum(counts))}
    builds: dict[str, Any] = {
        "default": {**heavy_stats["build_default"], "long_text": DEFAULT_LONG_TEXT},
        "mean": {**heavy_stats["build_mean"], "long_text": "mean"},
    }
    result["steps"] = steps
    result["builds"] = builds

    # shares of the default build: the parts measured separately, over the whole build's CPU
    total = builds["default"]["cpu_s"]
    parts = {
        "cleaning": steps["cleaning"]["cpu_s"],
        "records": steps["records"]["cpu_s"],
        "windowing": steps["windowing"]["cpu_s"],
        "encode": steps["encode_first"]["cpu_s"],
        "lexical": steps["lexical"]["cpu_s"],
    }
    result["default_build_cpu_shares"] = {k: round(v / total, 4) for k, v in parts.items()}

    n_s = len(sample)
    w_dev = result["windows_per_reply_all_dev"]["mean"]
    w_s = result["windows_per_reply"]["mean"]
    ext: dict[str, Any] = {
        "assumption": (
            "time linear in windows encoded: 'first' encodes 1 window per reply; 'mean' encodes the dev "
            f"set's mean {w_dev} windows per reply (the sample has {w_s}); the non-encoding parts are "
            "linear in replies"
        ),
        "replies": TARGET_REPLIES,
    }
    for key, wpr_target, wpr_sample in (("default", 1.0, 1.0), ("mean", w_dev, w_s)):
        b = builds[key]
        enc_cpu = steps["encode_first" if key == "default" else "encode_mean"]["cpu_s"]
        rest_cpu = max(b["cpu_s"] - enc_cpu, 0.0)
        scale_enc = TARGET_REPLIES * wpr_target / (n_s * wpr_sample)
        scale_rest = TARGET_REPLIES / n_s
        cpu = enc_cpu * scale_enc + rest_cpu * scale_rest
        ext[key] = {
            "cpu_s": round(cpu, 1),
            "wall_s": round(b["wall_s"] * cpu / b["cpu_s"], 1) if b["cpu_s"] else None,
        }
    ext["speedup_cpu"] = round(ext["mean"]["cpu_s"] / ext["default"]["cpu_s"], 2)
    result["extrapolated"] = ext
    result["load_average_end"] = list(os.getloadavg())
    result["machine"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "torch_threads": _torch_threads(),
    }
    return result


def _torch_threads() -> int | None:
    try:
        import torch

        return int(torch.get_num_threads())
    except ImportError:  # pragma: no cover - torch is there with the default embedder
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=150, help="replies in the sample (first by msg_id)")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved rounds of the encodings and builds")
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    if not args.corpus.is_file():
        sys.exit(f"corpus not found: {args.corpus}")
    result = run(args.n, args.corpus, args.repeats)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(
        json.dumps({k: result[k] for k in ("builds", "extrapolated", "default_build_cpu_shares")}, indent=1)
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
