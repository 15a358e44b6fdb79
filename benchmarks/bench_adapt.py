"""After ``fine_tune``, with the library's defaults only: ``SearchIndex.build(records, embedder=DIR)``.

The issue's goal is measured on held-out messages after fine-tuning on the shared pairs. Here the same
protocol runs on a time split of message_reply/dev.jsonl: the older half of the eval messages gives the
training pairs (``pairs_from_messages`` and ``fine_tune`` with their defaults; the tuned folder carries the
fusion weight that ``fine_tune`` chose on its own held-out pairs), the newer half (and the proposal-style
queries of ``benchmarks/data/proposal_queries.jsonl``, whose messages are all in the newer half) are the
queries, and the corpus is all replies of the file. Each index is ``SearchIndex.build`` with nothing but
the embedder passed (or, for the rows named so, one option), then ``search_batch``; MRR@10.

Usage:
    nice -n 10 python benchmarks/bench_adapt.py [--variants default] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from embed_cache import CachedEmbedder  # noqa: E402

K = 10
#: index options compared, per embedder (``None``: not run for it); everything else is the library default
VARIANTS: dict[str, dict[str, dict[str, Any] | None]] = {
    "default": {"base": {}, "tuned": {}},
    # govnlp 0.2's defaults: cleaned text embedded, bm25+tfidf on the raw text, dense weight 0.4 (a tuned
    # model brings its own weight)
    "default of 0.2 (clean + bm25+tfidf)": {
        "base": {"clean": True, "lexical": "bm25+tfidf", "fusion": {"alpha": 0.4}},
        "tuned": {"clean": True, "lexical": "bm25+tfidf"},
    },
    # the tuned model without the weight fine_tune chose (equal weights, the base default)
    "fusion alpha 0.5": {"base": None, "tuned": {"fusion": {"alpha": 0.5}}},
}


def load(corpora: Path) -> dict[str, Any]:
    rows = [json.loads(line) for line in (corpora / "message_reply" / "dev.jsonl").open(encoding="utf-8")]
    ev = sorted((r for r in rows if r["eval_query"]), key=lambda r: (r["time"], int(r["msg_id"])))
    older, newer = ev[: len(ev) // 2], ev[len(ev) // 2 :]
    newer_ids = {str(r["msg_id"]) for r in newer}
    props = []
    for line in (HERE / "data" / "proposal_queries.jsonl").open(encoding="utf-8"):
        p = json.loads(line)
        if str(p["msg_id"]) in newer_ids:
            props.append({"query": p["query"], "id": str(p["msg_id"])})
    return {
        "rows": rows,
        "older": older,
        "queries": {
            "messages": [{"query": f"{r['title']}\n{r['detail']}", "id": str(r["msg_id"])} for r in newer],
            "proposals": props,
        },
        "cutoff": newer[0]["time"],
    }


def mrr(hits: list[list[Any]], gold: list[str]) -> float:
    rr = []
    for hs, g in zip(hits, gold, strict=True):
        ids = [h.id for h in hs[:K]]
        rr.append(1.0 / (ids.index(g) + 1) if g in ids else 0.0)
    return round(float(np.mean(rr)), 4)


def char_tfidf(records: list[dict[str, Any]], queries: dict[str, list[dict[str, str]]]) -> dict[str, float]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, dtype=np.float32)
    d = vec.fit_transform([r["text"] for r in records])
    ids = np.array([r["id"] for r in records])
    out = {}
    for style, qs in queries.items():
        s = (vec.transform([q["query"] for q in qs]) @ d.T).toarray()
        top = ids[np.argsort(-s, axis=1, kind="stable")[:, :K]]
        rr = [
            1.0 / (list(t).index(q["id"]) + 1) if q["id"] in t else 0.0 for t, q in zip(top, qs, strict=True)
        ]
        out[style] = round(float(np.mean(rr)), 4)
    return out


def weight_rule_now(older: list[dict[str, Any]], ft_dir: Path) -> dict[str, Any]:
    """The fusion weights the current ``fine_tune`` code would write for this tuned folder: its validation
    pairs are re-drawn exactly as ``fine_tune`` draws them and scored again with the saved model."""
    from sentence_transformers import SentenceTransformer

    from govnlp.embedders.finetune import (
        DEFAULT_MAX_SEQ_LENGTH,
        DEFAULT_VALIDATION_SIZE,
        _check_pairs,
        _choose_fusion,
        _split_validation,
        pairs_from_messages,
    )

    _, validation = _split_validation(_check_pairs(pairs_from_messages(older)), DEFAULT_VALIDATION_SIZE, 0)
    model = SentenceTransformer(str(ft_dir), device="cpu", local_files_only=True)
    model.max_seq_length = DEFAULT_MAX_SEQ_LENGTH
    chosen = _choose_fusion(model, "query: ", "passage: ", validation)
    return {
        "fusion_weights": chosen.get("fusion_weights"),
        "grid": chosen.get("fusion_validation", {}).get("mrr@10"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpora", default=str(HERE.parent.parent / "shared" / "corpora"))
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--ft-dir", default="/tmp/govnlp_bench_adapt/ft-defaults")
    p.add_argument("--out", default=str(HERE / "results" / "bench_adapt.json"))
    p.add_argument(
        "--weight-rule-only",
        action="store_true",
        help="only add the weights the current fine_tune rule picks for --ft-dir to an existing --out",
    )
    args = p.parse_args(argv)
    if args.weight_rule_only:
        res = json.loads(Path(args.out).read_text(encoding="utf-8"))
        res["weight_rule_now"] = weight_rule_now(load(Path(args.corpora))["older"], Path(args.ft_dir))
        print("weights by the current rule:", res["weight_rule_now"]["fusion_weights"], flush=True)
        Path(args.out).write_text(
            json.dumps(res, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8"
        )
        return 0
    logging.basicConfig(level=logging.WARNING)
    from govnlp import SearchIndex
    from govnlp.embedders import load_embedder
    from govnlp.embedders.finetune import fine_tune, pairs_from_messages

    t_start = time.perf_counter()
    data = load(Path(args.corpora))
    records = [{"id": str(r["msg_id"]), "text": r["reply"]} for r in data["rows"]]
    ft_dir = Path(args.ft_dir)
    pairs = pairs_from_messages(data["older"])
    if not (ft_dir / "manifest.json").is_file():
        t0 = time.perf_counter()
        fine_tune(pairs, out=ft_dir, overwrite=True, show_progress_bar=False)
        print(f"fine_tune: {len(pairs)} pairs in {time.perf_counter() - t0:.0f}s", flush=True)
    manifest = json.loads((ft_dir / "manifest.json").read_text(encoding="utf-8"))
    res: dict[str, Any] = {
        "benchmark": "bench_adapt",
        "protocol": {
            "train": f"{len(data['older'])} older eval messages (time < {data['cutoff']}), "
            f"{len(pairs)} pairs from pairs_from_messages() with its defaults",
            "queries": {s: len(q) for s, q in data["queries"].items()},
            "corpus": f"all {len(records)} replies of message_reply/dev.jsonl",
            "index": "SearchIndex.build(records, embedder=...) with library defaults except the named option",
        },
        "fine_tune": {
            k: manifest.get(k)
            for k in ("train_seconds", "steps", "fusion_weights", "fusion_validation", "config")
        },
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "loadavg": os.getloadavg()},
        "char_tfidf": char_tfidf(records, data["queries"]),
        "results": {},
    }
    print("char TF-IDF", res["char_tfidf"], flush=True)
    for label, spec in (("base", None), ("tuned", str(ft_dir))):
        emb = CachedEmbedder(load_embedder(spec))
        for vname in args.variants.split(","):
            options = VARIANTS[vname][label]
            if options is None:
                continue
            t0 = time.perf_counter()
            index = SearchIndex.build(records, embedder=emb, show_progress_bar=False, **options)
            row: dict[str, Any] = {
                "fusion": dict(index.fusion) if isinstance(index.fusion, dict) else str(index.fusion)
            }
            for mode in ("hybrid", "dense", "lexical"):
                for style, qs in data["queries"].items():
                    hits = index.search_batch(
                        [q["query"] for q in qs], k=K, mode=mode, show_progress_bar=False
                    )
                    row.setdefault(mode, {})[style] = mrr(hits, [q["id"] for q in qs])
            row["seconds"] = round(time.perf_counter() - t0, 1)
            res["results"][f"{label} / {vname}"] = row
            print(
                label, vname, {m: row[m] for m in ("hybrid", "dense", "lexical")}, row["fusion"], flush=True
            )
    res["weight_rule_now"] = weight_rule_now(data["older"], ft_dir)
    res["seconds"] = round(time.perf_counter() - t_start, 1)
    Path(args.out).write_text(
        json.dumps(res, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
