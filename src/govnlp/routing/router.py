"""AgencyRouter: recommend the lead agency (主办) and co-agencies (会办/协办) of a new proposal.

The lead agency comes from a linear SVM over character 1-3-gram TF-IDF of the proposal text, plus a
bonus per function word of the agency found in the text (``data/functions.json``: 教育局 → 学校, 教师 …),
plus the vote of the most similar past proposals by sentence embedding (the default model; ``embedder=None``
for TF-IDF only). Co-agencies come from the co-agencies of the most similar past proposals (a
similarity-weighted vote), the co-agencies that past proposals with the predicted lead had, their overall
frequency, and function and place-name words. Every suggestion carries its evidence: the past proposals
that support it. The defaults were chosen by cross-validation in ``benchmarks/bench_route.py``.

Example:
    >>> router = AgencyRouter(random_state=0).fit(titles, leads, co_agencies=cos)   # doctest: +SKIP
    >>> r = router.recommend(["关于优化学校周边公交线路的建议"], k=3)[0]               # doctest: +SKIP
    >>> r.lead[0].agency, r.lead[0].evidence[:2]                                    # doctest: +SKIP
    ('市交通运输局', ('16', '35'))
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from govnlp.documents import ReplyDocument
from govnlp.errors import ConfigError, EmbedderMismatchError, FormatError
from govnlp.routing.features import function_hits, proposal_text, reply_example, route_text
from govnlp.routing.names import canonical_agency, function_words
from govnlp.storage import atomic_folder, read_jsonl, read_manifest, write_jsonl, write_manifest

__all__ = ["AgencyRouter", "AgencyScore", "Routing"]

logger = logging.getLogger(__name__)

FORMAT = "govnlp.agency_router"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class AgencyScore:
    """A suggested agency, its score (higher is better; comparable within one text) and its evidence:
    the ids (or texts, when fitted without ids) of the past proposals that support it, most similar first."""

    agency: str
    score: float
    evidence: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"agency": self.agency, "score": self.score, "evidence": list(self.evidence)}


@dataclass(frozen=True)
class Routing:
    """The suggestions for one proposal: ``lead`` and ``co`` agencies, best first."""

    lead: tuple[AgencyScore, ...]
    co: tuple[AgencyScore, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"lead": [a.to_dict() for a in self.lead], "co": [a.to_dict() for a in self.co]}


def _texts(texts: Any, what: str = "texts") -> list[str]:
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"{what} must be a list of texts, got a single str; wrap it in a list")
    out = [route_text(proposal_text(t)) for t in texts]
    for i, t in enumerate(out):
        if not t.strip():
            raise ConfigError(f"{what}[{i}] is empty; every proposal needs a title or text")
    return out


def _display_name(key: str, spellings: Counter[str]) -> str:
    """How an agency is shown: its most frequent spelling; with renames, the most frequent spelling of the
    new name itself, else the new name (an old name is never shown for a renamed agency)."""
    current = Counter({s: n for s, n in spellings.items() if canonical_agency(s) == key})
    if current:
        return current.most_common(1)[0][0]
    if any(canonical_agency(s) != key for s in spellings):
        return key
    return spellings.most_common(1)[0][0]


def _softmax(x: np.ndarray, scale: float) -> np.ndarray:
    z = (x - x.max(axis=1, keepdims=True)) * scale
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class AgencyRouter:
    """Recommend lead and co-agencies for proposals, learnt from past assignments.

    Args:
        random_state: seed of the linear SVM (its dual solver shuffles).
        C: regularisation of the linear SVM.
        knowledge: add the function-word bonus (``functions`` table) to the lead and co scores.
        knowledge_weight: the lead-score bonus per function word found (at most 3 words count).
        n_neighbors: past proposals that vote for co-agencies and give evidence.
        co_weights: weights of the co-agency evidence ``(neighbour vote, co-occurrence with the predicted
            lead, overall frequency, function words)``.
        renames: map old agency names to new ones (:func:`canonical_agency` with ``renames=True``) before
            learning, so an archive spanning a 机构改革 counts the old agency's history for the new one.
        functions: ``{full agency name without level: [words]}`` replacing the package table.
        embedder: find the ``n_neighbors`` nearest past proposals (whose lead and co-agencies vote) by
            sentence embedding: an Embedder or a :func:`govnlp.load_embedder` spec (default: the default
            model, multilingual-e5-small); None: by TF-IDF, and no lead vote (no model needed).
        embedding_weight: weight of that vote (a distribution over agencies) in the lead score.
    """

    def __init__(
        self,
        random_state: int | None = 0,
        *,
        C: float = 1.0,
        knowledge: bool = True,
        knowledge_weight: float = 0.5,
        n_neighbors: int = 10,
        co_weights: Sequence[float] = (1.0, 1.0, 0.5, 0.3),
        renames: bool = False,
        functions: Mapping[str, Sequence[str]] | None = None,
        embedder: Any = "default",
        embedding_weight: float = 0.5,
    ) -> None:
        self.random_state = random_state
        self.C = C
        self.knowledge = knowledge
        self.knowledge_weight = knowledge_weight
        self.n_neighbors = n_neighbors
        self.co_weights = tuple(float(w) for w in co_weights)
        self.renames = renames
        self.functions = functions
        self.embedder = embedder
        self.embedding_weight = embedding_weight

    # -- fitting ----------------------------------------------------------------------------------------
    def _params(self) -> dict[str, Any]:
        return {
            "random_state": self.random_state,
            "C": self.C,
            "knowledge": self.knowledge,
            "knowledge_weight": self.knowledge_weight,
            "n_neighbors": self.n_neighbors,
            "co_weights": list(self.co_weights),
            "renames": self.renames,
            "functions": {k: list(v) for k, v in self.functions.items()} if self.functions else None,
            "embedding_weight": self.embedding_weight,
        }

    def _key(self, name: str) -> str:
        return canonical_agency(name, renames=self.renames)

    def fit(
        self,
        texts: Sequence[Any],
        lead_agencies: Sequence[str],
        co_agencies: Sequence[Sequence[str]] | None = None,
        *,
        ids: Sequence[str] | None = None,
    ) -> AgencyRouter:
        """Learn from past assignments.

        Args:
            texts: proposals (str, ProposalDocument or its dict form), e.g. titles.
            lead_agencies: the lead agency of each, as written; spellings of one agency are merged by
                :func:`canonical_agency` and shown as the most frequent spelling.
            co_agencies: one list of co-agency names per text (None: no co-agencies learnt).
            ids: ids of the proposals, returned as evidence (default: the texts themselves).

        Raises:
            TypeError: ``texts`` is a bare str.
            ConfigError: lengths differ, an empty text or agency, or fewer than two lead agencies.
        """
        from scipy import sparse
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVC

        docs = _texts(texts)
        leads = list(lead_agencies) if not isinstance(lead_agencies, str) else None
        if leads is None:
            raise TypeError("lead_agencies must be a list of names, got a single str")
        if co_agencies is not None and any(isinstance(c, str) for c in co_agencies):
            raise TypeError("co_agencies must hold one list of names per text, got a str; wrap it in a list")
        cos = [list(c) for c in co_agencies] if co_agencies is not None else [[] for _ in docs]
        evid = [str(i) for i in ids] if ids is not None else list(docs)
        if not (len(docs) == len(leads) == len(cos) == len(evid)):
            raise ConfigError(
                f"texts, lead_agencies, co_agencies and ids must have one entry per proposal; got "
                f"{len(docs)}, {len(leads)}, {len(cos)}, {len(evid)}"
            )
        spellings: dict[str, Counter[str]] = {}

        def key(name: Any, i: int) -> str:
            if not isinstance(name, str) or not canonical_agency(name):
                raise ConfigError(f"the agency of proposal {i} is {name!r}; give a non-empty agency name")
            k = self._key(name)
            spellings.setdefault(k, Counter())[name.strip()] += 1
            return k

        lead_keys = [key(a, i) for i, a in enumerate(leads)]
        co_keys = [[key(a, i) for a in dict.fromkeys(c)] for i, c in enumerate(cos)]
        co_keys = [[a for a in c if a != lead] for c, lead in zip(co_keys, lead_keys, strict=True)]
        classes = sorted(set(lead_keys))
        if len(classes) < 2:
            raise ConfigError(f"need at least two different lead agencies to learn from; got {classes}")

        vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, dtype=np.float32)
        X = vec.fit_transform(docs)
        svm = LinearSVC(C=self.C, random_state=self.random_state).fit(X, lead_keys)
        coef = svm.coef_ if len(classes) > 2 else np.vstack([-svm.coef_[0], svm.coef_[0]])
        icpt = svm.intercept_ if len(classes) > 2 else np.array([-svm.intercept_[0], svm.intercept_[0]])

        self.classes_ = [str(c) for c in svm.classes_]
        self.vocabulary_ = vec.vocabulary_
        self.idf_ = np.asarray(vec.idf_, dtype=np.float32)
        self.coef_ = np.asarray(coef, dtype=np.float32)
        self.intercept_ = np.asarray(icpt, dtype=np.float32)
        self.examples_: list[dict[str, Any]] = [
            {"id": e, "text": t, "lead": lk, "co": ck}
            for e, t, lk, ck in zip(evid, docs, lead_keys, co_keys, strict=True)
        ]
        self.names_ = {k: _display_name(k, c) for k, c in sorted(spellings.items())}
        self.vectors_: np.ndarray | None = None
        if self.embedder is not None:
            from govnlp.embedders import load_embedder

            self._embedder = load_embedder(self.embedder)
            self.vectors_ = np.asarray(self._embedder.encode(docs, kind="query"), dtype=np.float32)
        self._prepare(X if isinstance(X, sparse.csr_matrix) else sparse.csr_matrix(X))
        return self

    @classmethod
    def from_replies(cls, docs: Iterable[ReplyDocument], **params: Any) -> AgencyRouter:
        """Learn from parsed replies: the proposal title and restated problems of each, with its
        ``lead_agency`` (else ``replying_agency``) and ``co_agencies``. Replies without any agency or
        text are skipped (logged). The evidence of a suggestion is the proposal title of the supporting
        replies (else the reply's title, else its id).

        Raises:
            ConfigError: fewer than two usable replies or lead agencies.
        """
        texts, leads, cos, ids = [], [], [], []
        skipped = 0
        for doc in docs:
            if not isinstance(doc, ReplyDocument):
                raise TypeError(f"from_replies takes ReplyDocuments, got {type(doc).__name__}")
            text, lead, co = reply_example(doc)
            if not text or not lead:
                skipped += 1
                continue
            texts.append(text)
            leads.append(lead)
            cos.append(list(co))
            ids.append(doc.proposal_title or doc.title or doc.id)
        if skipped:
            logger.info("from_replies: skipped %d replies without a proposal title or an agency", skipped)
        if len(texts) < 2:
            raise ConfigError(
                f"from_replies needs replies naming their proposal and agency; {len(texts)} of "
                f"{len(texts) + skipped} had both"
            )
        return cls(**params).fit(texts, leads, cos, ids=ids)

    def _prepare(self, X: Any) -> None:
        """Derived state (not saved): training matrix, co-occurrence tables, function words per agency."""
        self._X = X
        n = len(self.examples_)
        co_names = sorted({a for e in self.examples_ for a in e["co"]})
        self._co_names = co_names
        col = {a: j for j, a in enumerate(co_names)}
        Y = np.zeros((n, len(co_names)), dtype=np.float32)
        for i, e in enumerate(self.examples_):
            for a in e["co"]:
                Y[i, col[a]] = 1.0
        self._Y = Y
        lead_idx = {c: j for j, c in enumerate(self.classes_)}
        L = np.zeros((n, len(self.classes_)), dtype=np.float32)
        for i, e in enumerate(self.examples_):
            L[i, lead_idx[e["lead"]]] = 1.0
        # P(co | lead), shrunk towards the overall frequency of each co-agency
        self._freq = Y.mean(axis=0) if n else np.zeros(len(co_names), dtype=np.float32)
        counts = L.T @ Y
        self._cooc = (counts + self._freq) / (L.sum(axis=0)[:, None] + 1.0)
        self._L = L
        table = self.functions if self.functions is not None else function_words()
        self._table = table

    # -- predicting --------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise ConfigError("this AgencyRouter is not fitted; call fit(texts, lead_agencies) or load(path)")

    def _transform(self, docs: list[str]) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer

        vec = TfidfVectorizer(
            analyzer="char",
            ngram_range=(1, 3),
            sublinear_tf=True,
            dtype=np.float32,
            vocabulary=self.vocabulary_,
        )
        vec.idf_ = self.idf_
        return vec.transform(docs)

    def lead_scores(self, texts: Sequence[Any]) -> np.ndarray:
        """Lead scores, shape ``(len(texts), len(classes_))``: SVM margins, the function-word bonus and,
        with an embedder, the neighbours' vote."""
        self._check_fitted()
        docs = _texts(texts)
        return self._score(docs)[0]

    def co_scores(self, texts: Sequence[Any]) -> tuple[list[str], np.ndarray]:
        """Co-agency scores of every known co-agency, shape ``(len(texts), len(names))``, with the names
        (canonical). The predicted lead is not removed from them: when the lead suggestion is wrong,
        that agency is often a co-agency (recall@5 0.56 against 0.51 with it removed, bench_route.py)."""
        self._check_fitted()
        docs = _texts(texts)
        _, C, _ = self._score(docs)
        return list(self._co_names), C

    def _score(self, docs: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(lead scores, co scores, similarity to each past proposal) for cleaned texts.

        The neighbours are the ``n_neighbors`` most similar past proposals: by embedding when the router
        has one (weights sharpened by exp(20 (cos - 1)), so the nearest few dominate), else by TF-IDF
        cosine (weights = cosine).
        """
        Xq = self._transform(docs)
        S = np.asarray(Xq @ self.coef_.T) + self.intercept_
        if self.vectors_ is not None:
            q = np.asarray(self._embedder.encode(docs, kind="query"), dtype=np.float32)
            sims = q @ self.vectors_.T
            weights = np.exp((sims - 1.0) * 20.0)
        else:
            sims = np.asarray((Xq @ self._X.T).todense())
            weights = np.maximum(sims, 0.0)
        n = len(docs)
        lead_vote = np.zeros((n, len(self.classes_)), dtype=np.float32)
        co_vote = np.zeros((n, len(self._co_names)), dtype=np.float32)
        for i in range(n):
            nn = np.argsort(-sims[i], kind="stable")[: self.n_neighbors]
            w = weights[i, nn]
            if w.sum() > 0:
                lead_vote[i] = (w @ self._L[nn]) / w.sum()
                co_vote[i] = (w @ self._Y[nn]) / w.sum()
        if self.knowledge:
            S = S + self.knowledge_weight * np.minimum(function_hits(docs, self.classes_, self._table), 3.0)
        if self.vectors_ is not None and self.embedding_weight:
            S = S + self.embedding_weight * lead_vote
        P = _softmax(S, 4.0)
        w_knn, w_cooc, w_freq, w_kw = self.co_weights
        C = w_knn * co_vote + w_cooc * (P @ self._cooc) + w_freq * self._freq
        if self.knowledge and w_kw and self._co_names:
            C = C + w_kw * np.minimum(function_hits(docs, self._co_names, self._table), 3.0)
        return S, C, sims

    def recommend(self, texts: Sequence[Any], k: int = 5) -> list[Routing]:
        """One :class:`Routing` per text: the ``k`` best lead and ``k`` best co-agencies with evidence.

        Lead scores are a softmax over the agencies (they sum to 1 over all agencies); co-agency scores
        are the sum of their evidence (higher is better, not a probability).

        Raises:
            TypeError: ``texts`` is a bare str.
            ConfigError: not fitted, ``k`` < 1, or an empty text.
        """
        self._check_fitted()
        if not isinstance(k, int) or k < 1:
            raise ConfigError(f"k must be a positive int, got {k!r}")
        docs = _texts(texts)
        if not docs:
            return []
        S, C, sims = self._score(docs)
        P = _softmax(S, 4.0)
        out = []
        for i in range(len(docs)):
            lead = tuple(
                AgencyScore(
                    self.names_.get(self.classes_[j], self.classes_[j]),
                    round(float(P[i, j]), 4),
                    self._evidence(sims[i], lambda e, a=self.classes_[j]: e["lead"] == a),
                )
                for j in np.argsort(-S[i], kind="stable")[:k]
            )
            co = tuple(
                AgencyScore(
                    self.names_.get(self._co_names[j], self._co_names[j]),
                    round(float(C[i, j]), 4),
                    self._evidence(sims[i], lambda e, a=self._co_names[j]: a in e["co"]),
                )
                for j in np.argsort(-C[i], kind="stable")[:k]
            )
            out.append(Routing(lead=lead, co=co))
        return out

    def _evidence(self, sim: np.ndarray, pred: Any, n: int = 3) -> tuple[str, ...]:
        """Ids of the past proposals (most similar first, similarity > 0) for which ``pred`` holds."""
        found = []
        for j in np.argsort(-sim, kind="stable"):
            if sim[j] <= 0:
                break
            if pred(self.examples_[j]):
                found.append(str(self.examples_[j]["id"]))
                if len(found) == n:
                    break
        return tuple(found)

    # -- persistence -------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save as a folder: ``manifest.json``, ``vocabulary.json``, ``idf.npy``, ``coef.npy``,
        ``intercept.npy``, ``examples.jsonl`` (the past proposals: evidence and co-agency votes). No pickle."""
        self._check_fitted()
        with atomic_folder(path) as tmp:
            vocab = sorted(self.vocabulary_, key=self.vocabulary_.__getitem__)
            (tmp / "vocabulary.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
            np.save(tmp / "idf.npy", self.idf_, allow_pickle=False)
            np.save(tmp / "coef.npy", self.coef_, allow_pickle=False)
            np.save(tmp / "intercept.npy", self.intercept_, allow_pickle=False)
            write_jsonl(tmp / "examples.jsonl", self.examples_)
            embedder = None
            if self.vectors_ is not None:
                np.save(tmp / "vectors.npy", self.vectors_, allow_pickle=False)
                spec = getattr(self._embedder, "spec", None)
                embedder = {
                    "name": self._embedder.name,
                    "spec": spec,
                    "fingerprint": self._embedder.fingerprint(),
                }
            write_manifest(
                tmp,
                FORMAT,
                FORMAT_VERSION,
                params=self._params(),
                classes=self.classes_,
                names=self.names_,
                n_examples=len(self.examples_),
                n_features=len(vocab),
                embedder=embedder,
            )
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str], embedder: Any = None) -> AgencyRouter:
        """Load a saved router; checks the format, version and array shapes.

        Args:
            path: the saved folder.
            embedder: for a router fitted with an embedder: the same embedder (default: rebuilt from the
                spec it was saved with).

        Raises:
            FormatError: not a saved router, a newer format, or files that do not fit together.
            EmbedderMismatchError: ``embedder`` is not the one the router was fitted with.
        """
        folder = Path(path)
        m = read_manifest(folder, FORMAT, FORMAT_VERSION)
        try:
            params = dict(m["params"])
            router = cls(**params)
            vocab = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
            idf = np.load(folder / "idf.npy", allow_pickle=False)
            coef = np.load(folder / "coef.npy", allow_pickle=False)
            icpt = np.load(folder / "intercept.npy", allow_pickle=False)
            examples = read_jsonl(folder / "examples.jsonl")
            classes = [str(c) for c in m["classes"]]
            names = {str(k): str(v) for k, v in m["names"].items()}
        except (KeyError, TypeError, OSError, ValueError) as exc:
            raise FormatError(
                f"{folder} is an incomplete or damaged agency router ({exc}); save it again"
            ) from exc
        nf, nc = len(vocab), len(classes)
        if (
            idf.shape != (nf,)
            or coef.shape != (nc, nf)
            or icpt.shape != (nc,)
            or len(examples) != m.get("n_examples")
        ):
            raise FormatError(
                f"{folder}: files do not fit together (vocabulary {nf}, idf {idf.shape}, coef {coef.shape}, "
                f"classes {nc}, examples {len(examples)} vs {m.get('n_examples')}); save the router again"
            )
        router.classes_ = classes
        router.vocabulary_ = {t: i for i, t in enumerate(vocab)}
        router.idf_ = idf.astype(np.float32)
        router.coef_ = coef.astype(np.float32)
        router.intercept_ = icpt.astype(np.float32)
        router.examples_ = examples
        router.names_ = names
        router.vectors_ = None
        emb_info = m.get("embedder")
        if emb_info:
            from govnlp.embedders import load_embedder

            if embedder is None and not emb_info.get("spec"):
                raise FormatError(f"{folder} was fitted with embedder {emb_info['name']!r}; pass embedder=")
            emb = load_embedder(embedder if embedder is not None else emb_info["spec"])
            if emb.fingerprint() != emb_info["fingerprint"]:
                raise EmbedderMismatchError(
                    f"{folder} was fitted with embedder {emb_info['name']!r} ({emb_info['fingerprint'][:12]}), "
                    f"got {emb.name!r} ({emb.fingerprint()[:12]}); pass the embedder it was fitted with"
                )
            vectors = np.load(folder / "vectors.npy", allow_pickle=False)
            if vectors.shape[0] != len(examples):
                raise FormatError(
                    f"{folder}: {vectors.shape[0]} vectors for {len(examples)} examples; save again"
                )
            router._embedder, router.embedder, router.vectors_ = emb, emb_info["spec"] or emb, vectors
        router._prepare(router._transform([e["text"] for e in examples]))
        return router

    def __repr__(self) -> str:
        fitted = f", {len(self.classes_)} lead agencies" if hasattr(self, "classes_") else ""
        return f"AgencyRouter(random_state={self.random_state}{fitted})"
