"""A learned ranking head on the user's own history: (query, relevant id) pairs re-rank hybrid candidates.

:meth:`SearchIndex.fit_ranker(pairs) <govnlp.search.SearchIndex.fit_ranker>` gathers, for each training
query, the candidates of the dense and the lexical top-``depth`` lists, describes each candidate by
:data:`FEATURES` (scores, ranks, unit type, agency and title matches, shared figures, lengths) and fits a
head that says whether a candidate is the relevant one:

- ``"logreg"`` (default): standardised features, scikit-learn logistic regression; its probability is
  the hit's ``relevance`` (the probability that the hit is a relevant one, calibrated on the pairs);
- ``"lambdarank"``: LightGBM's lambdarank objective (``pip install lightgbm``), a ranking score with a
  logistic (Platt) calibration of its top-hit scores for ``relevance``.

Once fitted, hybrid searches rank the candidates by the head and every hit carries ``relevance``. The
head is saved in the index folder (``ranker/ranker.json``, plus ``ranker/booster.txt`` for LightGBM;
no pickle).

Example:
    >>> index.fit_ranker([("建议加强老旧小区物业监管", "doc-17:measure-3"), ...])   # doctest: +SKIP
    >>> index.search("小区物业服务差", k=3)[0].relevance                           # doctest: +SKIP
    0.82
"""

from __future__ import annotations

import json
import logging
import math
import re
import weakref
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from govnlp.errors import ConfigError, FormatError

__all__ = [
    "DEFAULT_DEPTH",
    "FEATURES",
    "METHODS",
    "Ranker",
    "candidate_features",
    "fit_head",
    "fit_ranker",
    "rank_hits",
]

logger = logging.getLogger(__name__)

#: Candidates per list (dense and lexical) that the head re-ranks.
DEFAULT_DEPTH = 50
METHODS = ("logreg", "lambdarank")
FEATURES = (
    "dense",
    "dense_z",
    "dense_gap",
    "dense_rr",
    "lexical_rel",
    "lexical_z",
    "lexical_rr",
    "in_both",
    "bigram_containment",
    "unit_measure",
    "unit_problem",
    "unit_paragraph",
    "agency_match",
    "title_overlap",
    "figure_overlap",
    "query_figures",
    "log_len",
    "log_query_len",
)
_FORMAT = "govnlp.ranker"
_FORMAT_VERSION = 1
_NUM = re.compile(r"\d+(?:\.\d+)?")
_CJK_RUN = re.compile(r"[\u3400-\u9fff0-9a-zA-Z]+")
_AGENCY_PREFIX = re.compile(r"^(?:[^市县区省]{1,6}[市县区省])")


def _bigrams(text: str) -> set[str]:
    out: set[str] = set()
    for run in _CJK_RUN.findall(text):
        out.update(run[i : i + 2] for i in range(len(run) - 1))
    return out


def _agencies(record: dict[str, Any]) -> list[str]:
    names = [record.get("lead_agency"), record.get("replying_agency"), *(record.get("co_agencies") or ())]
    out = []
    for n in names:
        if isinstance(n, str) and n:
            out.append(n)
            short = _AGENCY_PREFIX.sub("", n)  # 丽水市综合行政执法局 -> 综合行政执法局
            if len(short) >= 3 and short != n:
                out.append(short)
    return out


def _title(record: dict[str, Any]) -> str:
    for key in ("proposal_title", "title", "section_heading"):
        v = record.get(key)
        if isinstance(v, str) and v:
            return v
    return ""


def _z(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)


class _RecordInfo:
    """What the features need of a record, computed once per record."""

    __slots__ = ("agencies", "bigrams", "length", "numbers", "title_bigrams", "unit")

    def __init__(self, record: dict[str, Any]) -> None:
        text = str(record.get("text") or "")
        self.bigrams = _bigrams(text)
        self.numbers = set(_NUM.findall(text))
        self.agencies = _agencies(record)
        self.title_bigrams = _bigrams(_title(record))
        self.length = len(text)
        self.unit = record.get("unit")


_INFO: weakref.WeakKeyDictionary[Any, dict[str, _RecordInfo]] = weakref.WeakKeyDictionary()


def _infos(index: Any, ids: Sequence[str]) -> list[_RecordInfo]:
    cache = _INFO.setdefault(index, {})
    out = []
    for rid in ids:
        info = cache.get(rid)
        if info is None:
            info = cache[rid] = _RecordInfo(index._records[rid])
        out.append(info)
    return out


