"""Scale benchmark: Ray encoding throughput, and faiss IVF/HNSW vs Milvus Lite at 10k / 100k / 1M paragraphs.

    nice -n 10 .venv/bin/python benchmarks/bench_scale.py                 # writes results/bench_scale.json
    nice -n 10 .venv/bin/python benchmarks/bench_scale.py --sizes 10000 --encode-n 2000 --model-n 200   # quick

Corpus: synthetic reply paragraphs recombined from clauses written for this script (topics, actions,
details, agencies, openings and closings of government replies); no corpus text is used.

Parts:

- ``encode``: throughput of single-process encoding vs Ray Data with 1 and 2 actors (``encode_dataset``
  with ``engine="local"`` / ``"ray"``), with the hash embedder on ``--encode-n`` paragraphs and the default
  model on a ``--model-n`` sample. Ray times are wall times of the whole call, including actor start-up;
  the start-up time (until the first batch starts: reading, actor start, model load) and the steady rate
  (rows / time from the first batch's start to the last batch's end, all workers together) are reported
  beside it.
- ``search``: for each size, hash vectors (384-d, the default model's width); exact faiss gives the ground
  truth; faiss IVF and HNSW (govnlp's index types) and Milvus Lite (HNSW, through ``MilvusIndex``) are
  timed: build time, size, query p50/p95 (one query at a time) and recall@10 against exact, without and
  with a filter (``year >= 2020``, about 45% of the records). Runs above ``--hnsw-max`` / ``--milvus-max``
  are skipped and say so.

The machine is shared (2 cores, other jobs running): the load average is recorded with each part.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "bench_scale.json"

AGENCIES = [
    "市住房和城乡建设局",
    "市交通运输局",
    "市教育局",
    "市生态环境局",
    "市卫生健康委员会",
    "市城市管理综合执法局",
    "市民政局",
    "市自然资源和规划局",
    "市水务局",
    "市市场监督管理局",
    "区人民政府",
    "市发展和改革委员会",
]
TOPICS = [
    "老旧小区改造",
    "既有住宅加装电梯",
    "小区停车难",
    "学校周边交通安全",
    "河道黑臭水体治理",
    "生活垃圾分类",
    "物业服务监管",
    "公交线路优化",
    "社区居家养老服务",
    "农贸市场提质改造",
    "夜间施工噪音扰民",
    "背街小巷路灯照明",
    "农村饮水安全",
    "城中村消防隐患",
    "电动自行车充电设施",
    "中小学课后服务",
    "基层医疗卫生服务",
    "餐饮油烟扰民",
    "城市内涝防治",
    "公共厕所管理",
    "停车诱导系统建设",
    "农村公路养护",
    "菜市场食品安全",
    "残疾人无障碍设施",
]
ACTIONS = [
    "已纳入年度重点工作计划",
    "将会同相关部门开展专项检查",
    "已安排专项资金予以支持",
    "正在组织编制实施方案",
    "将加强日常巡查和督促整改",
    "已责成属地街道限期落实",
    "下一步将完善长效管理机制",
    "已召开协调会明确责任分工",
    "已列入民生实事项目",
    "将适时开展第三方评估",
    "已建立问题台账实行销号管理",
    "将加大宣传引导力度",
]
DETAILS = [
    "涉及{a}个小区共{b}户居民",
    "计划于{y}年底前完成",
    "累计投入资金{b}万元",
    "新增停车泊位{a}个",
    "覆盖{a}所中小学校",
    "整治问题点位{a}处",
    "设立投诉受理点{a}个",
    "完成改造面积{b}平方米",
    "惠及群众约{b}人",
    "已完工{a}项、在建{c}项",
]
OPENINGS = ["", "", "您好！", "尊敬的代表：", "网友您好，您的留言已收悉。现将有关情况答复如下："]
CLOSINGS = ["", "", "感谢您对我们工作的关心和支持！", "欢迎继续监督。", "如有疑问，请与我局联系。"]


def paragraphs(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` records: a reply paragraph of 2-4 clauses plus year, kind and lead agency."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        t1, t2 = rng.sample(TOPICS, 2)
        clauses = [f"关于{t1}的问题，{rng.choice(ACTIONS)}"]
        for _ in range(rng.randint(1, 3)):
            d = rng.choice(DETAILS).format(
                a=rng.randint(2, 99),
                b=rng.randint(100, 99999),
                c=rng.randint(1, 9),
                y=rng.randint(2016, 2027),
            )
            clauses.append(d if rng.random() < 0.6 else f"统筹推进{t2}，{rng.choice(ACTIONS)}")
        text = rng.choice(OPENINGS) + "，".join(clauses) + "。" + rng.choice(CLOSINGS)
        out.append(
            {
                "id": f"p{i:07d}",
                "text": text,
                "year": 2014 + rng.randrange(11),
                "kind": rng.choice(["提案答复", "建议答复", "留言回复"]),
                "lead_agency": rng.choice(AGENCIES),
            }
        )
    return out


def queries(n: int, seed: int = 99) -> list[str]:
    rng = random.Random(seed)
    return [
        f"建议加快{rng.choice(TOPICS)}，{rng.choice(['解决群众反映的困难', '加强监管', '加大资金投入', '完善管理机制'])}"
        for _ in range(n)
    ]


def load_avg() -> float:
    return round(os.getloadavg()[0], 1)


def rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# -- encoding ----------------------------------------------------------------------------------------------
def _time_encode(
    recs: list[dict[str, Any]], embedder: Any, engine: str, workers: int, batch: int, shard: int
) -> dict[str, Any]:
    from govnlp.scale import encode_dataset

    tmp = Path(tempfile.mkdtemp(prefix="bench_scale_enc_"))
    try:
        t0 = time.perf_counter()
        enc = encode_dataset(
            recs,
            tmp / "out",
            embedder=embedder,
            engine=engine,
            concurrency=workers,
            batch_size=batch,
            shard_size=shard,
        )
        wall = time.perf_counter() - t0
        run = enc.manifest["last_run"]
        return {
            "engine": engine,
            "workers": workers if engine == "ray" else 1,
            "n": len(enc),
            "seconds": round(wall, 2),
            "per_s": round(len(recs) / wall, 1),
            "startup_s": run.get("startup_s"),
            "steady_per_s": run.get("rows_per_s_encoding"),
            "load_avg": load_avg(),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


CONFIGS = (("local", 1), ("ray", 1), ("ray", 2))


def _median_runs(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (engine, workers): the median of each timing over the repeats."""
    out = []
    for engine, workers in CONFIGS:
        rs = [r for r in runs if r["engine"] == engine and r["workers"] == workers]
        if not rs:
            continue
        row = dict(rs[0], repeats=len(rs))
        for key in ("seconds", "per_s", "startup_s", "steady_per_s", "load_avg"):
            vals = [r[key] for r in rs if r[key] is not None]
            row[key] = round(float(np.median(vals)), 2) if vals else None
        out.append(row)
    return out


