"""Adapt an embedder to past (query, relevant text) pairs: contrastive training with in-batch negatives.

``fine_tune(pairs, out=DIR)`` trains a sentence-transformers model with
``MultipleNegativesRankingLoss`` (each query's own text is the positive; the other texts of the batch
are the negatives), applying the model's query/passage prompts, and saves an ordinary
sentence-transformers folder that ``govnlp.load_embedder(DIR)`` loads with its own fingerprint.

Pairs come from history:

- :func:`pairs_from_messages`: a citizen message (title + detail) -> the cleaned reply it got;
  ``rewrite="title"`` or ``"mix"`` also (or instead) uses the message title, stripped of the leading
  verb (反映/咨询/投诉…), as a short problem statement, closer to how a proposal states a problem.
- :func:`pairs_from_replies`: the problem a parsed reply quotes -> each measure answering it.

Defaults are the configuration ``benchmarks/bench_search.py`` measured (time split of the message/reply
data: 868 older pairs, newer queries, all 1,926 replies as the corpus) to improve both message-style and
proposal-style queries in dense retrieval (MRR@10 0.736 -> 0.787 and 0.426 -> 0.481; 86 s on 2 cores):
learning rate 2e-5, 24 steps of 16 pairs, 128 tokens, the embedding layer and the bottom 6 of 12 layers
frozen (less drift from the base model, cheaper steps), and ``rewrite="mix"`` (half the queries are short
problem statements made from the message title). A full epoch (55 steps) was worse on both styles (the
loss fell to 0.001: a few hundred pairs are learnt by heart); adding problem -> measure pairs of parsed
replies changed little.

A tuned model is a stronger dense side and deserves its own weight in hybrid search. ``fine_tune`` holds
out ``validation_size`` of the pairs (at most :data:`MAX_VALIDATION_PAIRS`), and after training ranks
their positives for their queries with the tuned model, a character 1-3-gram TF-IDF, and their fusion at
each dense weight of :data:`FUSION_ALPHAS` (z-scored score fusion and reciprocal rank fusion); the best
weight of each method is written into the folder's manifest (``fusion_weights``) if it beats equal weights
by more than one standard error of the per-query difference, else 0.5. (benchmarks/bench_adapt.py: the
plain best, 0.7 by 0.002 MRR@10 on 100 pairs, gave hybrid 0.825 / 0.574 on new messages / proposal-style
queries, where equal weights gave 0.827 / 0.586.)
``SearchIndex.build(..., embedder=DIR)`` reads it (:func:`tuned_fusion_weights`) when no fusion is given.

Training truncates texts to ``max_seq_length`` tokens (128 by default) for speed; encoding with the
saved model still embeds long texts by windows.

Example:
    >>> pairs = pairs_from_messages(rows, rewrite="mix")          # rows: dicts with title/detail/reply
    >>> emb = fine_tune(pairs, out="models/e5-replies")           # doctest: +SKIP
    >>> emb.encode(["建议加强老旧小区物业监管"], kind="query").shape  # doctest: +SKIP
    (1, 384)
"""

from __future__ import annotations

import copy
import logging
import math
import os
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from govnlp.cleaning import clean_for_index
from govnlp.documents import ReplyDocument
from govnlp.embedders.base import Embedder
from govnlp.errors import ConfigError, FormatError
from govnlp.progress import resolve_show
from govnlp.storage import atomic_folder, write_manifest

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_EPOCHS",
    "DEFAULT_LEARNING_RATE",
    "DEFAULT_MAX_SEQ_LENGTH",
    "DEFAULT_MAX_STEPS",
    "DEFAULT_REWRITE",
    "DEFAULT_VALIDATION_SIZE",
    "FUSION_ALPHAS",
    "MAX_VALIDATION_PAIRS",
    "fine_tune",
    "pairs_from_messages",
    "pairs_from_replies",
    "title_as_problem",
    "tuned_fusion_weights",
]

