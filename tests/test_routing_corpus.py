"""The router on the real assignments of routing/cixi_npc_2017.jsonl (opt-in: corpus marker)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from govnlp.routing import AgencyRouter, canonical_agency


@pytest.mark.corpus
def test_router_beats_the_baseline_level_on_a_held_out_block(corpora_dir: Path) -> None:
    path = corpora_dir / "routing" / "cixi_npc_2017.jsonl"
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    rows.sort(key=lambda r: int(r["id"]))
    cut = int(len(rows) * 0.6)
    train, test = rows[:cut], rows[cut:]
    names = {r["lead_agency"] for r in rows} | {a for r in rows for a in r["co_agencies"]}
    assert len({canonical_agency(n) for n in names}) == len(names)  # conservative: nothing merged
    router = AgencyRouter(random_state=0, embedder=None).fit(
        [r["title"] for r in train],
        [r["lead_agency"] for r in train],
        [r["co_agencies"] for r in train],
        ids=[r["id"] for r in train],
    )
    out = router.recommend([r["title"] for r in test], k=5)
    top1 = sum(o.lead[0].agency == r["lead_agency"] for o, r in zip(out, test, strict=True)) / len(test)
    top3 = sum(
        r["lead_agency"] in {a.agency for a in o.lead[:3]} for o, r in zip(out, test, strict=True)
    ) / len(test)
    assert (
        top1 >= 0.45 and top3 >= 0.65
    )  # bench_route.py, block split: see benchmarks/results/bench_route.json
