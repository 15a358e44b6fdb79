"""Learned ranking and calibrated relevance, cross-validated across years (leave one year out).

Corpus: all 1,926 replies of ``message_reply/dev.jsonl`` in a default ``SearchIndex``; queries: the eval
messages (title + detail, relevant = their own reply) and the 170 proposal-style queries. Folds: the
message years 2012-2018 (2011 folded into 2012). For each fold the ranking head
(``govnlp.search.ranker``) is fitted on the messages of the other years (the user's history) and
tested on the held-out year's messages and proposal queries; compared with the default hybrid ranking of
the same index on the same queries.

Candidates and features do not depend on the fold (they come from the index), so they are gathered once
(``ranker.gather``); only the head is re-fitted per fold.

Relevance: the held-out queries are searched twice, with their own replies in the index and with every
reply of the held-out year removed (a filter before ranking, which is what removal does to the
candidates; the lexical IDF still counts them). The top hit's relevance (the head's probability) should
fall under the threshold when the own reply is absent and above it when present.

Usage:
    nice -n 10 python benchmarks/bench_rank.py [--methods logreg,lambdarank]
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_cv import FOLDS, fold_of  # noqa: E402
from embed_cache import WindowCachedEmbedder  # noqa: E402

logger = logging.getLogger("bench_rank")
K = 10
THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6)


def rr(ranked: Sequence[str], rel: str) -> float:
    for r, i in enumerate(ranked[:K], 1):
        if i == rel:
            return 1.0 / r
    return 0.0


def run(args: argparse.Namespace) -> dict[str, Any]:
    from govnlp.embedders import load_embedder
    from govnlp.search import SearchIndex
    from govnlp.search.ranker import Ranker, fit_head, gather

    t0 = time.perf_counter()
    corpora = Path(args.corpora)
    rows = [json.loads(line) for line in (corpora / "message_reply" / "dev.jsonl").open(encoding="utf-8")]
    by_id = {str(r["msg_id"]): r for r in rows}
    queries = [
        {
            "text": f"{r['title']}\n{r['detail']}",
            "rel": str(r["msg_id"]),
            "fold": fold_of(r["time"]),
            "style": "messages",
        }
        for r in rows
        if r["eval_query"]
    ]
    for line in (HERE / "data" / "proposal_queries.jsonl").open(encoding="utf-8"):
        p = json.loads(line)
        r = by_id[str(p["msg_id"])]
        queries.append(
            {"text": p["query"], "rel": str(p["msg_id"]), "fold": fold_of(r["time"]), "style": "proposals"}
        )
    emb = WindowCachedEmbedder(load_embedder(args.embedder))
    records = [{"id": str(r["msg_id"]), "text": r["reply"]} for r in rows]
    index = SearchIndex.build(records, embedder=emb, index_type="exact", show_progress_bar=False)
    texts = [q["text"] for q in queries]
    base = index.search_batch(texts, k=K, mode="hybrid", show_progress_bar=False)
    base_rr = np.array([rr([h.id for h in hs], q["rel"]) for hs, q in zip(base, queries, strict=True)])
    t1 = time.perf_counter()
    qvecs = emb.encode(texts, kind="query")
    cands = gather(index, texts, args.depth, qvecs=qvecs)
    logger.info("gathered candidates in %.1fs", time.perf_counter() - t1)
    ys = [
        np.array([i == q["rel"] for i in ids], dtype=np.float64)
        for q, (ids, _, _, _) in zip(queries, cands, strict=True)
    ]
    recall_depth = float(np.mean([y.any() for y in ys]))
    # candidates with the held-out year's replies removed (a filter before ranking)
    year_of = {str(r["msg_id"]): fold_of(r["time"]) for r in rows}
    absent: list[Any] = [None] * len(queries)
    for f in FOLDS:
        sel = [i for i, q in enumerate(queries) if q["fold"] == f]
        keep = np.array([index._label[i] for i in index.ids() if year_of[i] != f], dtype=np.int64)
        got = gather(index, [texts[i] for i in sel], args.depth, subset=keep, qvecs=qvecs[sel])
        for i, g in zip(sel, got, strict=True):
            absent[i] = g
    logger.info("gathered absent-reply candidates in %.1fs", time.perf_counter() - t1)
    msg = np.array([q["style"] == "messages" for q in queries])
    folds = np.array([q["fold"] for q in queries])
    out: dict[str, Any] = {
        "protocol": {
            "corpus": f"all {len(rows)} replies of message_reply/dev.jsonl (default SearchIndex)",
            "queries": {s: int((msg if s == "messages" else ~msg).sum()) for s in ("messages", "proposals")},
            "folds": "leave one year out (2011 folded into 2012); heads fitted on the other years' messages",
            "depth": args.depth,
            "own_reply_among_candidates": round(recall_depth, 4),
            "absent": "held-out year's replies filtered out before ranking",
        },
        "embedder": {"name": emb.name, "fingerprint": emb.fingerprint()[:16]},
        "default_hybrid": {},
    }

    def summarise(rrs: np.ndarray) -> dict[str, Any]:
        per = {f: round(float(rrs[msg & (folds == f)].mean()), 4) for f in FOLDS}
        return {
            "messages_folds": per,
            "messages_fold_mean": round(statistics.mean(per.values()), 4),
            "messages_fold_sd": round(statistics.pstdev(per.values()), 4),
            "messages_pooled": round(float(rrs[msg].mean()), 4),
            "proposals_pooled": round(float(rrs[~msg].mean()), 4),
        }

    out["default_hybrid"] = summarise(base_rr)
    for method in args.methods.split(","):
        t2 = time.perf_counter()
        rrs = np.zeros(len(queries))
        top_present = np.zeros(len(queries))
        top_absent = np.zeros(len(queries))
        top_correct = np.zeros(len(queries), dtype=bool)
        for f in FOLDS:
            train = [i for i in range(len(queries)) if msg[i] and folds[i] != f]
            head = fit_head(Ranker(method, args.depth), [cands[i][1] for i in train], [ys[i] for i in train])
            for i in np.flatnonzero(folds == f):
                ids, feats, _, _ = cands[i]
                s = head.score(feats)
                order = sorted(range(len(ids)), key=lambda j: (-s[j], ids[j]))
                rrs[i] = rr([ids[j] for j in order], queries[i]["rel"])
                top_present[i] = float(head.relevance(s[order[:1]])[0]) if order else 0.0
                top_correct[i] = bool(order) and ids[order[0]] == queries[i]["rel"]
                a_ids, a_feats, _, _ = absent[i]
                top_absent[i] = float(head.relevance(head.score(a_feats)).max()) if a_ids else 0.0
        res = summarise(rrs)
        res["seconds"] = round(time.perf_counter() - t2, 1)
        res["relevance"] = {
            str(t): {
                "present_above": round(float((top_present >= t).mean()), 4),
                "present_top_correct_above": round(float((top_present[top_correct] >= t).mean()), 4),
                "present_top_wrong_below": round(float((top_present[~top_correct] < t).mean()), 4),
                "absent_below": round(float((top_absent < t).mean()), 4),
                "messages": {
                    "present_above": round(float((top_present[msg] >= t).mean()), 4),
                    "absent_below": round(float((top_absent[msg] < t).mean()), 4),
                },
                "proposals": {
                    "present_above": round(float((top_present[~msg] >= t).mean()), 4),
                    "absent_below": round(float((top_absent[~msg] < t).mean()), 4),
                },
            }
            for t in THRESHOLDS
        }
        res["top_relevance_mean"] = {
            "present": round(float(top_present.mean()), 4),
            "absent": round(float(top_absent.mean()), 4),
        }
        out[method] = res
        logger.info("%s: %s", method, {k: v for k, v in res.items() if k != "relevance"})
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpora", default=str(HERE.parent.parent / "shared" / "corpora"))
    p.add_argument("--embedder", default="e5-onnx")
    p.add_argument("--methods", default="logreg,lambdarank")
    p.add_argument("--depth", type=int, default=50)
    p.add_argument("--out", default=str(HERE / "results" / "bench_rank.json"))
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(asctime)s %(name)s %(message)s"
    )
    logger.setLevel(logging.INFO)
    res = {"benchmark": "bench_rank", **run(args)}
    res["machine"] = {"python": platform.python_version(), "platform": platform.platform()}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    print(
        json.dumps({k: v for k, v in res.items() if k not in ("protocol",)}, indent=1, ensure_ascii=False)[
            :4000
        ]
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
