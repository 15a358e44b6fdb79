"""Same-topic retrieval: a proxy for data where the topic alone does not separate the replies.

The issue's out-of-domain set (881 messages about one topic, gas and heating shortages, each against all
881 replies) cannot be had here. This benchmark builds the closest thing from message_reply/dev.jsonl:
messages are grouped by a topic keyword in their title (first matching group wins), and each eval
message is ranked against the replies of its own group only, with the lexical indexes fitted on that
group's replies alone (so topic words get the low IDF they would get in a one-topic corpus). Dense
scores come from the same cached embeddings as ``bench_cv.py`` (first window of the raw reply, the
library default, and of the cleaned reply).

Reported per method: MRR@10 per group, the mean over groups and the query-weighted pooled MRR@10.

Usage:
    nice -n 10 python benchmarks/bench_topic.py [--embedder-folder DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_cv import fuse, govnlp_lexical, reciprocal_ranks, sk_tfidf  # noqa: E402
from embed_cache import WindowCachedEmbedder  # noqa: E402
from govnlp.cleaning import clean_for_index  # noqa: E402

#: topic groups by a keyword of the message title; the first matching group wins
TOPICS = {
    "gas/heating/water": "燃气|天然气|供暖|暖气|供热|煤气|停水|自来水|水费",
    "property": "物业|业主|小区",
    "demolition": "拆迁|征收|安置|补偿",
    "school": "学校|学生|教师|幼儿园|入学|学位",
    "traffic": "公交|道路|交通|红绿灯|停车|修路",
    "housing": "房产|购房|开发商|房子|楼盘|房屋|产权",
    "social security": "社保|医保|养老|退休|低保|工资",
    "pollution": "污染|噪音|噪声|排放|臭|垃圾",
}
FUSIONS = {
    "zscore0.4": {"method": "score", "norm": "zscore", "alpha": 0.4},
    "zscore0.5": {"method": "score", "norm": "zscore", "alpha": 0.5},
    "rrf60": {"method": "rrf", "k": 60, "alpha": 0.5},
}


def groups(rows: list[dict[str, Any]]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {t: [] for t in TOPICS}
    for i, r in enumerate(rows):
        for t, pat in TOPICS.items():
            if re.search(pat, str(r["title"])):
                out[t].append(i)
                break
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpora", default=str(HERE.parent.parent / "shared" / "corpora"))
    p.add_argument("--embedder", default="e5-onnx")
    p.add_argument(
        "--embedder-folder", default="", help="an e5-onnx export folder (reuses its cached vectors)"
    )
    p.add_argument("--out", default=str(HERE / "results" / "bench_topic.json"))
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    rows = [
        json.loads(line)
        for line in (Path(args.corpora) / "message_reply" / "dev.jsonl").open(encoding="utf-8")
    ]
    if args.embedder_folder:
        from govnlp.embedders.onnx_e5 import E5OnnxEmbedder

        inner: Any = E5OnnxEmbedder(args.embedder_folder)
    else:
        from govnlp.embedders import load_embedder

        inner = load_embedder(args.embedder)
    emb = WindowCachedEmbedder(inner, pooling="first")
    per_method: dict[str, dict[str, float]] = {}
    sizes: dict[str, dict[str, int]] = {}
    pooled: dict[str, list[float]] = {}
    for topic, idx in groups(rows).items():
        qpos = [j for j, i in enumerate(idx) if rows[i]["eval_query"]]
        if len(qpos) < 10:
            continue
        raw = [rows[i]["reply"] for i in idx]
        clean = [clean_for_index(t) or t for t in raw]
        qs = [f"{rows[idx[j]]['title']}\n{rows[idx[j]]['detail']}" for j in qpos]
        docs = np.asarray(qpos)
        sizes[topic] = {"replies": len(idx), "queries": len(qpos)}
        mats = {
            "sk-tfidf/fit-replies+queries": sk_tfidf(raw, qs, True),
            "sk-tfidf/fit-replies": sk_tfidf(raw, qs, False),
            "tfidf": govnlp_lexical("tfidf", None, raw, qs),
            "bm25-bigram-only": govnlp_lexical("bm25", "bigram-only", raw, qs),
            "bm25+tfidf": govnlp_lexical("bm25+tfidf", None, raw, qs),
        }
        qv = emb.encode(qs, kind="query")
        mats["dense"] = qv @ emb.encode(raw, kind="passage").T
        mats["dense (cleaned replies)"] = qv @ emb.encode(clean, kind="passage").T
        depth = min(100, len(idx))
        for lex in ("tfidf", "bm25+tfidf", "sk-tfidf/fit-replies+queries"):
            for fname, cfg in FUSIONS.items():
                mats[f"hybrid[dense + {lex} | {fname}]"] = fuse(mats["dense"], mats[lex], cfg, depth=depth)
        for name, s in mats.items():
            rr = reciprocal_ranks(s, docs)
            per_method.setdefault(name, {})[topic] = round(float(rr.mean()), 4)
            pooled.setdefault(name, []).extend(rr.tolist())
        print(
            topic,
            sizes[topic],
            {k: v[topic] for k, v in per_method.items() if k in mats and "hybrid" not in k},
            flush=True,
        )
    table = {
        name: {
            "group_mean": round(statistics.mean(v.values()), 4),
            "pooled": round(float(np.mean(pooled[name])), 4),
            "groups": v,
        }
        for name, v in per_method.items()
    }
    result = {
        "benchmark": "bench_topic",
        "protocol": "each eval message of a title-keyword topic group against the replies of its group only; "
        "lexical indexes fitted on the group's raw replies; dense = first window of the raw reply",
        "embedder": {"name": emb.name, "fingerprint": emb.fingerprint()[:16]},
        "groups": sizes,
        "results": dict(sorted(table.items(), key=lambda kv: -kv[1]["pooled"])),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    for name, v in result["results"].items():
        print(f"{name:55s} pooled {v['pooled']:.4f} group mean {v['group_mean']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