logger = logging.getLogger(__name__)

Pair = tuple[str, str]
Rewrite = Literal["none", "title", "mix"]

#: Defaults chosen by ``benchmarks/bench_search.py`` (see the module docstring).
DEFAULT_LEARNING_RATE = 2e-5
DEFAULT_EPOCHS = 1
DEFAULT_MAX_STEPS = 24
DEFAULT_BATCH_SIZE = 16
DEFAULT_MAX_SEQ_LENGTH = 128
DEFAULT_REWRITE: Rewrite = "mix"
DEFAULT_FREEZE_EMBEDDINGS = True
DEFAULT_FREEZE_LAYERS = 6
#: Share (a float below 1) or number of the pairs held out to choose the tuned model's fusion weight.
DEFAULT_VALIDATION_SIZE = 0.2
#: At most this many validation pairs (encoding them after training costs time).
MAX_VALIDATION_PAIRS = 100
#: Fewer validation pairs than this: no weight is chosen (the index keeps its default).
MIN_VALIDATION_PAIRS = 8
#: The dense weights tried on the validation pairs.
FUSION_ALPHAS = (0.3, 0.4, 0.5, 0.6, 0.7)

_FORMAT = "govnlp.finetuned_embedder"
_FORMAT_VERSION = 1

# ------------------------------------------------------------------------------------------------- pairs
_LEAD_VERBS = re.compile(
    r"^(?:关于|有关|对于|对|就)?(?:再次|强烈|紧急|恳请|急切|诚恳)?"
    r"(?:反映|咨询|投诉|举报|请求|要求|希望|建议|呼吁|申请|质疑|询问|求助|请问|问|恳请|盼望|求)?"
    r"(?:一下|解决|关于|有关|对|就)?"
)
_PSEUDO_PLACE = re.compile(r"[A-Z]\d{0,2}(?:市|区|县|镇|乡|街道|社区|村)")
_TRAILING = re.compile(r"(?:的?(?:问题|事宜|情况|一事|事项|建议|诉求))?[！!？?。.…\s]*$")


def title_as_problem(title: str) -> str:
    """Turn a message title into a short problem statement: lead verb, pseudonymised places, 的问题 dropped.

    Example:
        >>> title_as_problem("反映A5区某小区没有公办幼儿园的问题")
        '某小区没有公办幼儿园'
    """
    t = re.sub(r"\s+", "", title)
    t = _LEAD_VERBS.sub("", t, count=1)
    t = _PSEUDO_PLACE.sub("", t)
    t = _TRAILING.sub("", t)
    return t or title.strip()


def pairs_from_messages(
    rows: Iterable[Mapping[str, Any]],
    *,
    title_field: str = "title",
    detail_field: str = "detail",
    reply_field: str = "reply",
    clean: bool = True,
    rewrite: Rewrite = DEFAULT_REWRITE,
    min_chars: int = 20,
    random_state: int = 0,
) -> list[Pair]:
    """(message, reply) pairs from rows of a message/reply table.

    Args:
        rows: mappings with a title, a detail and a reply.
        clean: pass replies through :func:`govnlp.cleaning.clean_for_index` (salutation, user id, thanks,
            contact and date formulas stripped, so that training sees the content; an index embeds raw
            replies by default, ``SearchIndex(clean=False)``).
        rewrite: ``"none"``: query = title + detail; ``"title"``: query = :func:`title_as_problem` of the
            title; ``"mix"``: each row gives one of the two, chosen at random (half each), so that the
            model sees both long messages and short problem statements.
        min_chars: skip rows whose reply (after cleaning) or query is shorter.
        random_state: seed of the ``"mix"`` choice.

    Returns:
        ``[(query, positive)]`` in row order; duplicate pairs are dropped.

    Raises:
        ConfigError: an unknown ``rewrite``.
    """
    if rewrite not in ("none", "title", "mix"):
        raise ConfigError(f"rewrite must be 'none', 'title' or 'mix', got {rewrite!r}")
    rng = random.Random(random_state)
    out: list[Pair] = []
    seen: set[Pair] = set()
    for row in rows:
        title = str(row.get(title_field) or "").strip()
        detail = str(row.get(detail_field) or "").strip()
        reply = str(row.get(reply_field) or "")
        positive = clean_for_index(reply) if clean else reply.strip()
        full = f"{title}\n{detail}".strip()
        short = title_as_problem(title) if title else ""
        mode = rewrite if rewrite != "mix" else rng.choice(("none", "title"))
        query = short if mode == "title" and len(short) >= 4 else full
        if len(positive) < min_chars or len(query) < 4:
            continue
        pair = (query, positive)
        if pair not in seen:
            seen.add(pair)
            out.append(pair)
    return out


