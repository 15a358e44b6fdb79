"""Measure-level matching: does a problem find its own measures among all measures of all replies?

The main job of govnlp is to match a proposal's problems to past measures, so this benchmark ranks
*measures*, not whole replies. The corpus is every measure that ``parse_reply`` finds in:

- ``reply_excerpts/docs/*.txt`` of ``--corpora`` (beginnings of real replies to deputies' suggestions and
  CPPCC proposals),
- the seed reply (``--seed``),
- the replies of ``message_reply/dev.jsonl`` that hold measures (一是… 二是… items),
- two fixture replies written for govnlp (``benchmarks/data/match_fixtures/``).

Query sets (the relevant items of a query are the measures of its group; measures whose text repeats in
another reply count as relevant too):

- ``quoted_problems``: each problem a reply quotes (``针对“…”的问题``, a problems section) with the
  measures filed under it;
- ``proposal_titles``: the proposal title a reply answers (``关于…的建议``) -> all measures of the reply;
- ``message_titles``: an eval message's title made a short problem statement
  (``govnlp.embedders.finetune.title_as_problem``) -> the measures of its own reply;
- ``proposal_queries``: the hand-written proposal-style queries (``benchmarks/data/proposal_queries.jsonl``)
  whose reply holds measures -> those measures.

Methods: character 1-3-gram TF-IDF (scikit-learn, sublinear tf, cosine, fitted on the measures: the
reference), BM25 (govnlp, ``lexical="bm25"``), the default lexical side, dense (default model), the
default hybrid, and plain RRF (dense + govnlp's char TF-IDF, k=60, equal weights); all but the reference
through ``SearchIndex`` (the product path). Reported: MRR@10, nDCG@5, Recall@1, Recall@10.

Embeddings are cached per window under /tmp (``embed_cache.WindowCachedEmbedder``).

Usage:
    nice -n 10 python benchmarks/bench_match.py [--embedder e5-onnx]
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from embed_cache import WindowCachedEmbedder  # noqa: E402
from govnlp.evaluation import ndcg_at_k, retrieval_report  # noqa: E402

logger = logging.getLogger("bench_match")
K = 10
SETS = ("quoted_problems", "proposal_titles", "message_titles", "proposal_queries")


def parse_sources(corpora: Path, seed: Path) -> list[tuple[str, Any, dict[str, Any]]]:
    """``[(source, ReplyDocument, extra)]`` for every reply of the benchmark (extra: message row)."""
    from govnlp import parse_reply

    out: list[tuple[str, Any, dict[str, Any]]] = []
    for f in sorted((corpora / "reply_excerpts" / "docs").glob("*.txt")):
        out.append(("excerpt", parse_reply(f), {}))
    if seed.is_file():
        out.append(("seed", parse_reply(seed), {}))
    for f in sorted((HERE / "data" / "match_fixtures").glob("*.txt")):
        out.append(("fixture", parse_reply(f), {}))
    for line in (corpora / "message_reply" / "dev.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        out.append(("message", parse_reply(row["reply"]), row))
    return out


def build_sets(
    sources: list[tuple[str, Any, dict[str, Any]]],
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """The measure records and the query sets."""
    from govnlp.embedders.finetune import title_as_problem

    records: list[dict[str, Any]] = []
    by_text: dict[str, set[str]] = {}
    doc_measures: list[list[str]] = []
    for d_i, (src, doc, _) in enumerate(sources):
        ids = []
        for m_i, m in enumerate(doc.measures):
            if not m.text.strip():
                continue
            rid = f"{src}:{d_i}:{m_i}"
            records.append({"id": rid, "text": m.text, "source": src, "problem": m.problem or ""})
            by_text.setdefault(m.text.strip(), set()).add(rid)
            ids.append(rid)
        doc_measures.append(ids)
    text_of = {r["id"]: r["text"].strip() for r in records}

    def relevant(ids: list[str]) -> set[str]:
        return set().union(*(by_text[text_of[i]] for i in ids)) if ids else set()

    sets: dict[str, list[dict[str, Any]]] = {s: [] for s in SETS}
    props = {
        str(p["msg_id"]): p["query"]
        for p in map(json.loads, (HERE / "data" / "proposal_queries.jsonl").open(encoding="utf-8"))
    }
    for d_i, (src, doc, row) in enumerate(sources):
        ids = doc_measures[d_i]
        if not ids:
            continue
        groups: dict[str, list[str]] = {}
        for m_i, m in enumerate(doc.measures):
            rid = f"{src}:{d_i}:{m_i}"
            if m.problem and rid in text_of:
                groups.setdefault(m.problem, []).append(rid)
        for problem, g in groups.items():
            sets["quoted_problems"].append(
                {
                    "id": f"{src}:{d_i}:p:{problem[:20]}",
                    "query": problem,
                    "relevant": relevant(g),
                    "source": src,
                }
            )
        title = doc.proposal_title
        if title and src != "message":
            sets["proposal_titles"].append(
                {"id": f"{src}:{d_i}:t", "query": title, "relevant": relevant(ids), "source": src}
            )
        if src == "message" and row.get("eval_query"):
            q = title_as_problem(str(row["title"]))
            sets["message_titles"].append(
                {"id": f"{src}:{d_i}:m", "query": q, "relevant": relevant(ids), "source": src}
            )
            if str(row["msg_id"]) in props:
                sets["proposal_queries"].append(
                    {
                        "id": f"{src}:{d_i}:q",
                        "query": props[str(row["msg_id"])],
                        "relevant": relevant(ids),
                        "source": src,
                    }
                )
    return records, sets


def report(ranked: list[list[str]], queries: list[dict[str, Any]]) -> dict[str, Any]:
    rel = [q["relevant"] for q in queries]
    out = retrieval_report(ranked, rel, k=K)
    out["ndcg@5"] = round(ndcg_at_k(ranked, rel, 5), 4)
    return out


def tfidf_ranked(records: list[dict[str, Any]], queries: list[dict[str, Any]]) -> list[list[str]]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    d = vec.fit_transform([r["text"] for r in records])
    s = (vec.transform([q["query"] for q in queries]) @ d.T).toarray()
    top = np.argsort(-s, axis=1, kind="stable")[:, :K]
    return [[records[j]["id"] for j in row] for row in top]


def index_ranked(index: Any, queries: list[dict[str, Any]], mode: str) -> list[list[str]]:
    hits = index.search_batch([q["query"] for q in queries], k=K, mode=mode, show_progress_bar=False)
    return [[h.id for h in hs] for hs in hits]


def systems(records: list[dict[str, Any]], emb: Any) -> dict[str, tuple[Any, str]]:
    """``{name: (index, mode)}`` of the SearchIndex systems."""
    from govnlp.search import SearchIndex

    recs = [{"id": r["id"], "text": r["text"]} for r in records]
    common = {"embedder": emb, "index_type": "exact", "show_progress_bar": False}
    default = SearchIndex.build(recs, **common)
    bm25 = SearchIndex.build(recs, lexical="bm25", **common)
    rrf = SearchIndex.build(recs, lexical="tfidf", fusion={"method": "rrf", "k": 60, "alpha": 0.5}, **common)
    v02 = SearchIndex.build(
        recs, lexical="bm25+tfidf", fusion={"method": "score", "norm": "zscore", "alpha": 0.4}, **common
    )
    previous = SearchIndex.build(
        recs,
        clean=True,
        clean_lexical=True,
        long_text="mean",
        lexical="bm25+tfidf",
        tokenizer="bigram-only",
        fusion={"method": "score", "norm": "zscore", "alpha": 0.4},
        **common,
    )
    return {
        "hybrid, default of 0.1 (cleaned, window-averaged, bm25+tfidf, z-score 0.4)": (previous, "hybrid"),
        "hybrid, default of 0.2 (bm25+tfidf on raw replies, z-score 0.4)": (v02, "hybrid"),
        "bm25 (govnlp)": (bm25, "lexical"),
        "lexical default": (default, "lexical"),
        "dense": (default, "dense"),
        "hybrid default": (default, "hybrid"),
        "plain RRF (dense + char TF-IDF)": (rrf, "hybrid"),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from govnlp.embedders import load_embedder

    t0 = time.perf_counter()
    sources = parse_sources(Path(args.corpora), Path(args.seed))
    records, sets = build_sets(sources)
    logger.info("%d measures, queries: %s", len(records), {k: len(v) for k, v in sets.items()})
    emb = WindowCachedEmbedder(load_embedder(args.embedder))
    res: dict[str, Any] = {
        "protocol": {
            "corpus": f"{len(records)} measures of {sum(1 for s in sources if s[1].measures)} replies",
            "measures_by_source": {
                s: sum(1 for r in records if r["source"] == s)
                for s in ("excerpt", "seed", "fixture", "message")
            },
            "queries": {k: len(v) for k, v in sets.items()},
            "queries_by_source": {
                k: {
                    s: sum(1 for q in v if q["source"] == s)
                    for s in ("excerpt", "seed", "fixture", "message")
                }
                for k, v in sets.items()
            },
            "relevant": "the measures of the query's group (problem, or whole reply); the same measure text "
            "in another reply counts too",
            "k": K,
        },
        "embedder": {"name": emb.name, "fingerprint": emb.fingerprint()[:16]},
    }
    out: dict[str, dict[str, Any]] = {"char TF-IDF (sklearn, reference)": {}}
    for name, qs in sets.items():
        out["char TF-IDF (sklearn, reference)"][name] = report(tfidf_ranked(records, qs), qs)
    for sys_name, (index, mode) in systems(records, emb).items():
        out[sys_name] = {name: report(index_ranked(index, qs, mode), qs) for name, qs in sets.items()}
        logger.info("%s done", sys_name)
    res["systems"] = out
    res["seconds"] = round(time.perf_counter() - t0, 1)
    res["machine"] = {"python": platform.python_version(), "platform": platform.platform()}
    return res


def summary(res: dict[str, Any]) -> str:
    lines = [f"{'system':34s} " + " ".join(f"{s[:16]:>16s}" for s in SETS) + "   (MRR@10 / nDCG@5)"]
    for name, r in res["systems"].items():
        cells = " ".join(f"{r[s]['mrr@10']:.3f}/{r[s]['ndcg@5']:.3f}".rjust(16) for s in SETS)
        lines.append(f"{name:34s} {cells}")
    lines.append(f"queries: {res['protocol']['queries']}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpora", default=str(HERE.parent.parent / "shared" / "corpora"))
    p.add_argument("--seed", default=str(HERE.parent.parent / "shared" / "seed" / "000_0b53f8c06d0e161b.txt"))
    p.add_argument(
        "--embedder", default="e5-onnx", help="embedder spec (e5-onnx: the int8 export of the default)"
    )
    p.add_argument("--out", default=str(HERE / "results" / "bench_match.json"))
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(asctime)s %(name)s %(message)s"
    )
    logger.setLevel(logging.INFO)
    res = {"benchmark": "bench_match", **run(args)}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(res, ensure_ascii=False, indent=1, sort_keys=True, default=str), encoding="utf-8"
    )
    print(summary(res))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