def bench_encode(n: int, model_n: int, repeats: int = 1) -> dict[str, Any]:
    import ray

    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    out: dict[str, Any] = {"hash": {"n": n, "all_runs": []}, "model": {"n": model_n, "all_runs": []}}
    recs = paragraphs(n, seed=1)
    sample = paragraphs(model_n, seed=2)
    if model_n:
        import torch

        out["model"]["torch_threads_single_process"] = torch.get_num_threads()
    # the configurations take turns, so that a change in the machine's load hits all of them
    for _ in range(repeats):
        for engine, workers in CONFIGS:
            r = _time_encode(recs, "hash", engine, workers, batch=256, shard=max(1000, n // 10))
            print("encode hash", r, flush=True)
            out["hash"]["all_runs"].append(r)
        for engine, workers in CONFIGS if model_n else ():
            r = _time_encode(sample, None, engine, workers, batch=32, shard=max(50, model_n // 5))
            print("encode model", r, flush=True)
            out["model"]["all_runs"].append(r)
    for part in out.values():
        part["runs"] = _median_runs(part["all_runs"])
    ray.shutdown()
    for part in out.values():
        runs = {(r["engine"], r["workers"]): r for r in part["runs"]}
        if ("local", 1) in runs and ("ray", 2) in runs:
            base = runs[("local", 1)]
            part["speedup_ray2_vs_single"] = round(runs[("ray", 2)]["per_s"] / base["per_s"], 2)
            part["speedup_ray2_vs_ray1"] = round(runs[("ray", 2)]["per_s"] / runs[("ray", 1)]["per_s"], 2)
            if runs[("ray", 2)]["steady_per_s"] and runs[("ray", 1)]["steady_per_s"] and base["steady_per_s"]:
                part["steady_speedup_ray2_vs_single"] = round(
                    runs[("ray", 2)]["steady_per_s"] / base["steady_per_s"], 2
                )
                part["steady_speedup_ray2_vs_ray1"] = round(
                    runs[("ray", 2)]["steady_per_s"] / runs[("ray", 1)]["steady_per_s"], 2
                )
    m = {(r["engine"], r["workers"]): r for r in out["model"]["runs"]}
    if m:
        best = max(r["steady_per_s"] or r["per_s"] for r in m.values())
        out["model"]["best_steady_per_s"] = best
        out["model"]["hours_for_10M_at_best_rate"] = round(10_000_000 / best / 3600, 1)
        out["model"]["extrapolation"] = (
            "hours for 10M paragraphs = 10M / (best steady texts/s on this machine; start-up is negligible "
            "at that size); with W machines of this kind, divide by W "
            "(Ray actors scale across nodes; assumes the per-node rate holds and the driver is not the "
            "bottleneck)"
        )
    return out


# -- search ------------------------------------------------------------------------------------------------
def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    hits = [
        len(set(f[f >= 0].tolist()) & set(t[t >= 0].tolist())) / max(1, (t >= 0).sum())
        for f, t in zip(found, truth, strict=True)
    ]
    return round(float(np.mean(hits)), 4)


def _latency(fn: Any, qv: np.ndarray) -> tuple[list[float], list[np.ndarray]]:
    times, res = [], []
    for q in qv:
        t = time.perf_counter()
        res.append(fn(q[None, :]))
        times.append((time.perf_counter() - t) * 1000)
    return times, res


def _pct(times: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(times, 50)), 3),
        "p95_ms": round(float(np.percentile(times, 95)), 3),
    }


def bench_search(size: int, nq: int, hnsw_max: int, milvus_max: int) -> dict[str, Any]:
    import faiss

    from govnlp.embedders.hashing import HashEmbedder
    from govnlp.index import make_index

    faiss.omp_set_num_threads(1)
    emb = HashEmbedder(dim=384)
    recs = paragraphs(size, seed=3)
    t = time.perf_counter()
    vecs = np.concatenate(
        [emb.encode([r["text"] for r in recs[a : a + 20000]]) for a in range(0, size, 20000)]
    )
    enc_s = time.perf_counter() - t
    years = np.array([r["year"] for r in recs])
    labels = np.arange(size, dtype=np.int64)
    qv = emb.encode(queries(nq))
    subset = labels[years >= 2020]
    out: dict[str, Any] = {
        "n": size,
        "dim": 384,
        "hash_encode_s": round(enc_s, 1),
        "queries": nq,
        "filter": "year >= 2020",
        "filter_fraction": round(len(subset) / size, 3),
        "load_avg": load_avg(),
        "backends": {},
    }
    exact = make_index(384, "exact")
    exact.add(vecs, labels)
    truth = exact.search(qv, 10)[1]
    truth_f = exact.search(qv, 10, subset=subset)[1]
    t_ex, _ = _latency(lambda q, ix=exact: ix.search(q, 10), qv)
    out["backends"]["faiss-exact"] = {**_pct(t_ex), "recall@10": 1.0}
    del exact
    gc.collect()
    for kind in ("ivf", "hnsw"):
        if kind == "hnsw" and size > hnsw_max:
            out["backends"]["faiss-hnsw"] = {
                "skipped": f"n > --hnsw-max {hnsw_max} (build too slow on 2 shared cores)"
            }
            continue
        rss0 = rss_mb()
        t = time.perf_counter()
        idx = make_index(384, kind)
        idx.add(vecs, labels)
        build = time.perf_counter() - t
        with tempfile.TemporaryDirectory() as d:
            files = idx.save(Path(d))
            size_mb = round(sum((Path(d) / f).stat().st_size for f in files) / 2**20, 1)
        t_q, res = _latency(lambda q, idx=idx: idx.search(q, 10), qv)
        t_f, res_f = _latency(lambda q, idx=idx: idx.search(q, 10, subset=subset), qv)
        out["backends"][f"faiss-{kind}"] = {
            "build_s": round(build, 2),
            "index_mb": size_mb,
            "max_rss_mb_after": rss_mb(),
            "rss_mb_before": rss0,
            **_pct(t_q),
            "recall@10": _recall(np.concatenate([r[1] for r in res]), truth),
            "filtered": {**_pct(t_f), "recall@10": _recall(np.concatenate([r[1] for r in res_f]), truth_f)},
            "params": getattr(idx, "params", lambda: {})(),
        }
        print("search", size, kind, out["backends"][f"faiss-{kind}"], flush=True)
        del idx
        gc.collect()
    if size > milvus_max:
        out["backends"]["milvus-lite"] = {
            "skipped": f"n > --milvus-max {milvus_max} (insert time, see the 100k row)"
        }
    else:
        out["backends"]["milvus-lite"] = bench_milvus(recs, vecs, qv, truth, truth_f)
        print("search", size, "milvus", out["backends"]["milvus-lite"], flush=True)
    return out


def bench_milvus(
    recs: list[dict[str, Any]], vecs: np.ndarray, qv: np.ndarray, truth: np.ndarray, truth_f: np.ndarray
) -> dict[str, Any]:
    from govnlp.scale import MilvusIndex

    tmp = Path(tempfile.mkdtemp(prefix="bench_scale_milvus_"))
    try:
        entry = {"name": "hash-char12-384", "dim": 384, "fingerprint": "bench", "spec": None}
        mil = MilvusIndex(str(tmp / "bench.db"), "bench", index_type="HNSW", analyzer=None, clean=False)
        rows = [
            {
                "id": r["id"],
                "text": r["text"],
                "year": r["year"],
                "kind": r["kind"],
                "lead_agency": r["lead_agency"],
                "index_text": r["text"],
            }
            for r in recs
        ]
        t = time.perf_counter()
        mil.add_vectors(rows, vecs, entry)
        insert_s = time.perf_counter() - t
        t = time.perf_counter()
        mil.flush()
        flush_s = time.perf_counter() - t
        client = mil._client
        idx_of = {r["id"]: i for i, r in enumerate(recs)}

        def run(q: np.ndarray, expr: str) -> np.ndarray:
            res = client.search(
                "bench",
                data=q.tolist(),
                anns_field="dense",
                limit=10,
                filter=expr,
                search_params={"metric_type": "IP", "params": {"ef": 64}},
                output_fields=["id"],
            )
            ids = [idx_of[h["id"]] for h in res[0]]
            return np.array([ids + [-1] * (10 - len(ids))], dtype=np.int64)

        t_q, res = _latency(lambda q: run(q, ""), qv)
        t_f, res_f = _latency(lambda q: run(q, "year >= 2020"), qv)
        disk = sum(p.stat().st_size for p in tmp.rglob("*") if p.is_file())
        out = {
            "index": "HNSW M=16 efConstruction=200, ef=64",
            "insert_s": round(insert_s, 1),
            "flush_index_s": round(flush_s, 1),
            "disk_mb": round(disk / 2**20, 1),
            "max_rss_mb_after": rss_mb(),
            **_pct(t_q),
            "recall@10": _recall(np.concatenate(res), truth),
            "filtered": {**_pct(t_f), "recall@10": _recall(np.concatenate(res_f), truth_f)},
        }
        mil.close()
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--encode-n", type=int, default=20000)
    ap.add_argument("--model-n", type=int, default=600)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=1, help="encode runs per configuration (medians)")
    ap.add_argument("--hnsw-max", type=int, default=100000)
    ap.add_argument("--milvus-max", type=int, default=100000)
    ap.add_argument("--parts", default="encode,search")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    path = Path(args.out)
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    result["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "note": "2 cores shared with other jobs; load average recorded per part",
    }
    parts = args.parts.split(",")
    if "encode" in parts:
        result["encode"] = bench_encode(args.encode_n, args.model_n, args.repeats)
    if "search" in parts:
        result["search"] = [
            bench_search(int(s), args.queries, args.hnsw_max, args.milvus_max) for s in args.sizes.split(",")
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print("wrote", path)


if __name__ == "__main__":
    main()