def pairs_from_replies(docs: Iterable[ReplyDocument], *, min_chars: int = 10) -> list[Pair]:
    """(problem, measure) pairs from parsed replies: each measure paired with the problem it answers.

    A measure without a problem of its own is paired with the document's proposal title when there is
    one; a problem with no measure under it is paired with the body paragraphs filed under it.
    """
    out: list[Pair] = []
    seen: set[Pair] = set()

    def add(q: str | None, p: str | None) -> None:
        if not q or not p:
            return
        q, p = q.strip(), p.strip()
        if len(q) >= 4 and len(p) >= min_chars and (q, p) not in seen:
            seen.add((q, p))
            out.append((q, p))

    for doc in docs:
        if not isinstance(doc, ReplyDocument):
            raise TypeError(f"pairs_from_replies() expects ReplyDocuments, got {type(doc).__name__}")
        answered: set[str] = set()
        for m in doc.measures:
            q = m.problem or doc.proposal_title
            add(q, m.text)
            if m.problem:
                answered.add(m.problem)
        for prob in doc.problems:
            if prob.text in answered:
                continue
            for para in doc.paragraphs:
                if para.problem == prob.text and para.role == "body":
                    add(prob.text, para.text)
    return out


# ---------------------------------------------------------------------------------------------- training
def _resolve_base(base: Embedder | str | os.PathLike[str] | None) -> tuple[Any, str, str, str]:
    """(SentenceTransformer, query prompt, passage prompt, base name) for ``base``."""
    from govnlp.embedders import default_model_dir, load_embedder

    if base is None:
        base = default_model_dir()
    fresh = isinstance(base, (str, os.PathLike))
    emb = load_embedder(base) if fresh else base
    model = getattr(emb, "model", None)
    if model is None or not (hasattr(model, "preprocess") or hasattr(model, "tokenize")):
        raise ConfigError(
            f"fine_tune() needs a sentence-transformers embedder (a model folder or load_embedder(folder)); "
            f"got {type(emb).__name__} ({getattr(emb, 'name', '?')}). The weight-free and ONNX embedders "
            "cannot be trained: fine-tune the default model (base=None) and export it afterwards."
        )
    if not fresh:  # never train the caller's model in place: its fingerprint would no longer hold
        model = copy.deepcopy(model)
    q = str(getattr(emb, "query_prompt", "") or "")
    p = str(getattr(emb, "passage_prompt", "") or "")
    return model, q, p, str(getattr(emb, "name", "model"))


