"""In-domain cross-encoder reranker: train from the default model's weights, measure MRR@10 before/after.

On ``message_reply/dev.jsonl`` of ``--corpora``:

- training: messages of years <= 2016 (title + detail) against their own reply (cleaned with
  ``clean_for_index``), each with ``--negatives`` hard negatives drawn from the top 30 of a BM25 index of
  the training replies (not the message's own reply); the model is the converted multilingual-e5-small
  (the default embedder's weights) loaded as a ``CrossEncoder`` with a fresh one-logit head, trained with
  a listwise softmax loss over (positive, negatives) groups for at most ``--train-seconds`` wall time;
- evaluation: up to ``--queries`` messages of 2017-2018 (a fixed hash sample) against all replies of the
  file in the default lexical index (``SearchIndex.build(records, embedder="hash")``, mode ``lexical``,
  so no dense encoding is needed); MRR@10 of the index's order and of the same top-``--top`` candidates
  re-ordered by the trained cross-encoder through ``search_batch(..., reranker=FOLDER)``, and the rerank
  cost per query.

Writes ``benchmarks/results/bench_rerank.json``. Run with ``nice -n 10``; it is CPU-bound.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from govnlp.cleaning import clean_for_index  # noqa: E402


def _h(s: str) -> int:
    return int(hashlib.sha1(s.encode()).hexdigest()[:12], 16)


def load_rows(corpora: Path) -> list[dict[str, Any]]:
    path = corpora / "message_reply" / "dev.jsonl"
    if not path.is_file():
        raise SystemExit(f"{path} not found: pass --corpora DIR (the folder holding message_reply/)")
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    for r in rows:
        r["year"] = int(r["time"][:4])
        r["query"] = f"{r['title']}\n{r['detail']}"
        r["clean"] = clean_for_index(r["reply"]) or r["reply"]
    return rows


def base_folder(work: Path) -> Path:
    """A folder with the default model's transformer only (config, weights, tokenizer), no pooling modules."""
    from govnlp.embedders.default import default_model_dir

    src = default_model_dir()
    dst = work / "e5-base"
    dst.mkdir(parents=True, exist_ok=True)
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
    ):
        if (src / name).is_file() and not (dst / name).exists():
            os.symlink(src / name, dst / name)
    return dst


def hard_negatives(train: list[dict[str, Any]], n_neg: int, seed: int) -> list[tuple[str, str, list[str]]]:
    from govnlp.search import SearchIndex

    records = [{"id": str(r["msg_id"]), "text": r["reply"]} for r in train]
    index = SearchIndex.build(records, embedder="hash", lexical="bm25", show_progress_bar=False)
    clean = {str(r["msg_id"]): r["clean"] for r in train}
    hits = index.search_batch([r["query"] for r in train], k=30, mode="lexical")
    rng = random.Random(seed)
    groups = []
    for r, hs in zip(train, hits, strict=True):
        pool = [h.id for h in hs if h.id != str(r["msg_id"])]
        if len(pool) < n_neg:
            pool += rng.sample(
                [i for i in clean if i != str(r["msg_id"]) and i not in pool], n_neg - len(pool)
            )
        negs = rng.sample(pool[:30], n_neg)
        groups.append((r["query"], r["clean"], [clean[i] for i in negs]))
    return groups


def train(args: argparse.Namespace, groups: list[tuple[str, str, list[str]]], out: Path) -> dict[str, Any]:
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(args.seed)
    model = CrossEncoder(
        str(base_folder(args.work)),
        num_labels=1,
        max_length=args.max_length,
        local_files_only=True,
        model_kwargs={"torch_dtype": torch.float32},
    )
    # only the top --train-layers layers, the pooler and the head learn: on a shared 2-core CPU a full
    # step (8 pairs of 128 tokens) took ~20 s wall, too slow for a useful number of steps in the budget
    bert = model.model.bert
    for p in bert.embeddings.parameters():
        p.requires_grad_(False)
    for layer in bert.encoder.layer[: len(bert.encoder.layer) - args.train_layers]:
        for p in layer.parameters():
            p.requires_grad_(False)
    head = [p for n, p in model.named_parameters() if "classifier" in n or "pooler" in n]
    head_ids = {id(p) for p in head}
    body = [p for p in model.parameters() if id(p) not in head_ids and p.requires_grad]
    opt = torch.optim.AdamW(
        [{"params": body, "lr": args.lr}, {"params": head, "lr": args.head_lr}], weight_decay=0.01
    )
    rng = random.Random(args.seed)
    order = list(range(len(groups)))
    model.train()
    t0 = time.perf_counter()
    step, losses, seen = 0, [], 0
    while step < args.max_steps and time.perf_counter() - t0 < args.train_seconds:
        if seen % len(order) == 0:
            rng.shuffle(order)
        batch = [groups[order[(seen + j) % len(order)]] for j in range(args.groups_per_step)]
        seen += args.groups_per_step
        pairs = [(q, t) for q, pos, negs in batch for t in [pos, *negs]]
        feats = model.preprocess(pairs)
        logits = model(feats)["scores"].view(len(batch), -1)
        loss = torch.nn.functional.cross_entropy(logits, torch.zeros(len(batch), dtype=torch.long))
        warm = min(1.0, (step + 1) / args.warmup)
        for g, base in zip(opt.param_groups, (args.lr, args.head_lr), strict=True):
            g["lr"] = base * warm
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(float(loss.detach()))
        step += 1
        if step % 10 == 0:
            print(
                f"step {step} loss(last10) {sum(losses[-10:]) / 10:.3f} {time.perf_counter() - t0:.0f}s",
                flush=True,
            )
    seconds = time.perf_counter() - t0
    model.eval()
    model.save_pretrained(str(out))
    return {
        "steps": step,
        "groups_seen": seen,
        "pairs_per_step": args.groups_per_step * (1 + args.negatives),
        "epochs": round(seen / len(groups), 2),
        "train_seconds": round(seconds, 1),
        "loss_first10": round(sum(losses[:10]) / max(1, len(losses[:10])), 4),
        "loss_last10": round(sum(losses[-10:]) / max(1, len(losses[-10:])), 4),
    }


