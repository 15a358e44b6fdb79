"""Benchmark the message classifiers: 5-fold stratified CV on labeled_messages/train_raw.jsonl.

With ``--proposals``: the proposals part instead (``results/bench_classify_proposals.json``): the Jiangsu
CPPCC 2019 proposals split by time (train on the first 65% by proposal number, test on the rest) and by
repeated stratified splits of the same size; trained TF-IDF with and without the EM prior-shift correction;
zero-shot from the bare label names and from the glossary-described names; few-shot prototypes from 1, 3
and 5 labelled proposals per class; the Cixi titles of two schemes (人大 and 政协 categories).

Reports accuracy, macro-F1, expected calibration error and train/predict time per method, each method
run through ``govnlp.TextClassifier`` on the same folds. Also: whether the extra jieba-token rows
(``train_tokenized.jsonl``) help when added to the training folds only (rows that duplicate any raw row
are dropped first), and the zero-shot macro-F1 from the label descriptions of the built-in ``messages``
taxonomy.

Embedding vectors are computed once per embedder and cached under ``--cache-dir`` (default in /tmp,
never in the repository); CV folds reuse them, so the reported embedding-method train/predict times are
the head's only and the one-off encoding throughput is reported separately.

Usage::

    nice -n 10 .venv/bin/python benchmarks/bench_classify.py --methods tfidf,tfidf+extra,embedding,ensemble
    nice -n 10 .venv/bin/python benchmarks/bench_classify.py --methods finetune --finetune-folds 1
    nice -n 10 .venv/bin/python benchmarks/bench_classify.py --proposals
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import platform
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from govnlp.classify import TextClassifier, ZeroShotClassifier, evaluate_classifier
from govnlp.classify.text import document_text, normalize_text

logger = logging.getLogger("bench_classify")

ROOT = Path(__file__).resolve().parents[1]


class CachedEmbedder:
    """Wraps an embedder; vectors of texts seen before come from an on-disk cache (same fingerprint)."""

    def __init__(self, inner: Any, cache_dir: Path) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self._fp = inner.fingerprint()
        cache_dir.mkdir(parents=True, exist_ok=True)
        self.path = cache_dir / f"vectors-{self._fp[:16]}.npz"
        self.store: dict[str, np.ndarray] = {}
        if self.path.is_file():
            data = np.load(self.path)
            self.store = dict(zip(data["keys"].tolist(), data["vecs"], strict=True))
        self.encode_seconds = 0.0
        self.encoded = 0

    def fingerprint(self) -> str:
        return self._fp

    @staticmethod
    def _key(text: str, kind: str) -> str:
        return hashlib.sha1(f"{kind}\x00{text}".encode()).hexdigest()

    def encode(
        self, texts: Any, *, kind: str = "passage", batch_size: int = 32, show_progress_bar: Any = None
    ) -> np.ndarray:
        texts = list(texts)
        keys = [self._key(t, kind) for t in texts]
        missing = [i for i, k in enumerate(keys) if k not in self.store]
        if missing:
            t0 = time.perf_counter()
            vecs = self.inner.encode(
                [texts[i] for i in missing],
                kind=kind,
                batch_size=batch_size,
                show_progress_bar=show_progress_bar,
            )
            self.encode_seconds += time.perf_counter() - t0
            self.encoded += len(missing)
            for i, v in zip(missing, vecs, strict=True):
                self.store[keys[i]] = v
            np.savez(self.path, keys=np.array(list(self.store)), vecs=np.stack(list(self.store.values())))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.store[k] for k in keys]).astype(np.float32)


def load_raw(corpora: Path) -> tuple[list[str], list[str], dict[str, int]]:
    """The raw rows, deduplicated: repeated ids or texts keep one row; conflicting labels drop all copies."""
    rows = [
        json.loads(line)
        for line in (corpora / "labeled_messages" / "train_raw.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
    ]
    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_key[str(r["uid"])].append(r)
    by_text: dict[str, list[str]] = defaultdict(list)
    kept: list[dict[str, Any]] = []
    conflicting_ids = 0
    for group in by_key.values():
        if len({r["label"] for r in group}) > 1:
            conflicting_ids += 1
            continue
        kept.append(group[0])
    final: list[dict[str, Any]] = []
    dup_text = conflict_text = 0
    for r in kept:
        by_text[normalize_text(r["text"])].append(r["label"])
    for r in kept:
        key = normalize_text(r["text"])
        labels = by_text[key]
        if len(set(labels)) > 1:
            conflict_text += 1
            continue
        if labels and labels[0] is not None:
            final.append(r)
            by_text[key] = []  # later copies are duplicates
        else:
            dup_text += 1
    stats = {
        "rows_in_file": len(rows),
        "ids_repeated": sum(len(g) > 1 for g in by_key.values()),
        "ids_with_conflicting_labels_dropped": conflicting_ids,
        "duplicate_texts_dropped": dup_text,
        "rows_with_conflicting_text_labels_dropped": conflict_text,
        "rows_used": len(final),
    }
    return [r["text"] for r in final], [r["label"] for r in final], stats


def load_extra(
    corpora: Path, raw_texts: list[str], threshold: float = 0.8, *, spaced: bool = False
) -> tuple[list[str], list[str], dict[str, Any]]:
    """The token-only rows, minus those that duplicate a raw row (cosine of jieba-token TF-IDF >= threshold).

    Raw texts are segmented with jieba and restricted to the vocabulary of the token rows (which had stop
    words removed), so the two sides are comparable. ``spaced``: the tokens joined by spaces (for the
    word+char ``tfidf`` method, which keeps the words and drops the spaces for its character block);
    otherwise joined without spaces (character-only methods see text close to the raw form).
    """
    import jieba
    from sklearn.feature_extraction.text import TfidfVectorizer

    jieba.setLogLevel(logging.WARNING)
    rows = [
        json.loads(line)
        for line in (corpora / "labeled_messages" / "train_tokenized.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
    ]
    tok_docs = [r["tokens"] if isinstance(r["tokens"], str) else " ".join(r["tokens"]) for r in rows]
    vocab = {t for d in tok_docs for t in d.split()}
    raw_docs = [" ".join(w for w in jieba.lcut(normalize_text(t)) if w in vocab) for t in raw_texts]
    vec = TfidfVectorizer(analyzer=str.split, min_df=1).fit(tok_docs + raw_docs)
    a, b = vec.transform(tok_docs), vec.transform(raw_docs)
    best = np.zeros(len(tok_docs))
    for start in range(0, len(tok_docs), 1000):
        sims = (a[start : start + 1000] @ b.T).toarray()
        best[start : start + 1000] = sims.max(axis=1)
    dup = best >= threshold
    # joined without spaces: character n-grams then see text close to the raw form
    sep = " " if spaced else ""
    texts = [sep.join(d.split()) for d, isdup in zip(tok_docs, dup, strict=True) if not isdup]
    labels = [r["label"] for r, isdup in zip(rows, dup, strict=True) if not isdup]
    stats = {
        "rows_in_file": len(rows),
        "duplicates_of_raw_rows_dropped": int(dup.sum()),
        "duplicate_threshold_cosine": threshold,
        "rows_used": len(texts),
        "similarity_quantiles": {q: round(float(np.quantile(best, q)), 3) for q in (0.5, 0.9, 0.99)},
    }
    return texts, labels, stats


class RawPlusExtraEnsemble:
    """TF-IDF trained on raw + extra token rows, embedding head on the raw rows only, combined.

    The token-only rows have no raw text, so the embedding member cannot use them; the TF-IDF member can.
    ``TextClassifier.combine`` averages the two members' calibrated probabilities.
    """

    def __init__(self, embedder: Any, seed: int) -> None:
        self.embedder = embedder
        self.seed = seed

    def fit(self, texts: list[str], labels: list[str], n_raw: int) -> TextClassifier:
        tfidf = TextClassifier("tfidf", random_state=self.seed).fit(texts, labels)
        emb = TextClassifier("embedding", embedder=self.embedder, random_state=self.seed)
        emb.fit(texts[:n_raw], labels[:n_raw])
        return TextClassifier.combine([tfidf, emb])


class FinetunePlusTfidf:
    """A fine-tuned encoder (raw rows only) and the TF-IDF default (raw + extra token rows), combined.

    Token-only rows are not sentences, so the encoder learns from the raw rows alone; the TF-IDF member
    learns from both. ``TextClassifier.combine`` averages their calibrated probabilities.
    """

    def __init__(self, params: dict[str, Any], seed: int) -> None:
        self.params = params
        self.seed = seed
        self.last_finetuned: TextClassifier | None = None

    def fit(self, texts: list[str], labels: list[str], n_raw: int) -> TextClassifier:
        ft = TextClassifier(
            "finetune", method_params=self.params, random_state=self.seed, show_progress_bar=True
        )
        ft.fit(texts[:n_raw], labels[:n_raw])
        self.last_finetuned = ft
        tfidf = TextClassifier("tfidf", random_state=self.seed).fit(texts, labels)
        return TextClassifier.combine([ft, tfidf])


def run_cv(
    name: str,
    make: Any,
    texts: list[str],
    labels: list[str],
    folds: list[tuple[np.ndarray, np.ndarray]],
    extra: tuple[list[str], list[str]] | None = None,
) -> dict[str, Any]:
    per_fold = []
    for k, (tr, te) in enumerate(folds):
        tr_texts = [texts[i] for i in tr]
        tr_labels = [labels[i] for i in tr]
        if extra is not None:
            tr_texts += extra[0]
            tr_labels += extra[1]
        te_texts = [texts[i] for i in te]
        te_labels = [labels[i] for i in te]
        t0 = time.perf_counter()
        if isinstance(make, (RawPlusExtraEnsemble, FinetunePlusTfidf)):
            clf = make.fit(tr_texts, tr_labels, len(tr))
        else:
            clf = make().fit(tr_texts, tr_labels)
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        clf.predict_proba(te_texts)
        predict_s = time.perf_counter() - t0
        rep = evaluate_classifier(clf, te_texts, te_labels)
        fold = {
            "fold": k,
            "n_train": len(tr_texts),
            "n_test": len(te_texts),
            "accuracy": rep.accuracy,
            "macro_f1": rep.macro_f1,
            "ece": rep.ece,
            "train_s": round(train_s, 2),
            "predict_s": round(predict_s, 2),
        }
        if isinstance(make, FinetunePlusTfidf):
            # the fine-tuned member alone, on the same fold (the combined model is `clf`)
            alone = evaluate_classifier(make.last_finetuned, te_texts, te_labels)
            fold["finetune_alone"] = {
                "accuracy": alone.accuracy,
                "macro_f1": alone.macro_f1,
                "ece": alone.ece,
            }
            print(f"  finetune alone fold {k}: macro-F1 {alone.macro_f1:.4f}", flush=True)
        if hasattr(clf, "members_") and getattr(clf.members_[0], "steps_", None) is not None:
            ft = clf.members_[0]
            fold["finetune_steps"] = ft.steps_
            fold["finetune_history"] = ft.history_
            fold["finetune_loop_seconds"] = round(ft.train_seconds_, 1)
            fold["finetune_seconds_per_step"] = round(ft.train_seconds_ / max(1, ft.steps_), 2)
        per_fold.append(fold)
        print(
            f"  {name} fold {k}: acc {rep.accuracy:.4f} macro-F1 {rep.macro_f1:.4f} ECE {rep.ece:.4f} "
            f"train {train_s:.1f}s predict {predict_s:.1f}s",
            flush=True,
        )
    out = {"method": name, "folds_run": len(per_fold), "per_fold": per_fold}
    for key in ("accuracy", "macro_f1", "ece", "train_s", "predict_s"):
        vals = [f[key] for f in per_fold]
        out[key] = round(statistics.mean(vals), 4)
        out[key + "_std"] = round(statistics.stdev(vals), 4) if len(vals) > 1 else None
    return out


#: ``tfidf`` configurations measured (method_params of TextClassifier("tfidf")); "tfidf" is the default.
TFIDF_VARIANTS: dict[str, dict[str, Any]] = {
    "tfidf": {},
    "tfidf-logreg": {"head": "logreg", "C": 20.0},
    "tfidf-char": {"analyzer": "char", "head": "svm", "C": 0.5, "class_weight": None},
    "tfidf-char-logreg": {"analyzer": "char", "head": "logreg", "C": 20.0, "class_weight": None},
}


def finetune_notes(res: dict[str, Any]) -> None:
    """Mark a fine-tuning result whose training was capped (from its recorded parameters)."""
    steps = (res.get("params") or {}).get("max_steps")
    if steps is not None:
        res["capped"] = (
            f"stopped after {steps} optimiser steps: a timing and smoke measurement "
            "of fine-tuning the real default model, NOT an estimate of its quality"
        )


def machine() -> dict[str, Any]:
    import sklearn
    import torch
    import transformers

    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "transformers": transformers.__version__,
        "sklearn": sklearn.__version__,
        "note": "2 CPU cores shared with other jobs; times are indicative",
    }


# --- proposals ---------------------------------------------------------------------------------------

#: Share of the Jiangsu proposals (in proposal-number order) used for training in the time split.
TIME_SPLIT_SHARE = 0.65


def load_proposals(corpora: Path) -> list[dict[str, Any]]:
    """The Jiangsu CPPCC 2019 proposals, in proposal-number order."""
    path = corpora / "proposals" / "jiangsu_cppcc_2019.jsonl"
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return sorted(rows, key=lambda r: int(r["number"]))


def prior_shift(proba: np.ndarray, train_prior: np.ndarray, iters: int = 100) -> np.ndarray:
    """Saerens et al. (2002) EM re-estimation of the class priors of an unlabelled set; adjusted posteriors."""
    prior_tr = np.clip(train_prior, 1e-6, None)
    pi = prior_tr.copy()
    q = proba
    for _ in range(iters):
        q = proba * (pi / prior_tr)
        q = q / q.sum(axis=1, keepdims=True)
        new = q.mean(axis=0)
        if np.abs(new - pi).max() < 1e-6:
            break
        pi = new
    return q


def scores_of(y_true: list[str], proba: np.ndarray, classes: list[str], small: set[str]) -> dict[str, Any]:
    """Macro-F1, accuracy, small classes' F1 and the coverage curve of probabilities ``proba``."""
    from govnlp.classify import evaluate_predictions

    pred = [classes[j] for j in proba.argmax(axis=1)]
    rep = evaluate_predictions(y_true, pred, proba, classes)
    f1 = {c.label: c.f1 for c in rep.per_class if c.support}
    return {
        "macro_f1": rep.macro_f1,
        "accuracy": rep.accuracy,
        "small_class_f1": round(statistics.mean(f1[c] for c in small if c in f1), 4)
        if any(c in f1 for c in small)
        else None,
        "per_class_f1": f1,
        "coverage": [list(c) for c in rep.coverage],
        "n_test": rep.n,
    }