def candidate_features(
    query: str,
    records: Sequence[dict[str, Any] | _RecordInfo],
    dense: np.ndarray,
    lexical: np.ndarray,
    dense_rank: np.ndarray,
    lexical_rank: np.ndarray,
) -> np.ndarray:
    """The feature matrix ``(len(records), len(FEATURES))`` of one query's candidates.

    Args:
        query: the query text.
        records: the candidate records (``text``, optional ``unit``, agencies, titles).
        dense, lexical: the candidates' dense cosine and lexical scores, shape ``(n,)``.
        dense_rank, lexical_rank: their 1-based ranks in the dense / lexical top lists (0: not in it).
    """
    n = len(records)
    dense = np.asarray(dense, dtype=np.float64)
    lexical = np.asarray(lexical, dtype=np.float64)
    top_l = float(lexical.max()) if n else 0.0
    q_bi = _bigrams(query)
    q_num = set(_NUM.findall(query))
    x = np.zeros((n, len(FEATURES)), dtype=np.float64)
    x[:, 0] = dense
    x[:, 1] = _z(dense)
    x[:, 2] = (dense.max() - dense) if n else 0.0
    x[:, 3] = np.where(dense_rank > 0, 1.0 / np.maximum(dense_rank, 1), 0.0)
    x[:, 4] = lexical / top_l if top_l > 0 else 0.0
    x[:, 5] = _z(lexical)
    x[:, 6] = np.where(lexical_rank > 0, 1.0 / np.maximum(lexical_rank, 1), 0.0)
    x[:, 7] = (dense_rank > 0) & (lexical_rank > 0)
    x[:, 15] = math.log1p(len(q_num))
    x[:, 17] = math.log1p(len(query))
    for j, rec in enumerate(records):
        r = rec if isinstance(rec, _RecordInfo) else _RecordInfo(rec)
        x[j, 8] = len(q_bi & r.bigrams) / len(q_bi) if q_bi else 0.0
        x[j, 9] = r.unit == "measure"
        x[j, 10] = r.unit == "problem"
        x[j, 11] = r.unit in ("paragraph", "body")
        x[j, 12] = any(a in query for a in r.agencies)
        x[j, 13] = len(q_bi & r.title_bigrams) / len(r.title_bigrams) if r.title_bigrams else 0.0
        if q_num:
            x[j, 14] = len(q_num & r.numbers) / len(q_num)
        x[j, 16] = math.log1p(r.length)
    return x


Gathered = tuple[list[str], np.ndarray, np.ndarray, np.ndarray]


def gather(
    index: Any, queries: Sequence[str], depth: int, subset: np.ndarray | None = None, qvecs: Any = None
) -> list[Gathered]:
    """For each query: the candidate ids (dense top-``depth`` then new lexical ones), their features,
    dense and lexical scores."""
    if qvecs is None:
        qvecs = index.embedder.encode(list(queries), kind="query", batch_size=index.batch_size)
    qvecs = np.ascontiguousarray(qvecs, dtype=np.float32)
    vectors, lex = index._vectors, index._lexical
    _, dl = vectors.search(qvecs, depth, subset=subset)
    mask = lex.mask(subset)
    out: list[Gathered] = []
    for i, q in enumerate(queries):
        scores = lex.score(q)
        _, ll = lex.top(scores, depth, mask)
        labels = [int(x) for x in dl[i] if x >= 0]
        seen = set(labels)
        labels += [int(x) for x in ll if x >= 0 and int(x) not in seen]
        if not labels:
            out.append(([], np.zeros((0, len(FEATURES))), np.zeros(0), np.zeros(0)))
            continue
        lab = np.asarray(labels, dtype=np.int64)
        d_rank = {int(x): r for r, x in enumerate(dl[i], 1) if x >= 0}
        l_rank = {int(x): r for r, x in enumerate(ll, 1) if x >= 0}
        dense = vectors.reconstruct(lab) @ qvecs[i]
        lexical = lex.scores_for(q, lab, scores)
        ids = [index._id[x] for x in labels]
        feats = candidate_features(
            q,
            _infos(index, ids),
            dense,
            lexical,
            np.array([d_rank.get(x, 0) for x in labels]),
            np.array([l_rank.get(x, 0) for x in labels]),
        )
        out.append((ids, feats, dense, lexical))
    return out