def _batches(pairs: Sequence[Pair], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches in which no query and no positive occurs twice (they would be false negatives)."""
    order = list(range(len(pairs)))
    rng.shuffle(order)
    batches: list[list[int]] = []
    pending = order
    while pending:
        batch: list[int] = []
        qs: set[str] = set()
        ps: set[str] = set()
        rest: list[int] = []
        for i in pending:
            q, p = pairs[i]
            if len(batch) < batch_size and q not in qs and p not in ps:
                batch.append(i)
                qs.add(q)
                ps.add(p)
            else:
                rest.append(i)
        if len(batch) < 2:  # the leftovers cannot form a batch with negatives
            break
        batches.append(batch)
        pending = rest
    return batches


def _check_pairs(pairs: Sequence[Pair]) -> list[Pair]:
    if isinstance(pairs, (str, bytes)):
        raise TypeError("fine_tune() expects a list of (query, positive) pairs, got a str")
    out = []
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
            raise TypeError(f"pair {i} is not a (query, positive) pair of two str: {pair!r:.80}")
        out.append((pair[0], pair[1]))
    return out


def fine_tune(
    pairs: Sequence[Pair],
    *,
    out: str | os.PathLike[str],
    base: Embedder | str | os.PathLike[str] | None = None,
    epochs: int = DEFAULT_EPOCHS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    learning_rate: float = DEFAULT_LEARNING_RATE,
    max_steps: int | None = DEFAULT_MAX_STEPS,
    warmup_ratio: float = 0.1,
    weight_decay: float = 0.01,
    max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH,
    freeze_embeddings: bool = DEFAULT_FREEZE_EMBEDDINGS,
    freeze_layers: int = DEFAULT_FREEZE_LAYERS,
    scale: float = 20.0,
    random_state: int = 0,
    overwrite: bool = False,
    show_progress_bar: bool | None = None,
    callback: Callable[[int, float], None] | None = None,
    validation_size: float = DEFAULT_VALIDATION_SIZE,
) -> Embedder:
    """Fine-tune a sentence-transformers embedder on (query, positive) pairs with in-batch negatives.

    Args:
        pairs: ``[(query, positive)]``, e.g. from :func:`pairs_from_messages` / :func:`pairs_from_replies`.
        out: the folder to write (an ordinary sentence-transformers folder plus a govnlp manifest). It is
            written to a temporary sibling and renamed into place only when training and saving finished.
        base: the model to start from: an embedder loaded from a sentence-transformers folder, a folder
            path, or None (the default model, :func:`govnlp.embedders.default_model_dir`).
        epochs: passes over the pairs (capped by ``max_steps``).
        batch_size: pairs per step; each query has ``batch_size - 1`` in-batch negatives.
        learning_rate: AdamW peak learning rate (linear warm-up, then linear decay).
        max_steps: at most this many optimiser steps (None: no cap).
        warmup_ratio: share of the steps used for warm-up.
        weight_decay: AdamW weight decay.
        max_seq_length: tokens per text during training (prompt included).
        freeze_embeddings: keep the embedding layer (word, position, type embeddings) fixed.
        freeze_layers: also keep the bottom this many transformer layers fixed (BERT-style encoders;
            at most all but the top layer); cheaper steps (no backward pass through them) and less
            drift from the base model.
        scale: the inverse temperature of the loss (cosine similarities times ``scale``).
        random_state: seeds shuffling and dropout (inside a forked RNG; the global RNG is left alone).
        overwrite: replace an existing ``out`` folder.
        show_progress_bar: a tqdm bar over steps (None: on at log level INFO or below).
        callback: called after each step with ``(step, loss)``; raising in it aborts training and leaves
            no folder at ``out``.
        validation_size: share (below 1) or number of pairs held out from training to choose the
            model's fusion weights (at most :data:`MAX_VALIDATION_PAIRS`; 0: none held out, no weights).

    Returns:
        The fine-tuned embedder, loaded from ``out`` (its fingerprint differs from the base's).

    Raises:
        TypeError: ``pairs`` is not a list of (str, str) pairs.
        ConfigError: bad hyper-parameters, fewer than 2 usable pairs, or a base that cannot be trained.
        FormatError: ``out`` exists and ``overwrite`` is False.
    """
    data = _check_pairs(pairs)
    if epochs < 1 or batch_size < 2 or learning_rate <= 0 or max_seq_length < 8:
        raise ConfigError(
            f"need epochs >= 1, batch_size >= 2, learning_rate > 0, max_seq_length >= 8; got {epochs}, "
            f"{batch_size}, {learning_rate}, {max_seq_length}"
        )
    if max_steps is not None and max_steps < 1:
        raise ConfigError(f"max_steps must be >= 1 or None, got {max_steps}")
    if not 0 <= warmup_ratio < 1:
        raise ConfigError(f"warmup_ratio must lie in [0, 1), got {warmup_ratio}")
    target = Path(out)
    if target.exists() and not overwrite:
        raise FormatError(f"{target} already exists; pass overwrite=True or another out folder.")
    if len(data) < 2:
        raise ConfigError(f"fine_tune() needs at least 2 pairs (in-batch negatives), got {len(data)}")
    if not (0 <= validation_size < 1 or (float(validation_size).is_integer() and validation_size >= 1)):
        raise ConfigError(
            f"validation_size must be a share in [0, 1) or a whole number of pairs, got {validation_size!r}"
        )
    data, validation = _split_validation(data, validation_size, random_state)

    import torch
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    model, q_prompt, p_prompt, base_name = _resolve_base(base)
    rng = random.Random(random_state)
    plan = [_batches(data, batch_size, rng) for _ in range(epochs)]
    steps_available = sum(len(b) for b in plan)
    if steps_available == 0:
        raise ConfigError("no batch of 2 distinct pairs could be formed; give more (distinct) pairs")
    total = steps_available if max_steps is None else min(max_steps, steps_available)
    warmup = round(warmup_ratio * total)
    show_progress_bar = resolve_show(show_progress_bar)

    old_max = model.max_seq_length
    model.max_seq_length = min(max_seq_length, old_max or max_seq_length)
    frozen: list[Any] = []
    to_freeze: list[Any] = []
    auto = getattr(model[0], "auto_model", None)
    if freeze_embeddings and auto is not None:
        to_freeze.append(getattr(auto, "embeddings", None) or auto.get_input_embeddings())
    if freeze_layers > 0:
        layers = getattr(getattr(auto, "encoder", None), "layer", None)
        if layers is None:
            raise ConfigError("freeze_layers needs a BERT-style encoder (model.encoder.layer); use 0")
        layer_list = list(layers)
        keep = min(freeze_layers, len(layer_list) - 1)  # the top layer always trains
        if keep < freeze_layers:
            logger.info(
                "freeze_layers=%d but the model has %d layers: freezing %d",
                freeze_layers,
                len(layer_list),
                keep,
            )
        to_freeze.extend(layer_list[:keep])
    for module in to_freeze:
        for prm in module.parameters():
            if prm.requires_grad:
                prm.requires_grad_(False)
                frozen.append(prm)
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=learning_rate,
    )

    def lr_lambda(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
    loss_fn = MultipleNegativesRankingLoss(model, scale=scale)
    device = model.device

    def features(texts: list[str]) -> dict[str, Any]:
        prep = getattr(model, "preprocess", None) or model.tokenize
        feats = prep(texts)
        return {k: v.to(device) if hasattr(v, "to") else v for k, v in feats.items()}

    logger.info(
        "fine-tuning %s on %d pairs: %d steps of %d (lr %g, max_seq_length %d, frozen embeddings %s)",
        base_name,
        len(data),
        total,
        batch_size,
        learning_rate,
        model.max_seq_length,
        freeze_embeddings,
    )
    t0 = time.perf_counter()
    losses: list[float] = []
    bar = None
    if show_progress_bar:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="fine-tune", unit="step")
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(random_state)
            model.train()
            step = 0
            for epoch_batches in plan:
                for batch in epoch_batches:
                    if step >= total:
                        break
                    queries = [q_prompt + data[i][0] for i in batch]
                    positives = [p_prompt + data[i][1] for i in batch]
                    loss = loss_fn([features(queries), features(positives)], None)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(params, 1.0)
                    optimizer.step()
                    scheduler.step()
                    step += 1
                    value = float(loss.detach())
                    losses.append(value)
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(loss=f"{value:.3f}")
                    if callback is not None:
                        callback(step, value)
        model.eval()
        seconds = time.perf_counter() - t0
        if math.isnan(losses[-1]):
            raise ConfigError("training diverged (loss is NaN); lower learning_rate")
        # validation texts are cut at the training length too (cheaper; the weights compare methods)
        fusion = _choose_fusion(model, q_prompt, p_prompt, validation)
        # save the prompts that were used, so the folder describes itself
        prompts = dict(getattr(model, "prompts", {}) or {})
        if q_prompt:
            prompts["query"] = q_prompt
        if p_prompt:
            prompts["passage"] = p_prompt
        model.prompts = prompts
        model.max_seq_length = old_max
        with atomic_folder(target, overwrite=overwrite) as tmp:
            model.save(str(tmp))
            write_manifest(
                tmp,
                _FORMAT,
                _FORMAT_VERSION,
                base=base_name,
                pairs=len(data),
                steps=len(losses),
                epochs=epochs,
                batch_size=batch_size,
                learning_rate=learning_rate,
                max_seq_length=max_seq_length,
                freeze_embeddings=freeze_embeddings,
                freeze_layers=freeze_layers,
                scale=scale,
                random_state=random_state,
                first_loss=round(losses[0], 6),
                last_loss=round(losses[-1], 6),
                train_seconds=round(seconds, 2),
                **fusion,
            )
    finally:
        if bar is not None:
            bar.close()
        model.eval()
        model.max_seq_length = old_max
        for prm in frozen:
            prm.requires_grad_(True)
    logger.info(
        "fine-tuned in %.1fs (%d steps, loss %.3f -> %.3f)", seconds, len(losses), losses[0], losses[-1]
    )
    from govnlp.embedders import load_embedder

    return load_embedder(target)


# ------------------------------------------------------------------------------------------ fusion weight
def _split_validation(data: list[Pair], size: float, random_state: int) -> tuple[list[Pair], list[Pair]]:
    """(training pairs, validation pairs): a seeded sample of whole queries, none sharing a positive."""
    n = int(size) if size >= 1 else round(size * len(data))
    n = min(n, MAX_VALIDATION_PAIRS, len(data) - 2)
    if n < MIN_VALIDATION_PAIRS:
        return data, []
    order = list(range(len(data)))
    random.Random(random_state + 1).shuffle(order)
    val: list[int] = []
    seen_q: set[str] = set()
    seen_p: set[str] = set()
    for i in order:
        q, p = data[i]
        if q not in seen_q and p not in seen_p:
            val.append(i)
            seen_q.add(q)
            seen_p.add(p)
            if len(val) == n:
                break
    held = set(val)
    # a validation query or positive must not be trained on under another pair
    train = [pr for i, pr in enumerate(data) if i not in held and pr[0] not in seen_q and pr[1] not in seen_p]
    if len(train) < 2:
        return data, []
    return train, [data[i] for i in val]


def _reciprocal_ranks(scores: Any, k: int = 10) -> Any:
    """RR@k per query of a square score matrix whose diagonal holds each query's relevant item."""
    import numpy as np

    rel = np.diag(scores)
    rank = (scores > rel[:, None]).sum(axis=1) + 1
    return np.where(np.isfinite(rel) & (rank <= k), 1.0 / rank, 0.0)


def _mrr(scores: Any, k: int = 10) -> float:
    """MRR@k of a square score matrix whose diagonal holds each query's relevant item."""
    return float(_reciprocal_ranks(scores, k).mean())


def _pick_weight(rr: dict[float, Any]) -> float:
    """The dense weight to keep: the best one only if it beats equal weights (0.5) by more than one
    standard error of the paired per-query difference; otherwise 0.5 (a gain within the noise of a
    hundred validation pairs is not worth leaving the default for)."""
    import numpy as np

    best = max(FUSION_ALPHAS, key=lambda a: (float(rr[a].mean()), -abs(a - 0.5)))
    if 0.5 not in rr or best == 0.5:
        return best
    diff = rr[best] - rr[0.5]
    se = float(diff.std(ddof=1)) / np.sqrt(len(diff)) if len(diff) > 1 else 0.0
    return best if float(diff.mean()) > se else 0.5


def _fused(dense: Any, lexical: Any, method: str, alpha: float) -> Any:
    """Fused score matrix of the two methods govnlp's search offers (all items are candidates)."""
    import numpy as np

    if method == "rrf":

        def rrf(s: Any) -> Any:
            ranks = np.argsort(np.argsort(-s, axis=1, kind="stable"), axis=1) + 1
            return 1.0 / (60.0 + ranks)

        return 2 * alpha * rrf(dense) + 2 * (1 - alpha) * rrf(lexical)

    def z(s: Any) -> Any:
        sd = s.std(axis=1, keepdims=True)
        return (s - s.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1.0)

    return alpha * z(dense) + (1 - alpha) * z(lexical)


def _choose_fusion(model: Any, q_prompt: str, p_prompt: str, validation: list[Pair]) -> dict[str, Any]:
    """The manifest fields recording the fusion weights chosen on the validation pairs ({} without any)."""
    if len(validation) < MIN_VALIDATION_PAIRS:
        return {}
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    queries = [q for q, _ in validation]
    positives = [p for _, p in validation]
    qv = model.encode([q_prompt + q for q in queries], normalize_embeddings=True, convert_to_numpy=True)
    pv = model.encode([p_prompt + p for p in positives], normalize_embeddings=True, convert_to_numpy=True)
    dense = np.asarray(qv @ pv.T, dtype=np.float64)
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True).fit(positives)
    lexical = np.asarray((vec.transform(queries) @ vec.transform(positives).T).toarray(), dtype=np.float64)
    grid: dict[str, dict[str, float]] = {}
    weights: dict[str, float] = {}
    for method in ("score", "rrf"):
        rr = {a: _reciprocal_ranks(_fused(dense, lexical, method, a)) for a in FUSION_ALPHAS}
        grid[method] = {str(a): round(float(rr[a].mean()), 4) for a in FUSION_ALPHAS}
        weights[method] = _pick_weight(rr)
    logger.info("fusion weights chosen on %d validation pairs: %s", len(validation), weights)
    return {
        "fusion_weights": weights,
        "fusion_validation": {
            "pairs": len(validation),
            "mrr@10": grid,
            "dense_mrr@10": round(_mrr(dense), 4),
            "lexical_mrr@10": round(_mrr(lexical), 4),
            "lexical": "character 1-3-gram TF-IDF (sublinear tf, cosine) fitted on the validation positives",
            "score_fusion": "z-scored scores",
            "max_seq_length": int(model.max_seq_length),
        },
    }


def tuned_fusion_weights(embedder: Any) -> dict[str, float] | None:
    """The fusion weights a :func:`fine_tune` folder carries (``{"score": a, "rrf": a}``), else None.

    ``embedder``: a folder path, a spec string or an embedder loaded from a folder (its ``path``). Anything
    that is not a fine-tuned folder (the default model, ``"hash"``, …) gives None; never raises.
    """
    import json

    path = getattr(embedder, "path", embedder)
    if not isinstance(path, (str, os.PathLike)):
        return None
    try:
        manifest = json.loads((Path(path) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    weights = manifest.get("fusion_weights") if manifest.get("format") == _FORMAT else None
    if not isinstance(weights, dict):
        return None
    return {
        str(m): float(a) for m, a in weights.items() if isinstance(a, (int, float)) and 0.0 <= float(a) <= 1.0
    }