def aligned(proba: np.ndarray, have: list[str], classes: list[str]) -> np.ndarray:
    out = np.zeros((len(proba), len(classes)))
    for j, c in enumerate(have):
        out[:, classes.index(c)] = proba[:, j]
    return out


def run_proposals(args: argparse.Namespace) -> int:
    """Proposals: a time split of the Jiangsu proposals, repeated stratified splits, zero-/few-shot, Cixi."""
    from sklearn.model_selection import StratifiedShuffleSplit

    from govnlp.classify import Taxonomy
    from govnlp.classify.text import focus_text
    from govnlp.embedders import load_embedder

    corpora = Path(args.corpora)
    rows = load_proposals(corpora)
    labels = [r["category"] for r in rows]
    classes = sorted(set(labels))
    n = len(rows)
    cut = int(TIME_SPLIT_SHARE * n)
    train, test = rows[:cut], rows[cut:]
    y_tr, y_te = labels[:cut], labels[cut:]
    counts = Counter(y_tr)
    small = {c for c in classes if counts[c] < 15}
    seed = args.seed
    out: dict[str, Any] = {
        "benchmark": "bench_classify --proposals",
        "data": {
            "file": "proposals/jiangsu_cppcc_2019.jsonl",
            "input": "dicts with title and text (TextClassifier reads title + newline + text)",
            "n": n,
            "class_counts": dict(Counter(labels)),
        },
        "time_split": {
            "protocol": f"train on the first {TIME_SPLIT_SHARE:.0%} by proposal number "
            f"(numbers {train[0]['number']}-{train[-1]['number']}), test on the rest "
            f"({test[0]['number']}-{test[-1]['number']})",
            "n_train": len(train),
            "n_test": len(test),
            "small_classes": sorted(small),
            "small_classes_rule": "fewer than 15 training proposals",
        },
        "machine": machine(),
        "methods": {},
    }
    res = out["methods"]
    out_path = Path(args.proposals_out)

    def save() -> None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(
            json.dumps(out, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )

    # trained TF-IDF (the default method) on the time split, and with the EM prior-shift correction
    for name, params in (("tfidf", {}), ("tfidf-logreg", {"head": "logreg", "C": 20.0})):
        t0 = time.perf_counter()
        clf = TextClassifier("tfidf", method_params=params, random_state=seed).fit(train, y_tr)
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        proba = aligned(clf.predict_proba(test), list(clf.classes_), classes)
        predict_s = time.perf_counter() - t0
        r = scores_of(y_te, proba, classes, small)
        r.update({"train_s": round(train_s, 2), "predict_s_per_proposal": round(predict_s / len(test), 4)})
        res[name] = r
        prior = np.array([counts[c] / len(y_tr) for c in classes])
        res[name + "+prior-shift"] = scores_of(y_te, prior_shift(proba + 1e-9, prior), classes, small)
        if name == "tfidf":
            tfidf_proba = proba
        print(
            f"  {name}: macro-F1 {r['macro_f1']:.4f} acc {r['accuracy']:.4f} small {r['small_class_f1']}",
            flush=True,
        )
        save()

    # repeated stratified splits of the same size (spread)
    sss = StratifiedShuffleSplit(n_splits=args.proposal_repeats, test_size=len(test), random_state=seed)
    per = []
    strat_probas = []
    for tr_i, te_i in sss.split(np.zeros(n), labels):
        clf = TextClassifier(random_state=seed).fit([rows[i] for i in tr_i], [labels[i] for i in tr_i])
        p = aligned(clf.predict_proba([rows[i] for i in te_i]), list(clf.classes_), classes)
        strat_probas.append((te_i, p))
        s = scores_of([labels[i] for i in te_i], p, classes, small)
        per.append({k: s[k] for k in ("macro_f1", "accuracy", "small_class_f1")})
    res["tfidf"]["stratified"] = {
        "repeats": len(per),
        "per_split": per,
        **{k: round(statistics.mean(x[k] for x in per), 4) for k in ("macro_f1", "accuracy")},
        **{k + "_std": round(statistics.stdev(x[k] for x in per), 4) for k in ("macro_f1", "accuracy")},
    }
    print(
        f"  tfidf stratified: {res['tfidf']['stratified']['macro_f1']} ± {res['tfidf']['stratified']['macro_f1_std']}",
        flush=True,
    )
    save()

    # zero-shot from the 14 label names (bare, and described from the glossary), few-shot prototypes
    inner = load_embedder(args.embedder)
    emb = disk_cached(inner)
    tax = Taxonomy.from_labels(classes, name="jiangsu-cppcc")
    variants = {
        "zeroshot-bare-names": {"expand": False},
        "zeroshot": {},
        "zeroshot-label-passage": {"label_kind": "passage"},
        "zeroshot-whole-text": {"focus": False},
        "zeroshot-whole-text-bare-names": {"focus": False, "expand": False},
    }
    for name, kw in variants.items():
        zs = ZeroShotClassifier(tax, embedder=emb, **kw).fit()
        proba = aligned(zs.predict_proba(test), list(zs.classes_), classes)
        res[name] = scores_of(y_te, proba, classes, small)
        res[name]["params"] = kw
        if name == "zeroshot":
            zs_proba = proba
            res[name + "+prior-shift"] = scores_of(
                y_te, prior_shift(proba + 1e-12, np.full(len(classes), 1 / len(classes))), classes, small
            )
        print(f"  {name}: macro-F1 {res[name]['macro_f1']:.4f} acc {res[name]['accuracy']:.4f}", flush=True)
        save()
    for k in (1, 3, 5):
        draws = []
        for draw in range(args.fewshot_draws):
            rng = np.random.default_rng(seed + draw)
            shots: list[int] = []
            for c in classes:
                idx = [i for i, y in enumerate(y_tr) if y == c]
                shots.extend(rng.choice(idx, size=min(k, len(idx)), replace=False).tolist())
            zs = ZeroShotClassifier(tax, embedder=emb).fit(
                [train[i] for i in shots], [y_tr[i] for i in shots]
            )
            proba = aligned(zs.predict_proba(test), list(zs.classes_), classes)
            draws.append(scores_of(y_te, proba, classes, small))
        r = {
            key: round(statistics.mean(d[key] for d in draws), 4)
            for key in ("macro_f1", "accuracy", "small_class_f1")
        }
        r["macro_f1_std"] = round(statistics.pstdev(d["macro_f1"] for d in draws), 4)
        r["coverage"] = draws[0]["coverage"]
        r["n_labelled"] = len(shots)
        r["draws"] = len(draws)
        r["per_draw_macro_f1"] = [d["macro_f1"] for d in draws]
        res[f"fewshot-{k}"] = r
        print(f"  fewshot-{k}: macro-F1 {r['macro_f1']:.4f} ± {r['macro_f1_std']:.4f}", flush=True)
        save()
    # label-name prior combined with the trained model (mean of the two probability vectors)
    res["tfidf+zeroshot"] = scores_of(y_te, (tfidf_proba + zs_proba) / 2, classes, small)
    zs = ZeroShotClassifier(tax, embedder=emb).fit()
    zs_all = aligned(zs.predict_proba(rows), list(zs.classes_), classes)
    deltas = []
    for (te_i, p), base in zip(strat_probas, per, strict=True):
        both = scores_of([labels[i] for i in te_i], (p + zs_all[te_i]) / 2, classes, small)
        deltas.append(round(both["macro_f1"] - base["macro_f1"], 4))
    res["tfidf+zeroshot"]["stratified_gain_over_tfidf"] = deltas
    print(f"  tfidf+zeroshot: macro-F1 {res['tfidf+zeroshot']['macro_f1']:.4f}", flush=True)

    # zero-shot speed, without the cache: focus + encode of test proposals
    sample = test[: args.speed_sample]
    zs = ZeroShotClassifier(tax, embedder=inner).fit()
    t0, c0 = time.perf_counter(), time.process_time()
    zs.predict(sample)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    for r in sample:
        focus_text(r)
    focus_s = time.perf_counter() - t0
    res["zeroshot"]["predict_s_per_proposal"] = round(secs / len(sample), 4)
    res["zeroshot"]["speed_sample"] = len(sample)
    # CPU seconds (all threads) per proposal: on 2 idle cores the wall time lies between half of it and all
    res["zeroshot"]["cpu_s_per_proposal"] = round(cpu / len(sample), 4)
    res["zeroshot"]["focus_s_per_proposal"] = round(focus_s / len(sample), 4)
    whole = ZeroShotClassifier(tax, embedder=inner, focus=False).fit()
    t0 = time.perf_counter()
    whole.predict(sample[:10])
    res["zeroshot-whole-text"]["predict_s_per_proposal"] = round((time.perf_counter() - t0) / 10, 4)
    res["zeroshot-whole-text"]["speed_sample"] = 10
    out["machine"]["load_average_at_speed_test"] = os.getloadavg()
    print(f"  zeroshot speed: {secs / len(sample):.3f} s/proposal", flush=True)
    save()

    # the Cixi titles: two schemes (人大 and 政协 categories), titles only
    cixi = [
        json.loads(x)
        for x in (corpora / "proposals" / "cixi_2017_2018_titles.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
        if x.strip()
    ]
    out["cixi"] = {}
    for body in ("人大", "政协"):
        sub = [r for r in cixi if r["body"] == body]
        first = [r for r in sub if "第一次" in r["meeting"]]
        later = [r for r in sub if "第一次" not in r["meeting"]]
        entry: dict[str, Any] = {"n": len(sub), "classes": len({r["category"] for r in sub})}
        if len(first) >= 100 and len(later) >= 100:
            t0 = time.perf_counter()
            clf = TextClassifier(random_state=seed).fit(
                [r["title"] for r in first], [r["category"] for r in first]
            )
            train_s = time.perf_counter() - t0
            cl = sorted({r["category"] for r in sub})
            p = aligned(clf.predict_proba([r["title"] for r in later]), list(clf.classes_), cl)
            s = scores_of([r["category"] for r in later], p, cl, set())
            entry["time_split"] = {
                "protocol": "train on the first session's titles, test on the second's",
                "n_train": len(first),
                "n_test": len(later),
                "macro_f1": s["macro_f1"],
                "accuracy": s["accuracy"],
                "train_s": round(train_s, 2),
            }
        ys = [r["category"] for r in sub]
        keep = [i for i, y in enumerate(ys) if Counter(ys)[y] >= 2]
        sss = StratifiedShuffleSplit(n_splits=args.proposal_repeats, test_size=0.35, random_state=seed)
        per = []
        for tr_i, te_i in sss.split(np.zeros(len(keep)), [ys[i] for i in keep]):
            tr_i = [keep[i] for i in tr_i]
            te_i = [keep[i] for i in te_i]
            clf = TextClassifier(random_state=seed).fit(
                [sub[i]["title"] for i in tr_i], [ys[i] for i in tr_i]
            )
            rep = evaluate_classifier(clf, [sub[i]["title"] for i in te_i], [ys[i] for i in te_i])
            per.append({"macro_f1": rep.macro_f1, "accuracy": rep.accuracy})
        entry["stratified"] = {
            "repeats": len(per),
            **{k: round(statistics.mean(x[k] for x in per), 4) for k in ("macro_f1", "accuracy")},
            **{k + "_std": round(statistics.stdev(x[k] for x in per), 4) for k in ("macro_f1", "accuracy")},
        }
        for name, kw in (("zeroshot_bare_names", {"expand": False}), ("zeroshot", {})):
            zs = ZeroShotClassifier(Taxonomy.from_labels(sorted(set(ys))), embedder=emb, **kw).fit()
            rep = evaluate_classifier(zs, [r["title"] for r in sub], ys)
            entry[name] = {"macro_f1": rep.macro_f1, "accuracy": rep.accuracy, "n": rep.n}
        out["cixi"][body] = entry
        print(f"  cixi {body}: {entry}", flush=True)
        save()
    print(f"wrote {out_path}")
    return 0


def run_proposal_embeddings(args: argparse.Namespace) -> int:
    """Proposals: does an embedding of the whole proposal help the trained classifier? (merged into the JSON)

    The time split and the repeated stratified splits of :func:`run_proposals`; e5 vectors of each proposal
    (title + text, ``query`` prompt) by 512-token windows, cached per window under /tmp
    (``embed_cache.WindowCachedEmbedder``), pooled as the windows' mean or the first window only. Methods:
    ``TextClassifier("embedding")`` (standardised logistic regression), its mean with the trained tfidf
    (``"ensemble"`` = tfidf+embedding), the zero-shot of the whole text (``focus=False``) averaged with tfidf
    and with the embedding classifier. Results are merged into the existing ``--proposals-out`` JSON.
    """
    from sklearn.model_selection import StratifiedShuffleSplit

    from govnlp.classify import Taxonomy
    from govnlp.embedders import load_embedder

    sys.path.insert(0, str(Path(__file__).parent))
    from embed_cache import WindowCachedEmbedder

    rows = load_proposals(Path(args.corpora))
    labels = [r["category"] for r in rows]
    classes = sorted(set(labels))
    n = len(rows)
    cut = int(TIME_SPLIT_SHARE * n)
    seed = args.seed
    out_path = Path(args.proposals_out)
    out = json.loads(out_path.read_text(encoding="utf-8"))
    inner = load_embedder(args.proposal_embedder)
    mean_emb = WindowCachedEmbedder(inner, pooling="mean", cache_dir=Path(args.cache_dir))
    first_emb = mean_emb.with_pooling("first")
    tax = Taxonomy.from_labels(classes, name="jiangsu-cppcc")
    small = {c for c, k in Counter(labels[:cut]).items() if k < 15}

    splits = [("time", list(range(cut)), list(range(cut, n)))]
    sss = StratifiedShuffleSplit(n_splits=args.proposal_repeats, test_size=n - cut, random_state=seed)
    for k, (tr_i, te_i) in enumerate(sss.split(np.zeros(n), labels)):
        splits.append((f"stratified-{k}", tr_i.tolist(), te_i.tolist()))

    # zero-shot of the whole text (all windows, no training) for every proposal, once
    zs = ZeroShotClassifier(tax, embedder=mean_emb, focus=False).fit()
    zs_all = aligned(zs.predict_proba(rows), list(zs.classes_), classes)
    variants: dict[str, dict[str, Any]] = {}
    for split, tr_i, te_i in splits:
        tr, te = [rows[i] for i in tr_i], [rows[i] for i in te_i]
        y_tr, y_te = [labels[i] for i in tr_i], [labels[i] for i in te_i]
        sm = small if split == "time" else {c for c, k in Counter(y_tr).items() if k < 15}

        def proba_of(clf: TextClassifier, te: list[dict[str, Any]] = te) -> np.ndarray:
            return aligned(clf.predict_proba(te), list(clf.classes_), classes)

        probas: dict[str, np.ndarray] = {"tfidf": proba_of(TextClassifier(random_state=seed).fit(tr, y_tr))}
        probas["zeroshot-whole-text"] = zs_all[te_i]
        for pool, emb in (("window-mean", mean_emb), ("first-window", first_emb)):
            t0 = time.perf_counter()
            clf = TextClassifier("embedding", embedder=emb, random_state=seed).fit(tr, y_tr)
            fit_s = time.perf_counter() - t0
            e = proba_of(clf)
            probas[f"embedding-{pool}"] = e
            probas[f"tfidf+embedding-{pool}"] = (probas["tfidf"] + e) / 2
            probas[f"embedding-{pool}+zeroshot-whole-text"] = (e + zs_all[te_i]) / 2
            probas[f"tfidf+embedding-{pool}+zeroshot-whole-text"] = (probas["tfidf"] + e + zs_all[te_i]) / 3
            if split == "time":
                variants.setdefault(f"embedding-{pool}", {})["train_s_cached_vectors"] = round(fit_s, 2)
        probas["tfidf+zeroshot-whole-text"] = (probas["tfidf"] + zs_all[te_i]) / 2
        for name, p in probas.items():
            s = scores_of(y_te, p, classes, sm)
            row = {k: s[k] for k in ("macro_f1", "accuracy", "small_class_f1")}
            v = variants.setdefault(name, {})
            if split == "time":
                v.update(row)
                v["per_class_f1"] = s["per_class_f1"]
                v["n_test"] = s["n_test"]
            else:
                v.setdefault("stratified_per_split", []).append(row)
        if split == "time":
            tfidf_time = probas["tfidf"]
        print(
            f"  {split}: "
            + ", ".join(f"{k} {scores_of(y_te, p, classes, sm)['macro_f1']}" for k, p in probas.items()),
            flush=True,
        )
    for name, v in variants.items():
        per = v.pop("stratified_per_split")
        v["stratified"] = {
            "repeats": len(per),
            "per_split": per,
            **{k: round(statistics.mean(x[k] for x in per), 4) for k in ("macro_f1", "accuracy")},
            **{k + "_std": round(statistics.stdev(x[k] for x in per), 4) for k in ("macro_f1", "accuracy")},
        }
        v["embedder"] = inner.name
        print(
            f"  {name}: time {v['macro_f1']:.4f} / stratified {v['stratified']['macro_f1']:.4f}", flush=True
        )

    # encoding cost per proposal, uncached: all windows (mean) vs the first window only
    sample = [document_text(r) for r in rows[cut : cut + args.speed_sample]]
    for pool in ("window-mean", "first-window"):
        texts = [normalize_text(t) for t in sample]
        if pool == "first-window":
            texts = [mean_emb.windows(t, kind="query")[0] for t in texts]
        t0, c0 = time.perf_counter(), time.process_time()
        inner.encode(texts, kind="query")
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        cost = {
            "encode_s_per_proposal": round(secs / len(texts), 4),
            "encode_cpu_s_per_proposal": round(cpu / len(texts), 4),
            "speed_sample": len(texts),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }
        for name, v in variants.items():
            if pool in name or (
                pool == "window-mean" and name in ("zeroshot-whole-text", "tfidf+zeroshot-whole-text")
            ):
                v["cost"] = cost
    # the same zero-shot with the benchmark's --embedder (default: the float e5 model) on the time split's test
    # part, whose whole-text vectors run_proposals cached (zeroshot-whole-text there)
    y_te = labels[cut:]
    full = ZeroShotClassifier(tax, embedder=disk_cached(load_embedder(args.embedder)), focus=False).fit()
    zs_t = aligned(full.predict_proba(rows[cut:]), list(full.classes_), classes)
    check: dict[str, Any] = {}
    for name, p in (("zeroshot-whole-text", zs_t), ("tfidf+zeroshot-whole-text", (tfidf_time + zs_t) / 2)):
        s = scores_of(y_te, p, classes, small)
        check[name] = {k: s[k] for k in ("macro_f1", "accuracy", "small_class_f1")}
        print(f"  {args.embedder or 'default'} embedder, time split: {name} {s['macro_f1']:.4f}", flush=True)
    out["embedding_study"] = {
        "question": "does an e5 embedding of the whole proposal (window mean) or of its first 512-token window "
        "help the trained classifier?",
        "protocol": "time split of run_proposals and the same repeated stratified splits; probabilities "
        "of members averaged with equal weights",
        "embedder": inner.name,
        "methods": variants,
        "time_split_with_benchmark_embedder": {"embedder": full.embedder_.name, **check},
    }
    out_path.write_text(
        json.dumps(out, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    print(f"merged into {out_path}")
    return 0


def disk_cached(inner: Any) -> Any:
    """``inner`` behind ``benchmarks/embed_cache.CachedEmbedder`` (vectors on disk in /tmp, by text and kind)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from embed_cache import CachedEmbedder as DiskCache

    return DiskCache(inner)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpora", default=str(ROOT / ".." / "shared" / "corpora"))
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_classify.json"))
    p.add_argument(
        "--methods",
        default="tfidf,tfidf+extra,embedding,ensemble,zeroshot",
        help="comma list of: tfidf, tfidf+extra, tfidf-char, tfidf-char+extra, tfidf-char-logreg, tfidf-logreg, "
        "tfidf-logreg+extra, embedding, ensemble, ensemble+extra, finetune, zeroshot",
    )
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--finetune-folds", type=int, default=1, help="run fine-tuning on only the first N folds")
    p.add_argument("--finetune-epochs", type=int, default=3)
    p.add_argument("--finetune-max-len", type=int, default=256)
    p.add_argument("--finetune-max-steps", type=int, default=None)
    p.add_argument("--embedder", default=None, help="embedder spec (default: the default model)")
    p.add_argument("--cache-dir", default="/tmp/govnlp_bench_cache")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--merge", action="store_true", help="merge into an existing results JSON (keep other methods)"
    )
    p.add_argument(
        "--merge-from",
        nargs="*",
        default=[],
        help="results JSONs of earlier runs of this script whose methods (and extra-data/embedder info) are merged in",
    )
    p.add_argument("--proposals", action="store_true", help="run the proposals part instead of the messages")
    p.add_argument(
        "--proposals-out", default=str(ROOT / "benchmarks" / "results" / "bench_classify_proposals.json")
    )
    p.add_argument(
        "--proposal-embeddings",
        action="store_true",
        help="proposals: the embedding study (window-mean / first-window e5 + trained tfidf / zero-shot), merged "
        "into --proposals-out",
    )
    p.add_argument("--proposal-embedder", default="e5-onnx", help="embedder of --proposal-embeddings")
    p.add_argument("--proposal-repeats", type=int, default=3, help="repeated stratified splits (proposals)")
    p.add_argument("--fewshot-draws", type=int, default=3, help="random draws of the few-shot examples")
    p.add_argument(
        "--speed-sample", type=int, default=40, help="proposals tagged uncached for the zero-shot speed"
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.proposal_embeddings:
        return run_proposal_embeddings(args)
    if args.proposals:
        return run_proposals(args)

    corpora = Path(args.corpora)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    texts, labels, raw_stats = load_raw(corpora)
    print(f"raw rows: {raw_stats}", flush=True)
    from sklearn.model_selection import StratifiedKFold

    skf = StratifiedKFold(args.folds, shuffle=True, random_state=args.seed)
    folds = list(skf.split(np.zeros(len(labels)), labels))

    out_path = Path(args.out)
    results: dict[str, Any] = {}
    if args.merge and out_path.is_file():
        results = json.loads(out_path.read_text(encoding="utf-8"))
    results.update(
        {
            "benchmark": "bench_classify",
            "data": {
                "file": "labeled_messages/train_raw.jsonl",
                "field": "text",
                "class_counts": dict(Counter(labels)),
                **raw_stats,
            },
            "protocol": f"{args.folds}-fold StratifiedKFold(shuffle=True, random_state={args.seed}) on the deduplicated raw rows; "
            "every method through govnlp.TextClassifier on the same folds; extra token rows only ever added to training folds",
            "machine": machine(),
        }
    )
    results.setdefault("methods", {})
    for other in args.merge_from:
        earlier = json.loads(Path(other).read_text(encoding="utf-8"))
        if (
            earlier.get("protocol") != results["protocol"]
            or earlier["data"]["rows_used"] != raw_stats["rows_used"]
        ):
            print(f"{other} used another protocol or data; not merged", file=sys.stderr)
            return 2
        results["methods"].update(earlier.get("methods", {}))
        if "finetune" in results["methods"]:
            finetune_notes(results["methods"]["finetune"])
        for key in ("extra_data", "embedder"):
            if key in earlier:
                results[key] = earlier[key]

    extra = extra_spaced = None
    if any("extra" in m for m in methods):
        t0 = time.perf_counter()
        extra_texts, extra_labels, extra_stats = load_extra(corpora, texts)
        extra = (extra_texts, extra_labels)
        extra_stats["seconds"] = round(time.perf_counter() - t0, 1)
        results["extra_data"] = extra_stats
        spaced_texts, spaced_labels, _ = load_extra(corpora, texts, spaced=True)
        extra_spaced = (spaced_texts, spaced_labels)
        extra_stats["fed_as"] = (
            "tokens joined without spaces to the character-only methods (tfidf-char*), joined by spaces "
            "to the word+char tfidf methods (tfidf, tfidf-logreg, ensemble+extra)"
        )
        print(f"extra rows: {extra_stats}", flush=True)

    embedder = None

    def get_embedder() -> CachedEmbedder:
        nonlocal embedder
        if embedder is None:
            from govnlp.embedders import load_embedder

            embedder = CachedEmbedder(load_embedder(args.embedder), Path(args.cache_dir))
            norm = [normalize_text(t) for t in texts]
            t0 = time.perf_counter()
            embedder.encode(norm, kind="query", batch_size=32, show_progress_bar=True)
            secs = time.perf_counter() - t0
            fresh = embedder.encoded
            results["embedder"] = {
                "name": embedder.name,
                "fingerprint": embedder.fingerprint(),
                "texts_encoded_this_run": fresh,
                "encode_seconds_this_run": round(embedder.encode_seconds, 1),
                "texts_per_second": round(fresh / embedder.encode_seconds, 2) if fresh else None,
                "note": "vectors cached on disk outside the repo; CV folds reuse them"
                + ("" if fresh else " (all from cache this run)"),
            }
            print(f"embedder {embedder.name}: encoded {fresh} texts in {secs:.1f}s", flush=True)
        return embedder

    seed = args.seed
    for m in methods:
        print(f"== {m}", flush=True)
        t0 = time.perf_counter()
        base = m.removesuffix("+extra")
        if base in TFIDF_VARIANTS:
            params = TFIDF_VARIANTS[base]
            data = None
            if m.endswith("+extra"):
                data = extra if params.get("analyzer") == "char" else extra_spaced
            res = run_cv(
                m,
                lambda params=params: TextClassifier("tfidf", method_params=params, random_state=seed),
                texts,
                labels,
                folds,
                data,
            )
            res["method_params"] = params
        elif m == "embedding":
            emb = get_embedder()
            res = run_cv(
                m,
                lambda emb=emb: TextClassifier("embedding", embedder=emb, random_state=seed),
                texts,
                labels,
                folds,
            )
        elif m == "ensemble+extra":
            res = run_cv(m, RawPlusExtraEnsemble(get_embedder(), seed), texts, labels, folds, extra_spaced)
            res["note"] = "TextClassifier.combine of tfidf (raw + extra rows) and embedding (raw rows only)"
        elif m == "ensemble":
            emb = get_embedder()
            res = run_cv(
                m,
                lambda emb=emb: TextClassifier("tfidf+embedding", embedder=emb, random_state=seed),
                texts,
                labels,
                folds,
            )
        elif m in ("finetune", "finetune+tfidf+extra"):
            n = max(1, min(args.finetune_folds, args.folds))
            params = {
                "epochs": args.finetune_epochs,
                "max_len": args.finetune_max_len,
                "max_steps": args.finetune_max_steps,
            }
            if m == "finetune":
                make: Any = lambda params=params: TextClassifier(  # noqa: E731
                    "finetune", method_params=params, random_state=seed, show_progress_bar=True
                )
                res = run_cv(m, make, texts, labels, folds[:n])
            else:
                res = run_cv(m, FinetunePlusTfidf(params, seed), texts, labels, folds[:n], extra=extra_spaced)
                alone = [f.pop("finetune_alone") for f in res["per_fold"]]
                results["methods"]["finetune"] = {
                    "method": "finetune",
                    "folds_run": len(alone),
                    "params": params,
                    "per_fold": [
                        {
                            **a,
                            **{
                                k: f[k]
                                for k in (
                                    "fold",
                                    "finetune_steps",
                                    "finetune_history",
                                    "finetune_loop_seconds",
                                    "finetune_seconds_per_step",
                                )
                                if k in f
                            },
                        }
                        for a, f in zip(alone, res["per_fold"], strict=True)
                    ],
                    **{
                        key: round(statistics.mean(a[key] for a in alone), 4)
                        for key in ("accuracy", "macro_f1", "ece")
                    },
                    "train_s": round(statistics.mean(f["finetune_loop_seconds"] for f in res["per_fold"]), 1),
                    "note": f"measured inside {m} (the same fitted encoder, evaluated alone)",
                }
            res["params"] = params
            sps = statistics.mean(f["finetune_seconds_per_step"] for f in res["per_fold"])
            steps_per_epoch = -(-int(0.9 * len(texts) * (args.folds - 1) / args.folds) // 16)
            res["estimated_hours_for_5_folds_x_3_epochs"] = round(sps * steps_per_epoch * 3 * 5 / 3600, 1)
            finetune_notes(res)
            if n < args.folds:
                res["note"] = (
                    f"fine-tuning ran on {n} of the {args.folds} folds only (CPU time); its numbers are "
                    "not a full CV mean and have a larger error than the other methods'"
                )
        elif m == "zeroshot":
            emb = get_embedder()
            res = {"method": m}
            for kw in (False, True):
                zs = ZeroShotClassifier("messages", embedder=emb, keywords=kw).fit()
                rep = evaluate_classifier(zs, texts, labels)
                key = "with_keywords" if kw else "descriptions_only"
                res[key] = {"accuracy": rep.accuracy, "macro_f1": rep.macro_f1, "n": rep.n}
                print(f"  zeroshot {key}: acc {rep.accuracy:.4f} macro-F1 {rep.macro_f1:.4f}", flush=True)
        else:
            print(f"unknown method {m}", file=sys.stderr)
            return 2
        res["wall_s"] = round(time.perf_counter() - t0, 1)
        results["methods"][m] = res
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(
            json.dumps(results, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )

    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(
        json.dumps(results, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    print("\nmethod           folds  accuracy  macro-F1  ECE     train_s  predict_s")
    for m, r in results["methods"].items():
        if "macro_f1" in r:
            print(
                f"{m:<16} {r['folds_run']:>5}  {r['accuracy']:.4f}    {r['macro_f1']:.4f}    {r['ece']:.4f}  "
                f"{r['train_s']:>7.1f}  {r.get('predict_s', float('nan')):>9.2f}"
            )
        elif m == "zeroshot":
            for k in ("descriptions_only", "with_keywords"):
                if k in r:
                    print(f"zeroshot/{k:<7} {'-':>5}  {r[k]['accuracy']:.4f}    {r[k]['macro_f1']:.4f}")
    print(f"wrote {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