def rank_hits(
    index: Any, ranker: Ranker, queries: Sequence[str], qvecs: Any, k: int, subset: np.ndarray | None
) -> list[list[Any]]:
    """The top-``k`` hits of each query by the ranking head, each with its ``relevance``."""
    from govnlp.search.hit import Hit

    out = []
    for ids, feats, dense, lexical in gather(index, queries, ranker.depth, subset, qvecs):
        s = ranker.score(feats)
        rel = ranker.relevance(s)
        order = sorted(range(len(ids)), key=lambda j: (-s[j], ids[j]))[:k]
        out.append(
            [
                Hit(
                    id=ids[j],
                    score=float(s[j]),
                    rank=r,
                    record=dict(index._records[ids[j]]),
                    dense_score=float(dense[j]),
                    lexical_score=float(lexical[j]),
                    relevance=float(rel[j]),
                )
                for r, j in enumerate(order, 1)
            ]
        )
    return out


class Ranker:
    """A fitted ranking head (see the module doc). Build it with :func:`fit_ranker`."""

    def __init__(self, method: str = "logreg", depth: int = DEFAULT_DEPTH) -> None:
        if method not in METHODS:
            raise ConfigError(f"ranker method must be one of {METHODS}, got {method!r}")
        self.method = method
        self.depth = int(depth)
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None
        self.coef_: np.ndarray | None = None
        self.intercept_: float = 0.0
        self.platt_: tuple[float, float] = (1.0, 0.0)
        self.booster_: Any = None
        self.info_: dict[str, Any] = {}

    # -- scoring ------------------------------------------------------------------------------------
    def score(self, x: np.ndarray) -> np.ndarray:
        """Ranking scores of feature rows, shape ``(n,)``."""
        if not len(x):
            return np.zeros(0)
        if self.method == "lambdarank":
            return np.asarray(self.booster_.predict(x), dtype=np.float64)
        assert self.coef_ is not None and self.mean_ is not None and self.scale_ is not None
        return ((x - self.mean_) / self.scale_) @ self.coef_ + self.intercept_

    def relevance(self, scores: np.ndarray) -> np.ndarray:
        """The probability that a candidate with these scores is relevant."""
        a, b = self.platt_
        return 1.0 / (1.0 + np.exp(-(a * np.asarray(scores, dtype=np.float64) + b)))

    # -- persistence --------------------------------------------------------------------------------
    def save(self, folder: str | Path) -> None:
        """Write ``ranker.json`` (and ``booster.txt`` for LightGBM) into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        meta: dict[str, Any] = {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "method": self.method,
            "depth": self.depth,
            "features": list(FEATURES),
            "platt": list(self.platt_),
            "info": self.info_,
        }
        if self.method == "logreg":
            assert self.coef_ is not None and self.mean_ is not None and self.scale_ is not None
            meta.update(
                coef=self.coef_.tolist(),
                intercept=self.intercept_,
                mean=self.mean_.tolist(),
                scale=self.scale_.tolist(),
            )
        else:
            (folder / "booster.txt").write_text(self.booster_.model_to_string(), encoding="utf-8")
        (folder / "ranker.json").write_text(json.dumps(meta, sort_keys=True), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path) -> Ranker:
        """Read a saved head; refuses another format, a newer version or other features."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / "ranker.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise FormatError(f"cannot read {folder}/ranker.json: {exc}; fit the ranker again.") from exc
        if meta.get("format") != _FORMAT or int(meta.get("format_version", 99)) > _FORMAT_VERSION:
            raise FormatError(
                f"{folder}/ranker.json is {meta.get('format')!r} version {meta.get('format_version')!r}; "
                f"expected {_FORMAT!r} up to version {_FORMAT_VERSION}. Upgrade govnlp or fit the ranker again."
            )
        if meta.get("features") != list(FEATURES):
            raise FormatError(f"{folder}/ranker.json uses other features; fit the ranker again.")
        r = cls(meta["method"], meta["depth"])
        r.platt_ = (float(meta["platt"][0]), float(meta["platt"][1]))
        r.info_ = dict(meta.get("info") or {})
        if r.method == "logreg":
            r.coef_ = np.asarray(meta["coef"], dtype=np.float64)
            r.intercept_ = float(meta["intercept"])
            r.mean_ = np.asarray(meta["mean"], dtype=np.float64)
            r.scale_ = np.asarray(meta["scale"], dtype=np.float64)
        else:
            lgb = _need_lightgbm()
            r.booster_ = lgb.Booster(model_str=(folder / "booster.txt").read_text(encoding="utf-8"))
        return r


def _need_lightgbm() -> Any:
    try:
        import lightgbm
    except ImportError as exc:
        raise ConfigError(
            "the lambdarank ranker needs LightGBM: pip install 'govnlp[ranker]' (or lightgbm)"
        ) from exc
    return lightgbm