def mrr10(hits_lists: list[list[Any]], gold: list[str]) -> float:
    total = 0.0
    for hits, g in zip(hits_lists, gold, strict=True):
        for h in hits[:10]:
            if h.id == g:
                total += 1.0 / h.rank
                break
    return total / len(gold)


def evaluate(args: argparse.Namespace, rows: list[dict[str, Any]], folder: Path) -> dict[str, Any]:
    import torch

    from govnlp.search import SearchIndex
    from govnlp.search.reranker import CrossEncoderReranker

    ev = [r for r in rows if r["eval_query"] and r["year"] in (2017, 2018)]
    ev = sorted(ev, key=lambda r: _h(str(r["msg_id"])))[: args.queries]
    records = [{"id": str(r["msg_id"]), "text": r["reply"]} for r in rows]
    index = SearchIndex.build(records, embedder="hash", show_progress_bar=False)
    queries = [r["query"] for r in ev]
    gold = [str(r["msg_id"]) for r in ev]
    before = index.search_batch(queries, k=args.top, mode="lexical")
    in_top = sum(any(h.id == g for h in hs) for hs, g in zip(before, gold, strict=True))
    rr = CrossEncoderReranker(folder, max_length=args.max_length, rerank_top=args.top, batch_size=args.top)
    torch.set_num_threads(args.threads)
    per_query = []
    after = []
    for q in queries:
        t = time.perf_counter()
        after.extend(index.search_batch([q], k=10, mode="lexical", reranker=rr))
        per_query.append(time.perf_counter() - t)
    t = time.perf_counter()
    index.search_batch(queries[:20], k=10, mode="lexical")
    lex_ms = (time.perf_counter() - t) / 20 * 1000
    per_query.sort()
    return {
        "queries": len(ev),
        "candidates": f"top {args.top} of the default lexical index (bm25+tfidf, "
        f"{'cleaned' if getattr(index, 'clean_lexical', True) else 'raw'} replies) over all {len(rows)} replies",
        "recall_at_top": round(in_top / len(ev), 4),
        "mrr10_before": round(mrr10(before, gold), 4),
        "mrr10_after": round(mrr10(after, gold), 4),
        "search_ms_per_query_without_reranker": round(lex_ms, 1),
        "search_ms_per_query_with_reranker_median": round(per_query[len(per_query) // 2] * 1000, 1),
        "search_ms_per_query_with_reranker_mean": round(sum(per_query) / len(per_query) * 1000, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpora", type=Path, default=Path("../shared/corpora"))
    ap.add_argument("--work", type=Path, default=Path("/tmp/govnlp_bench_rerank"))
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--negatives", type=int, default=3)
    ap.add_argument("--groups-per-step", type=int, default=2)
    ap.add_argument("--train-layers", type=int, default=2)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--head-lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--max-steps", type=int, default=400)
    ap.add_argument("--train-seconds", type=float, default=420)
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "bench_rerank.json")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    args.work.mkdir(parents=True, exist_ok=True)
    rows = load_rows(args.corpora)
    tr = [r for r in rows if r["eval_query"] and r["year"] <= 2016]
    groups = hard_negatives(tr, args.negatives, args.seed)
    folder = args.work / "ce-e5-small-messages"
    t_info = train(args, groups, folder)
    print("trained", t_info, flush=True)
    result = evaluate(args, rows, folder)
    print("eval", result, flush=True)
    out = {
        "benchmark": "bench_rerank",
        "model": "multilingual-e5-small (govnlp default weights) + fresh 1-logit head, CrossEncoder",
        "train_data": f"{len(tr)} messages of <= 2016 with their own reply, {args.negatives} BM25 hard negatives each",
        "settings": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items()
            if k not in ("out", "work", "corpora")
        },
        "machine": f"{os.cpu_count()} shared CPU cores, torch threads {args.threads}, load avg {os.getloadavg()[0]:.1f} at the end, nice 10",
        "train": {**t_info, "trainable_layers": f"top {args.train_layers} of 12 + pooler + head"},
        "eval": result,
    }
    args.out.write_text(
        json.dumps(out, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    print("wrote", args.out)


if __name__ == "__main__":
    main()
