"""Routing benchmark: lead top-1/top-3 and co-agency recall@5 of AgencyRouter against the issue's baseline.

    python benchmarks/bench_route.py --corpora ../shared/corpora     # writes benchmarks/results/bench_route.json

Data: routing/cixi_npc_2017.jsonl (285 人大 suggestions of 慈溪市 2017, titles with the assigned lead and
co-agencies). The issue's baseline trains on one body (人大) and tests on the other (政协); this file holds
only the 人大 rows, so that split cannot be made here. Two splits stand in for it:

- ``block``: suggestions ordered by number, the first 60 % train, the last 40 % test (numbers follow the
  deputies' delegations, so the test proposers and places differ from the training ones);
- ``cv``: 5-fold cross-validation with shuffling, repeated with 3 seeds (15 folds): mean and standard
  deviation over the folds.

Metrics compare canonical names (:func:`govnlp.canonical_agency`, no renames); all names in this file
are distinct after canonicalisation, so nothing is merged. Co-agency recall@5 is averaged over the test
proposals that have at least one co-agency.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from govnlp.routing import AgencyRouter, canonical_agency  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "bench_route.json"


def load_rows(corpora: Path) -> list[dict[str, Any]]:
    path = corpora / "routing" / "cixi_npc_2017.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return sorted(rows, key=lambda r: int(r["id"]) if str(r["id"]).isdigit() else 0)


def splits(n: int) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    from sklearn.model_selection import KFold

    cut = int(n * 0.6)
    out = {"block": [(np.arange(cut), np.arange(cut, n))], "cv": []}
    for seed in range(3):
        out["cv"].extend(KFold(5, shuffle=True, random_state=seed).split(np.arange(n)))
    return out


def metrics(
    pred_lead: list[list[str]], pred_co: list[list[str]], rows: list[dict[str, Any]]
) -> dict[str, float]:
    c = canonical_agency
    gold = [c(r["lead_agency"]) for r in rows]
    top1 = np.mean([bool(p) and c(p[0]) == g for p, g in zip(pred_lead, gold, strict=True)])
    top3 = np.mean([g in {c(a) for a in p[:3]} for p, g in zip(pred_lead, gold, strict=True)])
    rec = []
    for p, r in zip(pred_co, rows, strict=True):
        g = {c(a) for a in r["co_agencies"]}
        if g:
            rec.append(len(g & {c(a) for a in p[:5]}) / len(g))
    return {"lead_top1": float(top1), "lead_top3": float(top3), "co_recall5": float(np.mean(rec))}


# -- the baseline: char TF-IDF + LinearSVC on titles; kNN vote for co-agencies ------------------
def baseline(
    train: list[dict[str, Any]], test: list[dict[str, Any]]
) -> tuple[list[list[str]], list[list[str]]]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    X = vec.fit_transform([r["title"] for r in train])
    Xt = vec.transform([r["title"] for r in test])
    svm = LinearSVC(random_state=0).fit(X, [r["lead_agency"] for r in train])
    S = svm.decision_function(Xt)
    leads = [[str(svm.classes_[j]) for j in np.argsort(-s)[:5]] for s in S]
    sims = (Xt @ X.T).toarray()
    cos = []
    for s in sims:
        votes: dict[str, float] = {}
        for j in np.argsort(-s)[:10]:
            for a in train[j]["co_agencies"]:
                votes[a] = votes.get(a, 0.0) + float(s[j])
        cos.append(sorted(votes, key=lambda a: -votes[a])[:5])
    return leads, cos


def router_method(**params: Any):
    def run(
        train: list[dict[str, Any]], test: list[dict[str, Any]]
    ) -> tuple[list[list[str]], list[list[str]]]:
        router = AgencyRouter(**params).fit(
            [r["title"] for r in train],
            [r["lead_agency"] for r in train],
            [r["co_agencies"] for r in train],
            ids=[r["id"] for r in train],
        )
        out = router.recommend([r["title"] for r in test], k=5)
        return [[a.agency for a in o.lead] for o in out], [[a.agency for a in o.co] for o in out]

    return run


EMBEDDER: Any = None  # the default model behind the disk cache of benchmarks/embed_cache.py (set in main)


DEFAULT = "router (default): tf-idf svm + function words + e5 neighbours"


def methods() -> dict[str, Any]:
    e5 = {"embedder": EMBEDDER}
    tfidf = {"embedder": None}
    return {
        "baseline: char tf-idf + linear svm; knn co": baseline,
        DEFAULT: router_method(**e5),
        "router: e5 neighbour weight 1.0": router_method(embedding_weight=1.0, **e5),
        "router: no function words": router_method(knowledge=False, **e5),
        "router: function weight 0.15": router_method(knowledge_weight=0.15, **e5),
        "router: function weight 1.0": router_method(knowledge_weight=1.0, **e5),
        "router: C=0.5": router_method(C=0.5, **e5),
        "router: C=2": router_method(C=2.0, **e5),
        "router: co from neighbour vote only": router_method(co_weights=(1.0, 0.0, 0.0, 0.0), **e5),
        "router: co without function words": router_method(co_weights=(1.0, 1.0, 0.5, 0.0), **e5),
        "router: 20 neighbours": router_method(n_neighbors=20, **e5),
        "router, no model (embedder=None): tf-idf svm + function words": router_method(**tfidf),
        "router, no model: no function words": router_method(knowledge=False, **tfidf),
        "router, no model: function weight 0.15": router_method(knowledge_weight=0.15, **tfidf),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpora", default=str(ROOT.parent / "shared" / "corpora"))
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args()
    global EMBEDDER
    from embed_cache import CachedEmbedder
    from govnlp.embedders import load_embedder

    EMBEDDER = CachedEmbedder(load_embedder())
    rows = load_rows(Path(args.corpora))
    sp = splits(len(rows))
    results: dict[str, Any] = {}
    for name, fn in methods().items():
        t0 = time.perf_counter()
        res: dict[str, Any] = {}
        for split, folds in sp.items():
            per = []
            for tr, te in folds:
                train, test = [rows[i] for i in tr], [rows[i] for i in te]
                leads, cos = fn(train, test)
                per.append(metrics(leads, cos, test))
            res[split] = {
                k: {"mean": float(np.mean([p[k] for p in per])), "std": float(np.std([p[k] for p in per]))}
                for k in per[0]
            }
        res["seconds"] = round(time.perf_counter() - t0, 1)
        results[name] = res
        b, c = res["block"], res["cv"]
        print(
            f"{name:45s} block {b['lead_top1']['mean']:.3f} {b['lead_top3']['mean']:.3f} "
            f"{b['co_recall5']['mean']:.3f} | cv {c['lead_top1']['mean']:.3f}±{c['lead_top1']['std']:.3f} "
            f"{c['lead_top3']['mean']:.3f}±{c['lead_top3']['std']:.3f} "
            f"{c['co_recall5']['mean']:.3f}±{c['co_recall5']['std']:.3f}",
            flush=True,
        )
    out = {
        "data": "routing/cixi_npc_2017.jsonl",
        "rows": len(rows),
        "lead_agencies": len({r["lead_agency"] for r in rows}),
        "splits": {
            "block": "ordered by suggestion number: first 60% train, last 40% test (1 split)",
            "cv": "5-fold shuffled cross-validation x 3 seeds (15 folds), mean and std over folds",
        },
        "goal": {"lead_top1": 0.60, "lead_top3": 0.80, "co_recall5": 0.65},
        "issue_baseline_cross_body": {"lead_top1": 0.43, "lead_top3": 0.58, "co_recall5": 0.48},
        "methods": results,
        "default": DEFAULT,
        "python": platform.python_version(),
    }
    Path(args.out).write_text(
        json.dumps(out, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
