"""Retrieval quality (and speed) of govnlp.SearchIndex on real message -> reply data.

Quality (``--part quality``), on ``message_reply/dev.jsonl`` of ``--corpora``:

- corpus: every reply in the file (id = msg_id); the relevant document of a query is its own reply;
- message queries: title + detail of the rows with ``eval_query``;
- proposal-style queries: ``benchmarks/data/proposal_queries.jsonl`` (hand-written, see its meta file);
  their character-bigram overlap with the reply is measured and reported;
- each query set is split into a dev and a test half by a hash of msg_id; settings (tokenizer, fusion)
  are chosen on the dev halves (mean MRR@10 of the two query styles) and reported on the test halves
  (full-set numbers are printed too);
- systems: character TF-IDF (1-3 grams, the reference of the issue, sklearn), BM25 per tokenizer, the
  govnlp lexical kinds ``tfidf`` (char 1-3 TF-IDF cosine) and ``bm25+tfidf`` (the max-normalised mix),
  the default dense model, and hybrid fusions, each on raw and on cleaned replies, all through
  SearchIndex (the product path) except the TF-IDF reference;
- lexical choices on the dev halves: the BM25 tokenizer (lexical search alone), BM25 (k1, b) (lexical
  search alone), then the lexical kind (bm25, bm25+tfidf with TF-IDF share 0.3/0.5/0.7, tfidf) jointly
  with the fusion (full grid for bm25 and the 0.5 mix, z-score fusion for the rest);
- adaptation: time split of the eval rows (older half trains ``fine_tune``, newer half tests); before and
  after on the same newer test queries against the newer replies, for both query styles;
- cleaning: how much of the weakly annotated opening/closing formulas ``clean_for_index`` removes.

Speed (``--part speed``) runs ``benchmarks/search_speed.run()``.

Embeddings are cached under /tmp (``GOVNLP_BENCH_CACHE``); the cache returns exactly the vectors the
embedder computed for the same text, so cached and fresh runs give the same numbers.

Usage:
    nice -n 10 python benchmarks/bench_search.py --part quality
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from embed_cache import CachedEmbedder  # noqa: E402
from govnlp.cleaning import clean_for_index, normalize_whitespace  # noqa: E402
from govnlp.evaluation import retrieval_report  # noqa: E402

logger = logging.getLogger("bench_search")

K = 10
TOKENIZERS = ("bigram", "bigram-only", "jieba")
#: BM25 parameters tried (lexical search alone, best tokenizer, clean replies, dev halves).
BM25_GRID = [(k1, b) for k1 in (0.9, 1.2, 1.5, 2.0) for b in (0.5, 0.75, 0.9, 1.0)]
#: TF-IDF shares tried for the bm25+tfidf mix.
MIX_WEIGHTS = (0.3, 0.5, 0.7)
FUSION_GRID: list[dict[str, Any]] = [
    {"method": "rrf", "k": k, "alpha": a} for k in (10, 30, 60) for a in (0.3, 0.4, 0.5, 0.6, 0.7)
] + [
    {"method": "score", "norm": n, "alpha": a}
    for n in ("minmax", "zscore")
    for a in (0.3, 0.4, 0.5, 0.6, 0.7)
]
#: The smaller grid run for the secondary lexical candidates.
ZSCORE_GRID = [cfg for cfg in FUSION_GRID if cfg.get("norm") == "zscore"]


# --------------------------------------------------------------------------------------------- data
def _time(s: str) -> datetime:
    return datetime.strptime(s, "%Y/%m/%d %H:%M:%S" if s.count(":") == 2 else "%Y/%m/%d %H:%M")


def _h(msg_id: Any) -> int:
    return int(hashlib.sha1(str(msg_id).encode()).hexdigest(), 16)


def is_dev(msg_id: Any) -> bool:
    """The dev/test split of a query: parity of sha1(msg_id)."""
    return _h(msg_id) % 2 == 0


def in_sample(msg_id: Any) -> bool:
    """The message-query sample used for the dense and hybrid runs: sha1(msg_id) % 12 < 2 (about a sixth;
    its dev/test halves are the residues 0 and 1). Encoding all 1,762 messages with e5 did not fit the
    CPU time of the run (2 cores shared by several jobs: about 1 text/s); lexical systems and TF-IDF are
    reported on the full set too (messages_full)."""
    return _h(msg_id) % 12 < 2


def load_data(corpora: Path, limit: int | None = None) -> dict[str, Any]:
    path = corpora / "message_reply" / "dev.jsonl"
    if not path.is_file():
        raise SystemExit(f"{path} not found: pass --corpora DIR (the folder holding message_reply/)")
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    if limit:  # smoke runs: the rows of the proposal queries plus the first `limit` rows
        keep = {str(json.loads(line)["msg_id"]) for line in (HERE / "data" / "proposal_queries.jsonl").open()}
        rows = [r for i, r in enumerate(rows) if i < limit or str(r["msg_id"]) in keep]
    by_id = {str(r["msg_id"]): r for r in rows}
    ev = [r for r in rows if r["eval_query"]]
    messages = [
        {"id": str(r["msg_id"]), "query": f"{r['title']}\n{r['detail']}", "time": _time(r["time"])}
        for r in ev
    ]
    props = [json.loads(line) for line in (HERE / "data" / "proposal_queries.jsonl").open(encoding="utf-8")]
    proposals = [
        {"id": str(p["msg_id"]), "query": p["query"], "time": _time(by_id[str(p["msg_id"])]["time"])}
        for p in props
    ]
    return {"rows": rows, "by_id": by_id, "messages": messages, "proposals": proposals}


def bigrams(text: str) -> set[str]:
    t = re.sub(r"[\s\W_]+", "", normalize_whitespace(text))
    return {t[i : i + 2] for i in range(len(t) - 1)}


def overlap_stats(queries: list[dict[str, Any]], by_id: dict[str, Any]) -> dict[str, Any]:
    jac, con = [], []
    for q in queries:
        a = bigrams(q["query"])
        b = bigrams(clean_for_index(by_id[q["id"]]["reply"]))
        if not a:
            continue
        jac.append(len(a & b) / len(a | b))
        con.append(len(a & b) / len(a))
    return {
        "n": len(jac),
        "jaccard_mean": round(statistics.mean(jac), 4),
        "jaccard_max": round(max(jac), 4),
        "containment_mean": round(statistics.mean(con), 4),
        "containment_max": round(max(con), 4),
        "chars_mean": round(statistics.mean(len(q["query"]) for q in queries), 1),
    }


_BODY = "经核查，该路段的破损路面已列入今年的维修计划，施工单位将于下月进场，预计两周内完工。"


def cleaning_stats(corpora: Path, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Share of annotated formula characters removed, and of reply characters kept."""
    import csv

    out: dict[str, Any] = {}
    seg_path = corpora / "reply_annotations" / "reply_segments.csv"
    if seg_path.is_file():
        groups: dict[str, list[float]] = {}
        for row in csv.DictReader(seg_path.open(encoding="utf-8")):
            seg = normalize_whitespace(row["segment"])
            if not seg:
                continue
            # measured in context: a formula alone would be kept by the formula-only fallback
            text = seg + _BODY if row["task"] == "is_opening" else _BODY + seg
            removed = min(1.0, max(0.0, (len(text) - len(clean_for_index(text))) / len(seg)))
            groups.setdefault(f"{row['task']}_label{row['label']}", []).append(removed)
        out["annotated_segments"] = {
            k: {
                "n": len(v),
                "chars_removed_mean": round(statistics.mean(v), 4),
                "fully_removed_share": round(sum(x >= 0.9 for x in v) / len(v), 4),
            }
            for k, v in sorted(groups.items())
        }
        out["annotated_segments_note"] = (
            "each segment is cleaned inside a one-sentence body written for the benchmark (after it for "
            "openings, before it for closings); chars_removed = share of the segment's characters removed. "
            "label1 = segment annotated as an opening/closing formula (weak student annotation; some label-1 "
            "closings hold a content sentence before the formula). label0 segments of one task are often the "
            "formula of the other task (closings in is_opening), so they are not a precision measure."
        )
    raw = [normalize_whitespace(r["reply"]) for r in rows]
    cleaned = [clean_for_index(r["reply"]) for r in rows]
    out["dev_replies"] = {
        "n": len(raw),
        "chars_raw_mean": round(statistics.mean(len(t) for t in raw), 1),
        "chars_clean_mean": round(statistics.mean(len(t) for t in cleaned), 1),
        "share_kept": round(sum(map(len, cleaned)) / sum(map(len, raw)), 4),
    }
    t0 = time.perf_counter()
    for t in raw:
        clean_for_index(t)
    out["dev_replies"]["clean_ms_per_reply"] = round(1000 * (time.perf_counter() - t0) / len(raw), 3)
    return out