def _check_pairs(pairs: Iterable[Any], index: Any) -> list[tuple[str, set[str]]]:
    if isinstance(pairs, (str, bytes)):
        raise TypeError("fit_ranker() expects a list of (query, relevant id) pairs, got a str")
    grouped: dict[str, set[str]] = {}
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and isinstance(pair[0], str)):
            raise TypeError(f"pair {i} is not a (query, relevant id) pair: {pair!r:.80}")
        ids = {pair[1]} if isinstance(pair[1], str) else set(pair[1])
        grouped.setdefault(pair[0], set()).update(str(x) for x in ids)
    unknown = sorted({r for ids in grouped.values() for r in ids if r not in index})
    if unknown:
        raise ConfigError(
            f"{len(unknown)} relevant id(s) are not in the index: {unknown[:5]}; pairs must name indexed records"
        )
    if len(grouped) < 10:
        raise ConfigError(f"fit_ranker() needs at least 10 distinct queries, got {len(grouped)}")
    return list(grouped.items())


def fit_ranker(
    index: Any,
    pairs: Iterable[tuple[str, str | Iterable[str]]],
    *,
    method: str = "logreg",
    depth: int = DEFAULT_DEPTH,
    C: float = 1.0,
    random_state: int = 0,
) -> Ranker:
    """Fit a ranking head on ``(query, relevant id or ids)`` pairs against ``index``'s candidates.

    Raises:
        TypeError: ``pairs`` is not a list of pairs.
        ConfigError: fewer than 10 distinct queries, ids not in the index, no relevant id among the
            candidates of any query, or LightGBM missing for ``"lambdarank"``.
    """
    ranker = Ranker(method, depth)
    groups = _check_pairs(pairs, index)
    gathered = gather(index, [q for q, _ in groups], depth)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    found = 0
    for (_, rel), (ids, feats, _, _) in zip(groups, gathered, strict=True):
        if not ids:
            continue
        y = np.array([i in rel for i in ids], dtype=np.float64)
        found += bool(y.any())
        xs.append(feats)
        ys.append(y)
    if found == 0:
        raise ConfigError("no query found its relevant record among the candidates; check the pairs' ids")
    fit_head(ranker, xs, ys, C=C, random_state=random_state)
    ranker.info_["queries"] = len(groups)
    ranker.info_["queries_with_relevant_candidate"] = found
    logger.info("fitted a %s ranker on %s", method, ranker.info_)
    return ranker


def fit_head(
    ranker: Ranker, xs: list[np.ndarray], ys: list[np.ndarray], *, C: float = 1.0, random_state: int = 0
) -> Ranker:
    """Fit ``ranker``'s head on per-query feature matrices and 0/1 labels (lambdarank: groups without
    a positive are left out); return it."""
    method = ranker.method
    if method == "lambdarank":
        keep = [i for i, y in enumerate(ys) if y.any()]
        xs, ys = [xs[i] for i in keep], [ys[i] for i in keep]
    sizes = [len(y) for y in ys]
    x, y = np.vstack(xs), np.concatenate(ys)
    if method == "logreg":
        from sklearn.linear_model import LogisticRegression

        ranker.mean_ = x.mean(axis=0)
        scale = x.std(axis=0)
        ranker.scale_ = np.where(scale > 0, scale, 1.0)
        lr = LogisticRegression(C=C, max_iter=1000, random_state=random_state)
        lr.fit((x - ranker.mean_) / ranker.scale_, y)
        ranker.coef_ = lr.coef_[0].astype(np.float64)
        ranker.intercept_ = float(lr.intercept_[0])
    else:
        lgb = _need_lightgbm()
        ds = lgb.Dataset(x, y, group=sizes, free_raw_data=False)
        params = {
            "objective": "lambdarank",
            "metric": "ndcg",
            "learning_rate": 0.05,
            "num_leaves": 15,
            "min_data_in_leaf": 20,
            "verbose": -1,
            "seed": random_state,
            "num_threads": 1,
            "deterministic": True,
        }
        ranker.booster_ = lgb.train(params, ds, num_boost_round=200)
        # relevance: a logistic calibration of the ranking scores on the same candidates
        from sklearn.linear_model import LogisticRegression

        s = ranker.score(x)[:, None]
        cal = LogisticRegression(C=1.0, max_iter=1000).fit(s, y)
        ranker.platt_ = (float(cal.coef_[0][0]), float(cal.intercept_[0]))
    ranker.info_ = {"candidates": len(y), "positives": int(y.sum())}
    return ranker
