"""Speed of govnlp's vector index layer beside raw faiss, on synthetic 384-d normalised vectors.

For each size (default 10k, 100k, 1M) and index type it measures, in the same run and on the same
vectors:

- build time (govnlp ``FaissIndex.add`` and raw faiss ``add``);
- single-query latency p50/p95 and batch latency, govnlp's ``FaissIndex.search`` beside the raw faiss
  index searched directly (calls interleaved, so contention hits both sides alike); the overhead ratio
  is govnlp p50 / raw p50;
- for the approximate indexes (HNSW, IVF): recall@10 against exact search over a sweep of
  ``efSearch`` / ``nprobe``, and the smallest setting reaching recall@10 >= 0.95;
- memory per vector (resident-set growth during the build, and the index's serialised size);
- filtered search: the gather-and-multiply path against faiss's ``IDSelectorBatch`` path for several
  subset sizes (chooses ``SUBSET_GATHER_MAX``);
- end to end at the smaller sizes: ``SearchIndex.search(mode="dense")`` (ids, records, Hit objects) with
  an embedder that returns precomputed query vectors, beside raw faiss.

The vectors are synthetic: points near a random 48-dimensional subspace with a decaying spectrum plus
isotropic noise, normalised (nearest-neighbour cosine about 0.7-0.75, random pairs about 0); queries are
fresh draws. A first run on a mixture of 1,000 clusters was discarded: with ``nlist`` = 1,000 at 1M, IVF
recovered the clusters exactly (recall 1.0 at ``nprobe`` 8), which says nothing about real embeddings.

Usage::

    nice -n 10 .venv/bin/python benchmarks/search_speed.py            # ~10 minutes on 2 cores
    nice -n 10 .venv/bin/python benchmarks/search_speed.py --sizes 10000,100000 --hnsw-sizes 10000

``run(...)`` returns the results dict (``benchmarks/bench_search.py --part speed`` imports it).
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger("search_speed")

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "bench_search_speed.json"
#: interactive budget for one exact query; the auto threshold is where exact search would exceed it
LATENCY_BUDGET_MS = 20.0
RECALL_TARGET = 0.95


# -- data ----------------------------------------------------------------------------------------------
def synthetic(n: int, dim: int, *, seed: int, intrinsic: int = 48, noise: float = 0.25) -> np.ndarray:
    """``n`` normalised vectors near a random ``intrinsic``-dimensional subspace (a decaying spectrum,
    like sentence embeddings) plus isotropic noise: nearest neighbours have cosine about 0.7-0.75,
    random pairs about 0, and there are no discrete clusters for k-means (IVF) to recover exactly."""
    basis = np.random.default_rng(12345).standard_normal((intrinsic, dim), dtype=np.float32)
    scale = np.arange(1, intrinsic + 1, dtype=np.float32) ** -0.5
    scale /= np.sqrt((scale**2).mean())
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        z = rng.standard_normal((stop - start, intrinsic), dtype=np.float32) * scale
        chunk = z @ basis
        chunk += noise * rng.standard_normal((stop - start, dim), dtype=np.float32)
        chunk /= np.linalg.norm(chunk, axis=1, keepdims=True)
        out[start:stop] = chunk
    return out


def rss_bytes() -> int:
    """Resident set size of this process (Linux ``/proc``; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def serialized_bytes(index: Any) -> int:
    import faiss

    with tempfile.NamedTemporaryFile(suffix=".faiss") as fh:
        faiss.write_index(index, fh.name)
        return os.path.getsize(fh.name)


# -- timing helpers ------------------------------------------------------------------------------------
#: faiss OpenMP threads while timing searches (builds use faiss's default). On a shared 2-core machine
#: a single query run on 2 OpenMP threads waits for a descheduled thread (measured: 40 ms instead of
#: 1 ms at 10k vectors), which swamps what is being compared; run() records the value used.
_QUERY_THREADS: int | None = 1


class _Threads:
    """faiss OpenMP threads and numpy's BLAS threads both set to ``_QUERY_THREADS`` while timing."""

    def __enter__(self) -> None:
        import faiss

        self.saved = faiss.omp_get_max_threads()
        self.limits = None
        if _QUERY_THREADS:
            faiss.omp_set_num_threads(_QUERY_THREADS)
            try:
                from threadpoolctl import threadpool_limits

                self.limits = threadpool_limits(limits=_QUERY_THREADS)
            except ImportError:  # pragma: no cover
                self.limits = None

    def __exit__(self, *exc: object) -> None:
        import faiss

        faiss.omp_set_num_threads(self.saved)
        if self.limits is not None:
            self.limits.restore_original_limits()


def _pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def interleaved_latency(
    fns: dict[str, Callable[[np.ndarray], Any]], queries: np.ndarray
) -> dict[str, dict[str, float]]:
    """Single-query latency (ms) of each function, calls interleaved query by query."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    with _Threads():
        for i in range(len(queries)):
            q = queries[i : i + 1]
            for name, fn in fns.items():
                t0 = time.perf_counter()
                fn(q)
                times[name].append((time.perf_counter() - t0) * 1000)
    return {
        name: {"p50_ms": _pct(v, 50), "p95_ms": _pct(v, 95), "mean_ms": float(np.mean(v)), "n": len(v)}
        for name, v in times.items()
    }


def interleaved_batch(
    fns: dict[str, Callable[[np.ndarray], Any]], queries: np.ndarray, repeats: int
) -> dict[str, dict[str, float]]:
    """Batch latency (ms per batch, median of ``repeats``), calls interleaved."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    with _Threads():
        for _ in range(repeats):
            for name, fn in fns.items():
                t0 = time.perf_counter()
                fn(queries)
                times[name].append((time.perf_counter() - t0) * 1000)
    return {
        name: {
            "median_ms_per_batch": statistics.median(v),
            "batch_size": len(queries),
            "median_ms_per_query": statistics.median(v) / len(queries),
            "repeats": repeats,
        }
        for name, v in times.items()
    }


def recall_at_k(got: np.ndarray, truth: np.ndarray) -> float:
    k = truth.shape[1]
    return float(
        np.mean([len(set(g.tolist()) & set(t.tolist())) / k for g, t in zip(got, truth, strict=True)])
    )


def _ratio(gov: dict[str, Any], raw: dict[str, Any], key: str) -> float:
    return float(gov[key] / raw[key]) if raw[key] > 0 else float("nan")


# -- one index type at one size ------------------------------------------------------------------------
def bench_exact(
    x: np.ndarray, queries: np.ndarray, k: int, n_single: int, batch: int, repeats: int
) -> dict[str, Any]:
    import faiss

    from govnlp.index import FaissIndex

    n, dim = x.shape
    labels = np.arange(n, dtype=np.int64)
    gc.collect()
    r0 = rss_bytes()
    t0 = time.perf_counter()
    raw = faiss.IndexFlatIP(dim)
    raw.add(x)
    raw_build = time.perf_counter() - t0
    r1 = rss_bytes()
    t0 = time.perf_counter()
    gov = FaissIndex(dim, index_type="flat")
    gov.add(x, labels)
    gov_build = time.perf_counter() - t0
    r2 = rss_bytes()
    fns = {"raw_faiss": lambda q: raw.search(q, k), "govnlp": lambda q: gov.search(q, k)}
    single = interleaved_latency(fns, queries[:n_single])
    batched = interleaved_batch(fns, queries[:batch], repeats)
    truth = raw.search(queries, k)[1]
    same = bool(np.array_equal(gov.search(queries, k)[1], truth))
    out = {
        "build_s": {"raw_faiss": raw_build, "govnlp": gov_build},
        "single": single,
        "batch": batched,
        "overhead_ratio_single_p50": _ratio(single["govnlp"], single["raw_faiss"], "p50_ms"),
        "overhead_ratio_batch": _ratio(batched["govnlp"], batched["raw_faiss"], "median_ms_per_batch"),
        "same_results_as_raw": same,
        "memory_bytes_per_vector": {
            "rss_growth_raw_faiss": (r1 - r0) / n,
            "rss_growth_govnlp": (r2 - r1) / n,
            "serialized_govnlp": serialized_bytes(gov.faiss_index) / n,
        },
    }
    raw.reset()  # free its copy of the vectors
    return {"result": out, "index": gov, "truth": truth}


def bench_approx(
    kind: str,
    x: np.ndarray,
    queries: np.ndarray,
    truth: np.ndarray,
    k: int,
    n_single: int,
    batch: int,
    repeats: int,
    grid: Sequence[int],
    raw_build_max: int,
) -> dict[str, Any]:
    """HNSW or IVF: build, sweep efSearch / nprobe, latency beside raw faiss on the same structure."""
    import faiss

    from govnlp.index import FaissIndex

    n, dim = x.shape
    labels = np.arange(n, dtype=np.int64)
    gc.collect()
    r0 = rss_bytes()
    t0 = time.perf_counter()
    gov = FaissIndex(dim, index_type=kind)
    gov.add(x, labels)
    gov_build = time.perf_counter() - t0
    r1 = rss_bytes()
    build: dict[str, Any] = {"govnlp": gov_build}
    if n <= raw_build_max:  # the same structure built by raw faiss calls, for build-time parity
        t0 = time.perf_counter()
        if kind == "hnsw":
            rb = faiss.IndexHNSWFlat(dim, gov.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            rb.hnsw.efConstruction = gov.ef_construction
            rb.add(x)
        else:
            q = faiss.IndexFlatIP(dim)
            rb = faiss.IndexIVFFlat(q, dim, int(gov.nlist or 1), faiss.METRIC_INNER_PRODUCT)
            rb.cp.niter = gov.faiss_index.cp.niter
            rb.cp.max_points_per_centroid = gov.faiss_index.cp.max_points_per_centroid
            rb.train(x)
            rb.add(x)
        build["raw_faiss"] = time.perf_counter() - t0
        del rb
    # raw faiss on the very same structure: the graph / lists inside govnlp's index, searched directly
    raw = faiss.downcast_index(gov.faiss_index.index) if kind == "hnsw" else gov.faiss_index
    sweep = []
    for value in grid:
        if kind == "hnsw":
            gov.ef_search = value
            raw.hnsw.efSearch = value
        else:
            gov.nprobe = value
            raw.nprobe = value
        got = gov.search(queries, k)[1]
        fns = {"raw_faiss": lambda q: raw.search(q, k), "govnlp": lambda q: gov.search(q, k)}
        single = interleaved_latency(fns, queries[:n_single])
        sweep.append(
            {
                "ef_search" if kind == "hnsw" else "nprobe": value,
                "recall_at_10": recall_at_k(got, truth),
                "single": single,
                "overhead_ratio_single_p50": _ratio(single["govnlp"], single["raw_faiss"], "p50_ms"),
            }
        )
        logger.info("%s n=%d %s=%d recall@10=%.4f p50=%.3f ms", kind, n, "ef" if kind == "hnsw" else "nprobe",
                    value, sweep[-1]["recall_at_10"], single["govnlp"]["p50_ms"])  # fmt: skip
    key = "ef_search" if kind == "hnsw" else "nprobe"
    ok = [s for s in sweep if s["recall_at_10"] >= RECALL_TARGET]
    chosen = ok[0] if ok else sweep[-1]
    if kind == "hnsw":
        gov.ef_search = raw.hnsw.efSearch = chosen[key]
    else:
        gov.nprobe = raw.nprobe = chosen[key]
    fns = {"raw_faiss": lambda q: raw.search(q, k), "govnlp": lambda q: gov.search(q, k)}
    batched = interleaved_batch(fns, queries[:batch], repeats)
    extra = (
        {"nlist": gov.nlist} if kind == "ivf" else {"M": gov.hnsw_m, "ef_construction": gov.ef_construction}
    )
    return {
        **extra,
        "build_s": build,
        "sweep": sweep,
        f"tuned_{key}": chosen[key],
        "tuned_recall_at_10": chosen["recall_at_10"],
        "tuned_single": chosen["single"],
        "batch": batched,
        "overhead_ratio_batch": _ratio(batched["govnlp"], batched["raw_faiss"], "median_ms_per_batch"),
        "memory_bytes_per_vector": {
            "rss_growth_govnlp": (r1 - r0) / n,
            "serialized_govnlp": serialized_bytes(gov.faiss_index) / n,
        },
    }


def bench_filtered(
    index: Any, queries: np.ndarray, k: int, subset_sizes: Sequence[int], n_q: int
) -> list[dict[str, Any]]:
    """Filtered exact search: gather + BLAS on the subset against faiss's IDSelectorBatch path."""
    from govnlp.index import faiss_index as fmod

    rng = np.random.default_rng(7)
    n = len(index)
    rows = []
    saved = fmod.SUBSET_GATHER_MAX
    try:
        for size in subset_sizes:
            if size > n:
                continue
            subset = np.sort(rng.choice(n, size, replace=False)).astype(np.int64)

            def gather(q: np.ndarray, subset: np.ndarray = subset) -> Any:
                fmod.SUBSET_GATHER_MAX = 1 << 62
                return index.search(q, k, subset=subset)

            def selector(q: np.ndarray, subset: np.ndarray = subset) -> Any:
                fmod.SUBSET_GATHER_MAX = -1
                return index.search(q, k, subset=subset)

            lat = interleaved_latency({"gather": gather, "selector": selector}, queries[:n_q])
            same = bool(np.array_equal(gather(queries[:20])[1], selector(queries[:20])[1]))
            rows.append({"n": n, "subset": size, **lat, "same_results": same})
            logger.info("filtered n=%d subset=%d gather p50 %.2f ms, selector p50 %.2f ms", n, size,
                        lat["gather"]["p50_ms"], lat["selector"]["p50_ms"])  # fmt: skip
    finally:
        fmod.SUBSET_GATHER_MAX = saved
    return rows


class _LookupEmbedder:
    """Returns precomputed query vectors by text (``"q17"`` -> row 17): SearchIndex without a model."""

    name = "lookup"

    def __init__(self, passages: np.ndarray, queries: np.ndarray) -> None:
        self.passages, self.queries = passages, queries
        self.dim = passages.shape[1]

    def fingerprint(self) -> str:
        return "lookup"

    def encode(
        self,
        texts: Sequence[str],
        *,
        kind: str = "passage",
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
    ) -> np.ndarray:
        src = self.queries if kind == "query" else self.passages
        return src[[int(t[1:]) for t in texts]]


def bench_search_index(x: np.ndarray, queries: np.ndarray, k: int, n_single: int) -> dict[str, Any]:
    """End to end: SearchIndex.search(mode="dense") (ids, records, Hits) beside raw faiss."""
    import faiss

    from govnlp.search import SearchIndex

    n, dim = x.shape
    emb = _LookupEmbedder(x, queries)
    t0 = time.perf_counter()
    index = SearchIndex.build(
        ({"id": f"r{i}", "text": f"p{i}"} for i in range(n)), embedder=emb, index_type="exact", clean=False
    )
    build = time.perf_counter() - t0
    raw = faiss.IndexFlatIP(dim)
    raw.add(x)
    texts = [f"q{i}" for i in range(len(queries))]
    it = iter(range(10**9))

    def gov(q: np.ndarray) -> Any:
        return index.search(texts[next(it) % len(texts)], k=k, mode="dense")

    lat = interleaved_latency(
        {"raw_faiss": lambda q: raw.search(q, k), "searchindex_dense": gov}, queries[:n_single]
    )
    return {
        "build_s_records_vectors_bm25": build,
        "single": lat,
        "overhead_ratio_single_p50": _ratio(lat["searchindex_dense"], lat["raw_faiss"], "p50_ms"),
    }


# -- the whole run -------------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    def version(pkg: str) -> str | None:
        try:
            return importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            return None

    import faiss

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "faiss": faiss.__version__,
        "faiss_omp_threads": faiss.omp_get_max_threads(),
        "torch": version("torch"),
        "govnlp": version("govnlp"),
        "loadavg_at_start": load,
    }


def run(
    sizes: Sequence[int] = (10_000, 100_000, 1_000_000),
    *,
    dim: int = 384,
    k: int = 10,
    n_queries: int = 200,
    n_single: Sequence[int] | int = (200, 100, 30),
    batch: int = 64,
    repeats: int = 3,
    hnsw_sizes: Sequence[int] = (10_000, 100_000),
    ivf_sizes: Sequence[int] = (10_000, 100_000, 1_000_000),
    ef_grid: Sequence[int] = (16, 32, 64, 128),
    nprobe_grid: Sequence[int] = (8, 16, 32, 64, 128, 256),
    raw_build_max: int = 10_000,
    filtered_sizes: Sequence[int] = (100_000, 1_000_000),
    subset_sizes: Sequence[int] = (1_000, 3_000, 10_000, 30_000, 100_000),
    search_index_sizes: Sequence[int] = (10_000, 100_000),
    query_threads: int | None = 1,
    seed: int = 0,
) -> dict[str, Any]:
    """Run the speed benchmark; return the results dict (see the module docstring).

    ``query_threads``: faiss OpenMP threads while searches are timed (None = faiss's default).
    """
    global _QUERY_THREADS
    _QUERY_THREADS = query_threads
    started = time.perf_counter()
    sizes = sorted(sizes)
    singles = [n_single] * len(sizes) if isinstance(n_single, int) else list(n_single)
    singles += [singles[-1]] * (len(sizes) - len(singles))
    logger.info("generating %d x %d synthetic vectors", max(sizes), dim)
    data = synthetic(max(sizes), dim, seed=seed)
    queries = synthetic(n_queries, dim, seed=seed + 1)
    results: dict[str, Any] = {
        "benchmark": "search_speed",
        "machine": machine(),
        "config": {
            "sizes": sizes,
            "dim": dim,
            "k": k,
            "n_queries": n_queries,
            "n_single": singles,
            "batch": batch,
            "repeats": repeats,
            "data": "near a random 48-d subspace (spectrum i^-0.5) + N(0, 0.25^2) noise, normalised",
            "recall_target": RECALL_TARGET,
            "latency_budget_ms": LATENCY_BUDGET_MS,
        },
        "sizes": {},
    }
    for n, n_s in zip(sizes, singles, strict=True):
        x = data[:n]
        entry: dict[str, Any] = {}
        logger.info("n=%d: exact", n)
        ex = bench_exact(x, queries, k, n_s, batch, repeats)
        entry["exact"] = ex["result"]
        logger.info("n=%d exact p50 raw %.3f ms govnlp %.3f ms (ratio %.3f)", n,
                    ex["result"]["single"]["raw_faiss"]["p50_ms"], ex["result"]["single"]["govnlp"]["p50_ms"],
                    ex["result"]["overhead_ratio_single_p50"])  # fmt: skip
        if n in filtered_sizes:
            entry["filtered_exact"] = bench_filtered(ex["index"], queries, k, subset_sizes, min(n_s, 30))
        del ex["index"]
        gc.collect()
        if n in search_index_sizes:
            logger.info("n=%d: SearchIndex end to end", n)
            entry["search_index_dense"] = bench_search_index(x, queries, k, min(n_s, 100))
            gc.collect()
        if n in ivf_sizes:
            logger.info("n=%d: ivf", n)
            entry["ivf"] = bench_approx(
                "ivf", x, queries, ex["truth"], k, n_s, batch, repeats, nprobe_grid, raw_build_max
            )
            gc.collect()
        if n in hnsw_sizes:
            logger.info("n=%d: hnsw", n)
            entry["hnsw"] = bench_approx(
                "hnsw", x, queries, ex["truth"], k, n_s, batch, repeats, ef_grid, raw_build_max
            )
            gc.collect()
        results["sizes"][str(n)] = entry
    results["decisions"] = decisions(results)
    results["wall_s"] = time.perf_counter() - started
    return results


def decisions(results: dict[str, Any]) -> dict[str, Any]:
    """Derive the library defaults from the measurements (the rules are written out in ``rule``)."""
    sizes = {int(n): e for n, e in results["sizes"].items()}
    out: dict[str, Any] = {}
    largest = max(sizes)
    per_vector_ms = sizes[largest]["exact"]["single"]["govnlp"]["p50_ms"] / largest
    out["exact_ms_per_million_vectors"] = per_vector_ms * 1e6
    out["auto_threshold_estimate"] = int(LATENCY_BUDGET_MS / per_vector_ms)
    out["auto_threshold_rule"] = (
        f"exact single-query p50 grows linearly with n; the threshold is the n where it reaches "
        f"{LATENCY_BUDGET_MS:.0f} ms, from the largest size measured"
    )
    for kind, key in (("hnsw", "tuned_ef_search"), ("ivf", "tuned_nprobe")):
        tuned = {n: e[kind][key] for n, e in sizes.items() if kind in e}
        if tuned:
            out[f"{kind}_{key}_by_size"] = tuned
    gathers = [r for e in sizes.values() for r in e.get("filtered_exact", [])]
    if gathers:
        # the largest subset size up to which gathering wins at every size measured
        limit = 0
        for size in sorted({r["subset"] for r in gathers}):
            rows = [r for r in gathers if r["subset"] == size]
            if all(r["gather"]["p50_ms"] <= r["selector"]["p50_ms"] for r in rows):
                limit = size
            else:
                break
        out["filtered_gather_wins_up_to_subset"] = limit
        out["filtered_rows"] = [
            {
                "n": r["n"],
                "subset": r["subset"],
                "gather_p50_ms": r["gather"]["p50_ms"],
                "selector_p50_ms": r["selector"]["p50_ms"],
            }
            for r in gathers
        ]
    return out


def summary(results: dict[str, Any]) -> str:
    lines = [f"machine: {results['machine']['cpu_count']} CPUs, faiss {results['machine']['faiss']}, "
             f"python {results['machine']['python']}; wall {results.get('wall_s', 0):.0f} s"]  # fmt: skip
    lines.append(f"{'n':>9} {'index':<6} {'build s':>8} {'p50 ms':>8} {'p95 ms':>8} {'raw p50':>8} {'ratio':>6} "
                 f"{'batch ms/q':>10} {'b.ratio':>7} {'recall':>7} {'B/vec':>7}")  # fmt: skip
    for n, e in results["sizes"].items():
        ex = e["exact"]
        lines.append(
            f"{int(n):>9} {'exact':<6} {ex['build_s']['govnlp']:>8.2f} {ex['single']['govnlp']['p50_ms']:>8.3f} "
            f"{ex['single']['govnlp']['p95_ms']:>8.3f} {ex['single']['raw_faiss']['p50_ms']:>8.3f} "
            f"{ex['overhead_ratio_single_p50']:>6.3f} {ex['batch']['govnlp']['median_ms_per_query']:>10.3f} "
            f"{ex['overhead_ratio_batch']:>7.3f} {1.0:>7.3f} {ex['memory_bytes_per_vector']['serialized_govnlp']:>7.0f}"
        )
        for kind in ("hnsw", "ivf"):
            if kind not in e:
                continue
            a = e[kind]
            t = a["tuned_single"]
            lines.append(
                f"{int(n):>9} {kind:<6} {a['build_s']['govnlp']:>8.2f} {t['govnlp']['p50_ms']:>8.3f} "
                f"{t['govnlp']['p95_ms']:>8.3f} {t['raw_faiss']['p50_ms']:>8.3f} "
                f"{t['govnlp']['p50_ms'] / t['raw_faiss']['p50_ms']:>6.3f} "
                f"{a['batch']['govnlp']['median_ms_per_query']:>10.3f} {a['overhead_ratio_batch']:>7.3f} "
                f"{a['tuned_recall_at_10']:>7.3f} {a['memory_bytes_per_vector']['serialized_govnlp']:>7.0f}"
                + (
                    f"  (ef={a['tuned_ef_search']})"
                    if kind == "hnsw"
                    else f"  (nprobe={a['tuned_nprobe']}, nlist={a['nlist']})"
                )
            )
        if "search_index_dense" in e:
            s = e["search_index_dense"]
            lines.append(f"{int(n):>9} SearchIndex.search(dense) p50 {s['single']['searchindex_dense']['p50_ms']:.3f} ms "
                         f"vs raw {s['single']['raw_faiss']['p50_ms']:.3f} ms (ratio {s['overhead_ratio_single_p50']:.3f})")  # fmt: skip
    d = results.get("decisions", {})
    for row in d.get("filtered_rows", []):
        lines.append(f"filtered n={row['n']} subset={row['subset']}: gather p50 {row['gather_p50_ms']:.2f} ms, "
                     f"IDSelector p50 {row['selector_p50_ms']:.2f} ms")  # fmt: skip
    lines.append(
        f"decisions: {json.dumps({k: v for k, v in d.items() if k != 'filtered_rows'}, ensure_ascii=False)}"
    )
    return "\n".join(lines)


def _ints(text: str) -> list[int]:
    return [int(float(t)) for t in text.split(",") if t.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="10000,100000,1000000")
    p.add_argument("--hnsw-sizes", default="10000,100000")
    p.add_argument("--ivf-sizes", default="10000,100000,1000000")
    p.add_argument("--filtered-sizes", default="100000,1000000")
    p.add_argument("--n-single", default="200,100,30", help="single queries timed per size")
    p.add_argument(
        "--query-threads", type=int, default=1, help="faiss threads while timing searches (0 = default)"
    )
    p.add_argument(
        "--corpora", default=str(ROOT / ".." / "shared" / "corpora"), help="unused: synthetic data"
    )
    p.add_argument("--out", default=str(DEFAULT_OUT))
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    results = run(
        _ints(args.sizes),
        n_single=_ints(args.n_single),
        hnsw_sizes=_ints(args.hnsw_sizes),
        ivf_sizes=_ints(args.ivf_sizes),
        filtered_sizes=_ints(args.filtered_sizes),
        query_threads=args.query_threads or None,
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
    print(summary(results))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