# ---------------------------------------------------------------------------------------- evaluation
def halves(queries: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    return {
        "all": queries,
        "dev": [q for q in queries if is_dev(q["id"])],
        "test": [q for q in queries if not is_dev(q["id"])],
    }


def report_runs(ranked: dict[str, list[str]], queries: list[dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for name, part in halves(queries).items():
        out[name] = retrieval_report([ranked[q["id"]] for q in part], [{q["id"]} for q in part], k=K)
    return out


def run_index(index: Any, queries: list[dict[str, Any]], mode: str) -> dict[str, list[str]]:
    hits = index.search_batch([q["query"] for q in queries], k=K, mode=mode, show_progress_bar=False)
    return {q["id"]: [h.id for h in hs] for q, hs in zip(queries, hits, strict=True)}


def tfidf_runs(docs: dict[str, str], queries: list[dict[str, Any]]) -> dict[str, list[str]]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    ids = list(docs)
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    d = vec.fit_transform([docs[i] for i in ids])
    s = (vec.transform([q["query"] for q in queries]) @ d.T).toarray()
    top = np.argsort(-s, axis=1, kind="stable")[:, :K]
    return {q["id"]: [ids[j] for j in row] for q, row in zip(queries, top, strict=True)}


def build_index(
    records: list[dict[str, Any]],
    embedder: Any,
    *,
    clean: bool,
    tokenizer: str | None,
    fusion: Any = None,
    lexical: str = "bm25",
    **options: Any,
) -> Any:
    from govnlp.search import SearchIndex

    return SearchIndex.build(
        records,
        embedder=embedder,
        clean=clean,
        tokenizer=tokenizer,
        lexical=lexical,
        fusion=fusion,
        **options,
        index_type="exact",
        show_progress_bar=False,
    )


def set_fusion(index: Any, cfg: dict[str, Any]) -> None:
    from govnlp.search import fusion_config

    index.fusion = fusion_config(cfg)


def style_score(res: dict[str, dict[str, Any]], part: str) -> float:
    """Mean MRR@10 of the two query styles on one half (the selection criterion)."""
    return round((res["messages"][part][f"mrr@{K}"] + res["proposals"][part][f"mrr@{K}"]) / 2, 4)


def evaluate(index: Any, sets: dict[str, list[dict[str, Any]]], mode: str) -> dict[str, Any]:
    return {name: report_runs(run_index(index, qs, mode), qs) for name, qs in sets.items()}


# ------------------------------------------------------------------------------------------- quality
def quality(args: argparse.Namespace) -> dict[str, Any]:
    from govnlp.embedders import load_embedder

    data = load_data(Path(args.corpora), args.limit)
    rows, by_id = data["rows"], data["by_id"]
    sample = [m for m in data["messages"] if args.msg_queries == "all" or in_sample(m["id"])]
    sets = {"messages": sample, "proposals": data["proposals"]}
    full_sets = {"messages_full": data["messages"]}
    res: dict[str, Any] = {
        "protocol": {
            "corpus": f"all {len(rows)} replies of message_reply/dev.jsonl",
            "message_queries": {k: len(v) for k, v in halves(sets["messages"]).items()},
            "message_queries_note": "all eval_query messages"
            if args.msg_queries == "all"
            else in_sample.__doc__,
            "message_queries_full": {k: len(v) for k, v in halves(full_sets["messages_full"]).items()},
            "proposal_queries": {k: len(v) for k, v in halves(sets["proposals"]).items()},
            "split": "dev/test halves by sha1(msg_id) parity; choices made on dev (mean MRR@10 of both styles), "
            "reported on test",
            "k": K,
        },
        "proposal_query_overlap": {
            "proposals_vs_own_cleaned_reply": overlap_stats(sets["proposals"], by_id),
            "messages_vs_own_cleaned_reply": overlap_stats(sets["messages"], by_id),
            "measure": "character bigrams (punctuation and spaces removed): Jaccard |Q∩R|/|Q∪R|, containment |Q∩R|/|Q|",
        },
        "cleaning": cleaning_stats(Path(args.corpora), rows),
    }
    logger.info("overlap: %s", res["proposal_query_overlap"])

    records = [{"id": str(r["msg_id"]), "text": r["reply"]} for r in rows]
    raw_docs = {r["id"]: r["text"] for r in records}
    clean_docs = {r["id"]: clean_for_index(r["text"]) for r in records}
    systems: dict[str, Any] = {}
    for label, docs in (("raw", raw_docs), ("clean", clean_docs)):
        systems[f"tfidf-char1-3/{label}"] = {
            name: report_runs(tfidf_runs(docs, qs), qs) for name, qs in {**sets, **full_sets}.items()
        }
    base = CachedEmbedder(load_embedder(args.embedder))
    res["embedder"] = {"name": base.name, "fingerprint": base.fingerprint()[:16], "dim": base.dim}
    indexes: dict[tuple[str, str], Any] = {}
    raw_dense_all = args.raw_dense == "all"
    for clean in (True, False):
        label = "clean" if clean else "raw"
        for tok in TOKENIZERS:
            t0 = time.perf_counter()
            emb = base if (clean or raw_dense_all) else "hash"
            idx = build_index(records, emb, clean=clean, tokenizer=tok)
            indexes[(label, tok)] = idx
            systems[f"bm25-{tok}/{label}"] = evaluate(idx, {**sets, **full_sets}, "lexical")
            logger.info("bm25-%s/%s built+searched in %.1fs", tok, label, time.perf_counter() - t0)
        if emb != "hash":
            systems[f"dense-e5/{label}"] = evaluate(indexes[(label, "bigram")], sets, "dense")
    res["systems"] = systems

    # choose the tokenizer on the dev halves (clean replies, lexical search alone)
    tok_scores = {tok: style_score(systems[f"bm25-{tok}/clean"], "dev") for tok in TOKENIZERS}
    best_tok = max(TOKENIZERS, key=lambda t: (tok_scores[t], t == "bigram"))

    # other lexical kinds (govnlp.search.lexical): TF-IDF cosine over character 1-3-grams, and the bm25+tfidf mix
    for clean in (True, False):
        label = "clean" if clean else "raw"
        emb = base if clean else "hash"
        for kind, tok in (("tfidf", None), ("bm25+tfidf", best_tok)):
            idx = build_index(records, emb, clean=clean, tokenizer=tok, lexical=kind)
            indexes[(label, kind)] = idx
            name = "tfidf-char1-3(govnlp)" if kind == "tfidf" else f"bm25+tfidf({best_tok})"
            systems[f"{name}/{label}"] = evaluate(idx, {**sets, **full_sets}, "lexical")

    # BM25 parameters, lexical search alone (clean replies, best tokenizer)
    bm25_rows = []
    for k1, b in BM25_GRID:
        idx = build_index(records, "hash", clean=True, tokenizer=best_tok, bm25_k1=k1, bm25_b=b)
        r = evaluate(idx, sets, "lexical")
        bm25_rows.append(
            {
                "k1": k1,
                "b": b,
                "dev_score": style_score(r, "dev"),
                "test": {st: r[st]["test"][f"mrr@{K}"] for st in sets},
            }
        )
    best_bm25 = max(bm25_rows, key=lambda x: (x["dev_score"], (x["k1"], x["b"]) == (1.2, 0.75)))
    tuned = (best_bm25["k1"], best_bm25["b"])

    # hybrid: each lexical candidate with its fusion grid; the pair with the best dev score wins
    candidates: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = [
        ("bm25", {"tokenizer": best_tok}, FUSION_GRID),
        ("bm25+tfidf", {"tokenizer": best_tok, "weight": 0.5}, FUSION_GRID),
        *[("bm25+tfidf", {"tokenizer": best_tok, "weight": w}, ZSCORE_GRID) for w in MIX_WEIGHTS if w != 0.5],
        ("tfidf", {"tokenizer": "char1-3"}, ZSCORE_GRID),
    ]
    if tuned != (1.2, 0.75):
        candidates.append(
            ("bm25+tfidf", {"tokenizer": best_tok, "weight": 0.5, "k1": tuned[0], "b": tuned[1]}, ZSCORE_GRID)
        )
        candidates.append(("bm25", {"tokenizer": best_tok, "k1": tuned[0], "b": tuned[1]}, ZSCORE_GRID))
    fusion_rows = []
    for kind, params, grid in candidates:
        if kind == "bm25" and "k1" not in params:
            idx = indexes[("clean", best_tok)]
        elif kind == "tfidf":
            idx = indexes[("clean", "tfidf")]
        else:
            idx = build_index(
                records,
                base,
                clean=True,
                tokenizer=params["tokenizer"] if kind != "tfidf" else None,
                lexical=kind,
                bm25_k1=params.get("k1", 1.2),
                bm25_b=params.get("b", 0.75),
            )
        if kind == "bm25+tfidf":
            idx.lexical.weight = params["weight"]  # the mix's TF-IDF share (read at query time)
        lex = {"kind": kind, **params}
        for cfg in grid:
            set_fusion(idx, cfg)
            r = evaluate(idx, sets, "hybrid")
            fusion_rows.append(
                {"lexical": lex, "config": idx.fusion, "dev_score": style_score(r, "dev"), "results": r}
            )
        logger.info("fusion grid for %s done", lex)
    best = max(fusion_rows, key=lambda f: f["dev_score"])
    bm25_rows_h = [f for f in fusion_rows if f["lexical"] == {"kind": "bm25", "tokenizer": best_tok}]
    best_bm25_h = max(bm25_rows_h, key=lambda f: f["dev_score"])
    plain = next(
        f
        for f in bm25_rows_h
        if f["config"]["method"] == "rrf" and f["config"]["k"] == 60 and f["config"]["alpha"] == 0.5
    )
    # query-length-aware weighting: messages (~365 characters) and proposal queries (30-80) separate
    # perfectly by length, so the best dense weight per style on dev bounds what such a rule could gain
    sel_rows = [
        f
        for f in fusion_rows
        if f["lexical"] == best["lexical"]
        and f["config"]["method"] == best["config"]["method"]
        and f["config"]["norm"] == best["config"]["norm"]
    ]
    per_style = {st: max(sel_rows, key=lambda f, st=st: f["results"][st]["dev"][f"mrr@{K}"]) for st in sets}
    res["selection"] = {
        "tokenizer_dev_scores": tok_scores,
        "tokenizer": best_tok,
        "bm25_params_grid": bm25_rows,
        "bm25_params_best": {"k1": tuned[0], "b": tuned[1], "dev_score": best_bm25["dev_score"]},
        "lexical": best["lexical"],
        "fusion": best["config"],
        "fusion_dev_score": best["dev_score"],
        "bm25_only_best": {
            "lexical": best_bm25_h["lexical"],
            "fusion": best_bm25_h["config"],
            "dev_score": best_bm25_h["dev_score"],
        },
        "plain_rrf_dev_score": plain["dev_score"],
        "length_aware_alpha_bound": {
            "per_style_best_alpha_dev": {
                st: {"alpha": f["config"]["alpha"], f"mrr@{K}": f["results"][st]["dev"][f"mrr@{K}"]}
                for st, f in per_style.items()
            },
            "dev_score_if_alpha_per_style": round(
                sum(f["results"][st]["dev"][f"mrr@{K}"] for st, f in per_style.items()) / len(sets), 4
            ),
            "note": "the selected lexical kind and normalisation; an upper bound for a rule that sets the "
            "dense weight by query length (the two styles separate perfectly by length)",
        },
        "criterion": "mean MRR@10 of message and proposal queries on their dev halves",
    }
    res["fusion_grid"] = [
        {
            "lexical": f["lexical"],
            "config": f["config"],
            "dev_score": f["dev_score"],
            "test": {s: f["results"][s]["test"] for s in sets},
        }
        for f in fusion_rows
    ]
    lex_label = best["lexical"]["kind"] + f"({best['lexical']['tokenizer']})"
    systems[f"hybrid-rrf60/clean(bm25 {best_tok})"] = plain["results"]
    systems[f"hybrid-bm25-selected/clean(bm25 {best_tok})"] = best_bm25_h["results"]
    systems[f"hybrid-selected/clean({lex_label})"] = best["results"]
    if raw_dense_all:
        raw_idx = indexes[("raw", best_tok)]
        for name, cfg in (("hybrid-rrf60", plain["config"]), ("hybrid-bm25-selected", best_bm25_h["config"])):
            set_fusion(raw_idx, cfg)
            systems[f"{name}/raw(bm25 {best_tok})"] = evaluate(raw_idx, sets, "hybrid")

    if not args.skip_finetune:
        res["adaptation"] = adaptation(args, data, base, best_tok, best["config"], best["lexical"])
    elif args.previous_adaptation is not None:
        res["adaptation"] = {
            **args.previous_adaptation,
            "reused": "not rerun (--skip-finetune): copied from the previous results file. Its dense numbers "
            "do not depend on the lexical side; its hybrid and lexical numbers were measured with the "
            f"lexical index and fusion of that run ({args.previous_adaptation.get('lexical_setting', 'bm25 ' + best_tok + ', score/zscore alpha 0.4')}), "
            "not with the selection above.",
        }
    return res


# ---------------------------------------------------------------------------------------- adaptation
def time_split(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    ordered = sorted(messages, key=lambda m: (m["time"], int(m["id"])))
    half = len(ordered) // 2
    return ordered[:half], ordered[half:]


def adaptation(
    args: argparse.Namespace,
    data: dict[str, Any],
    base: Any,
    tok: str,
    fusion: dict[str, Any],
    lexical: dict[str, Any] | None = None,
) -> dict[str, Any]:
    from govnlp.embedders import load_embedder
    from govnlp.embedders.finetune import fine_tune, pairs_from_messages

    by_id = data["by_id"]
    older, newer = time_split(data["messages"])
    newer_ids = {m["id"] for m in newer}
    cutoff = newer[0]["time"]
    props = [p for p in data["proposals"] if p["id"] in newer_ids]
    msg_q = newer if args.ft_msg_queries == "all" else [m for m in newer if in_sample(m["id"])]
    sets = {"messages": msg_q, "proposals": props}
    # the test corpus: every reply of the file (as in the main table: older replies are distractors),
    # or only the replies of the test queries (a smaller, easier corpus; cheaper to re-encode)
    if args.ft_corpus == "all":
        corpus_ids = sorted(by_id, key=int)
    else:
        corpus_ids = sorted({m["id"] for m in msg_q} | {p["id"] for p in props}, key=int)
    records = [{"id": i, "text": by_id[i]["reply"]} for i in corpus_ids]
    out: dict[str, Any] = {
        "protocol": {
            "train": f"{len(older)} older eval rows (message time < {cutoff:%Y-%m-%d %H:%M})",
            "test_corpus": f"all {len(records)} replies of the file"
            if args.ft_corpus == "all"
            else f"the {len(records)} replies of the test queries (all from the newer half)",
            "message_queries": f"{len(msg_q)} newer messages ({args.ft_msg_queries}: {in_sample.__doc__.split('(')[0].strip() if args.ft_msg_queries == 'sample' else 'all'})",
            "proposal_queries": f"{len(props)} (all proposal queries; their rows are all in the newer half)",
            "selection": "one configuration, fixed before looking at the test queries (no tuning on them)",
        }
    }
    older_rows = [by_id[m["id"]] for m in older]
    cfg = {
        "rewrite": args.ft_rewrite,
        "learning_rate": args.ft_lr,
        "epochs": args.ft_epochs,
        "batch_size": 16,
        "max_seq_length": args.ft_max_seq_length,
        "freeze_embeddings": True,
        "freeze_layers": args.ft_freeze_layers,
        "max_steps": args.ft_max_steps or None,
    }
    pairs = pairs_from_messages(older_rows, rewrite=args.ft_rewrite)
    n_message_pairs = len(pairs)
    if args.ft_reply_pairs:
        # problem -> measure pairs of parsed replies (reply_excerpts: other cities' replies to deputies'
        # suggestions, no overlap with message_reply): proposal-style queries next to the messages
        from govnlp import parse_reply
        from govnlp.embedders.finetune import pairs_from_replies

        docs = [
            parse_reply(f) for f in sorted((Path(args.corpora) / "reply_excerpts" / "docs").glob("*.txt"))
        ]
        pairs = pairs + pairs_from_replies(docs)
        cfg["reply_pairs"] = len(pairs) - n_message_pairs
    ft_dir = (
        Path(args.ft_model)
        if args.ft_model
        else Path("/tmp/govnlp_bench_ft")
        / (
            f"ft-{args.ft_rewrite}-{args.ft_lr}-{args.ft_freeze_layers}-{args.ft_max_steps}"
            + (f"-e{args.ft_epochs}" if args.ft_epochs != 1 else "")
            + ("-replies" if args.ft_reply_pairs else "")
        )
    )
    if not (ft_dir / "modules.json").is_file():
        t0 = time.perf_counter()
        fine_tune(
            pairs,
            out=ft_dir,
            base=None,
            overwrite=True,
            show_progress_bar=False,
            **{k: v for k, v in cfg.items() if k not in ("rewrite", "reply_pairs")},
        )
        logger.info("fine-tuned in %.1fs", time.perf_counter() - t0)
    manifest = json.loads((ft_dir / "manifest.json").read_text())
    out["fine_tune"] = {
        "config": cfg,
        "pairs": len(pairs),
        "message_pairs": n_message_pairs,
        "manifest": manifest,
        "train_seconds": manifest.get("train_seconds"),
        "cpu_count": os.cpu_count(),
    }
    tuned = CachedEmbedder(load_embedder(ft_dir))
    lex = dict(lexical or {"kind": "bm25", "tokenizer": tok})
    out["lexical_setting"] = lex
    kind, weight = lex.pop("kind"), lex.pop("weight", None)
    opts = {"lexical": kind, "bm25_k1": lex.get("k1", 1.2), "bm25_b": lex.get("b", 0.75)}

    def build(recs: list[dict[str, Any]], emb: Any, clean: bool) -> Any:
        idx = build_index(recs, emb, clean=clean, tokenizer=lex.get("tokenizer", tok), fusion=fusion, **opts)
        if weight is not None:
            idx.lexical.weight = weight
        return idx

    if args.raw_dense == "newer":
        idx = build(records, base, False)
        out["before_raw_replies"] = {
            "dense": evaluate(idx, sets, "dense"),
            "hybrid": evaluate(idx, sets, "hybrid"),
        }
    for label, emb in (("before", base), ("after", tuned)):
        idx = build(records, emb, True)
        out[label] = {"dense": evaluate(idx, sets, "dense"), "hybrid": evaluate(idx, sets, "hybrid")}
        if label == "after":
            # a stronger dense side deserves more weight: the dense share of the fusion re-chosen for the
            # tuned model on the dev halves of the newer queries (reported on their test halves)
            grid = []
            for alpha in (0.3, 0.4, 0.5, 0.6, 0.7):
                set_fusion(idx, {**fusion, "alpha": alpha})
                r = evaluate(idx, sets, "hybrid")
                grid.append({"alpha": alpha, "dev_score": style_score(r, "dev"), "results": r})
            best = max(grid, key=lambda g: (g["dev_score"], g["alpha"] == fusion.get("alpha")))
            out["after_fusion_retuned"] = {
                "alpha": best["alpha"],
                "criterion": "mean MRR@10 of both styles on the dev halves (sha1 parity) of the newer queries",
                "hybrid": best["results"],
                "grid": [{"alpha": g["alpha"], "dev_score": g["dev_score"]} for g in grid],
            }
            set_fusion(idx, fusion)
        if label == "before":
            out["lexical"] = evaluate(idx, sets, "lexical")
            docs = {r["id"]: r["text"] for r in records}
            out["tfidf-char1-3/raw"] = {n: report_runs(tfidf_runs(docs, qs), qs) for n, qs in sets.items()}
    out["gain_over_char_tfidf"] = {
        split: {
            label: {
                mode: {
                    st: round(
                        out[label][mode][st][split][f"mrr@{K}"]
                        - out["tfidf-char1-3/raw"][st][split][f"mrr@{K}"],
                        4,
                    )
                    for st in sets
                }
                for mode in ("dense", "hybrid")
                if mode in out[label]
            }
            for label in ("before", "after", "after_fusion_retuned")
        }
        for split in ("all", "test")
    }
    return out


def adaptation_only(args: argparse.Namespace, previous: dict[str, Any]) -> dict[str, Any]:
    """Rerun only the adaptation block with the lexical kind and fusion the last quality run selected."""
    from govnlp.embedders import load_embedder

    sel = previous.get("quality", {}).get("selection")
    if not sel:
        raise SystemExit(
            "--part adaptation needs a results file with a quality selection: run --part quality"
        )
    data = load_data(Path(args.corpora), args.limit)
    base = CachedEmbedder(load_embedder(args.embedder))
    lexical = dict(sel["lexical"])
    return adaptation(args, data, base, lexical.get("tokenizer", "bigram"), sel["fusion"], lexical)


# ------------------------------------------------------------------------------------------- output
def machine() -> dict[str, Any]:
    import torch

    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "load_average_at_end": load,
    }


def summary(res: dict[str, Any]) -> str:
    lines = []
    q = res.get("quality", {})
    if "systems" in q:
        lines.append(
            f"{'system':40s} {'msg MRR':>8s} {'R@1':>6s} {'R@10':>6s} | {'prop MRR':>8s} {'R@1':>6s} {'R@10':>6s}   (test halves; all)"
        )
        for name, r in q["systems"].items():
            m, p = r["messages"]["test"], r["proposals"]["test"]
            ma, pa = r["messages"]["all"], r["proposals"]["all"]
            lines.append(
                f"{name:40s} {m['mrr@10']:8.4f} {m['recall@1']:6.4f} {m['recall@10']:6.4f} | "
                f"{p['mrr@10']:8.4f} {p['recall@1']:6.4f} {p['recall@10']:6.4f}   "
                f"(all: {ma['mrr@10']:.4f} / {pa['mrr@10']:.4f})"
            )
        sel = {k: v for k, v in q["selection"].items() if k != "bm25_params_grid"}
        lines.append(f"selection: {json.dumps(sel, ensure_ascii=False)}")
        lines.append(f"overlap: {json.dumps(q['proposal_query_overlap'], ensure_ascii=False)}")
    a = q.get("adaptation")
    if a:
        lines.append("adaptation (time split; newer queries vs newer replies), MRR@10 all / R@1 / R@10:")
        for label in ("before_raw_replies", "before", "after", "after_fusion_retuned"):
            if label not in a:
                continue
            for mode in ("dense", "hybrid"):
                if mode not in a[label]:
                    continue
                for style in ("messages", "proposals"):
                    r = a[label][mode][style]["all"]
                    lines.append(
                        f"  {label:18s} {mode:6s} {style:9s} {r['mrr@10']:.4f} {r['recall@1']:.4f} {r['recall@10']:.4f}"
                    )
        for style in ("messages", "proposals"):
            r = a["tfidf-char1-3/raw"][style]["all"]
            lines.append(
                f"  {'tfidf (raw replies)':25s} {style:9s} {r['mrr@10']:.4f} {r['recall@1']:.4f} {r['recall@10']:.4f}"
            )
        if "gain_over_char_tfidf" in a:
            lines.append(f"  gain over char TF-IDF (MRR@10, all): {json.dumps(a['gain_over_char_tfidf'])}")
        lines.append(
            f"  fine-tune wall time: {a['fine_tune']['train_seconds']} s on {a['fine_tune']['cpu_count']} cores"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", choices=("quality", "speed", "adaptation", "all"), default="quality")
    p.add_argument("--corpora", default=str(HERE.parent.parent / "shared" / "corpora"))
    p.add_argument("--out", default=str(HERE / "results" / "bench_search.json"))
    p.add_argument(
        "--raw-dense",
        choices=("none", "newer", "all"),
        default="newer",
        help="dense/hybrid on raw (uncleaned) replies: on all replies, on the newer half only, or not at all",
    )
    p.add_argument("--skip-finetune", action="store_true")
    p.add_argument("--ft-model", default=None, help="an already fine-tuned folder (its manifest is recorded)")
    p.add_argument("--ft-rewrite", default="mix", choices=("none", "title", "mix"))
    p.add_argument("--ft-lr", type=float, default=2e-5)
    p.add_argument("--ft-freeze-layers", type=int, default=6)
    p.add_argument("--ft-max-steps", type=int, default=24, help="0: no cap (the epochs decide)")
    p.add_argument("--ft-epochs", type=int, default=1)
    p.add_argument("--ft-max-seq-length", type=int, default=128)
    p.add_argument(
        "--ft-reply-pairs",
        action="store_true",
        help="add the problem -> measure pairs of the parsed reply_excerpts to the training pairs",
    )
    p.add_argument("--ft-msg-queries", default="all", choices=("all", "sample"))
    p.add_argument(
        "--ft-corpus",
        default="all",
        choices=("all", "queries"),
        help="adaptation test corpus: every reply of the file, or only the test queries' replies",
    )
    p.add_argument(
        "--msg-queries",
        default="all",
        choices=("all", "sample"),
        help="message queries of the main table: all eval_query rows, or the sixth sample (in_sample)",
    )
    p.add_argument(
        "--embedder", default=None, help="embedder spec (default: the default model); 'hash' for a smoke run"
    )
    p.add_argument(
        "--limit", type=int, default=None, help="smoke runs: only the first N rows (+ proposal rows)"
    )
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(asctime)s %(name)s %(message)s"
    )
    logger.setLevel(logging.INFO)
    started = time.perf_counter()
    out_path = Path(args.out)
    res: dict[str, Any] = json.loads(out_path.read_text()) if out_path.is_file() else {}
    args.previous_adaptation = res.get("quality", {}).get("adaptation")
    res["benchmark"] = "bench_search"
    if args.part in ("quality", "all"):
        res["quality"] = quality(args)
    if args.part == "adaptation":
        res.setdefault("quality", {})["adaptation"] = adaptation_only(args, res)
    if args.part in ("speed", "all"):
        try:
            from search_speed import run as speed_run
        except ImportError as exc:
            raise SystemExit(f"benchmarks/search_speed.py is missing ({exc}); run --part quality") from exc
        res["speed"] = speed_run()
    res["machine"] = machine()
    if args.part == "adaptation":  # the other parts' times stay as their runs wrote them
        res["quality"]["adaptation"]["seconds"] = round(time.perf_counter() - started, 1)
    else:
        res["seconds"] = round(time.perf_counter() - started, 1)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(
        json.dumps(res, ensure_ascii=False, indent=1, sort_keys=True, default=str), encoding="utf-8"
    )
    print(summary(res))
    print(f"wrote {out_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
