"""Turning classifier scores into calibrated probabilities, and measuring calibration.

Pure functions plus one small frozen value object, :class:`Calibrator`:

* single-label: temperature scaling of the logits (one parameter, keeps the ranking), fitted on
  held-out (out-of-fold or validation) scores by minimising the negative log-likelihood;
* multi-label: one Platt scaling per label (``sigmoid(a * score + b)``) and one decision threshold
  per label chosen to maximise that label's F1 on the same held-out scores.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "Calibrator",
    "expected_calibration_error",
    "fit_calibrator",
    "fit_platt",
    "fit_temperature",
    "sigmoid",
    "softmax",
    "tune_thresholds",
]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of an ``(n, C)`` array, numerically stable."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Element-wise logistic function."""
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature ``T`` minimising the NLL of ``softmax(logits / T)`` on labels ``y``.

    Args:
        logits: ``(n, C)`` held-out scores.
        y: ``(n,)`` integer class indices.

    Returns:
        T in [0.01, 100]; 1.0 when there are no rows.
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if len(y) == 0:
        return 1.0

    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    rows = np.arange(len(y))

    def nll(log_t: float) -> float:
        return float(-np.mean(log_softmax(z / np.exp(log_t), axis=1)[rows, y]))

    # bounded Brent search on log T (the NLL is unimodal in T for a fixed ranking)
    res = minimize_scalar(
        nll, bounds=(np.log(0.01), np.log(100.0)), method="bounded", options={"xatol": 1e-6}
    )
    return float(np.exp(res.x))


def fit_platt(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling ``sigmoid(a * score + b)`` for one label (scipy's L-BFGS on the log-loss).

    Uses Platt's smoothed targets, so a label seen only positive or only negative still gets finite
    parameters. The loss is written with ``logaddexp`` and its exact gradient, so large, well-separated
    margins (where plain Newton steps diverge) converge too.
    """
    from scipy.optimize import minimize

    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n_pos, n_neg = y.sum(), len(y) - y.sum()
    t = np.where(y > 0, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))

    def loss_and_grad(ab: np.ndarray) -> tuple[float, np.ndarray]:
        f = ab[0] * s + ab[1]
        loss = float(np.sum(t * np.logaddexp(0.0, -f) + (1 - t) * np.logaddexp(0.0, f)))
        r = sigmoid(f) - t
        return loss, np.array([np.sum(r * s), np.sum(r)])

    start = np.array([0.0, float(np.log((n_pos + 1) / (n_neg + 1)))])
    res = minimize(loss_and_grad, start, jac=True, method="L-BFGS-B", options={"gtol": 1e-8, "maxiter": 500})
    return float(res.x[0]), float(res.x[1])


def tune_thresholds(proba: np.ndarray, y: np.ndarray, *, default: float = 0.5) -> np.ndarray:
    """Per-label thresholds maximising each label's F1 on held-out probabilities.

    Args:
        proba: ``(n, C)`` calibrated probabilities.
        y: ``(n, C)`` 0/1 indicator matrix.
        default: the threshold of a label with no positive example.

    Returns:
        ``(C,)`` thresholds, each the midpoint between the best cut's neighbouring scores.
    """
    proba = np.asarray(proba, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    out = np.full(proba.shape[1], default, dtype=np.float64)
    for j in range(proba.shape[1]):
        pos = y[:, j].sum()
        if pos == 0:
            continue
        order = np.argsort(-proba[:, j], kind="stable")
        p_sorted, y_sorted = proba[order, j], y[order, j]
        tp = np.cumsum(y_sorted)
        k = np.arange(1, len(order) + 1)
        f1 = 2 * tp / (k + pos)
        # only cut between distinct scores
        valid = np.r_[p_sorted[:-1] > p_sorted[1:], True]
        f1 = np.where(valid, f1, -1)
        best = int(np.argmax(f1))
        nxt = p_sorted[best + 1] if best + 1 < len(p_sorted) else 0.0
        out[j] = float((p_sorted[best] + nxt) / 2)
    return out


@dataclass(frozen=True)
class Calibrator:
    """Maps raw scores ``(n, C)`` to calibrated probabilities.

    Attributes:
        kind: ``"temperature"`` (single-label, softmax) or ``"platt"`` (multi-label, per-label sigmoid).
        temperature: the softmax temperature (``kind == "temperature"``).
        a: per-label slopes (``kind == "platt"``).
        b: per-label intercepts (``kind == "platt"``).
    """

    kind: str = "temperature"
    temperature: float = 1.0
    a: tuple[float, ...] = ()
    b: tuple[float, ...] = ()

    def transform(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of shape ``(n, C)``; single-label rows sum to 1."""
        s = np.asarray(scores, dtype=np.float64)
        if self.kind == "temperature":
            return softmax(s / self.temperature)
        if self.kind == "platt":
            a = np.asarray(self.a) if self.a else np.ones(s.shape[1])
            b = np.asarray(self.b) if self.b else np.zeros(s.shape[1])
            return sigmoid(s * a + b)
        raise ValueError(f"unknown calibrator kind {self.kind!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "temperature": self.temperature, "a": list(self.a), "b": list(self.b)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibrator:
        return cls(
            kind=str(data["kind"]),
            temperature=float(data.get("temperature", 1.0)),
            a=tuple(float(v) for v in data.get("a", ())),
            b=tuple(float(v) for v in data.get("b", ())),
        )


def fit_calibrator(scores: np.ndarray, y: np.ndarray, *, multilabel: bool) -> Calibrator:
    """Fit a calibrator on held-out scores.

    Args:
        scores: ``(n, C)`` held-out raw scores.
        y: ``(n,)`` class indices (single-label) or ``(n, C)`` indicator matrix (multi-label).
        multilabel: which of the two.
    """
    if not multilabel:
        return Calibrator("temperature", temperature=fit_temperature(scores, y))
    params = [fit_platt(scores[:, j], y[:, j]) for j in range(scores.shape[1])]
    return Calibrator("platt", a=tuple(p[0] for p in params), b=tuple(p[1] for p in params))


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, *, n_bins: int = 15) -> float:
    """Expected calibration error: the support-weighted mean |accuracy - confidence| over equal-width bins.

    Args:
        confidence: ``(n,)`` predicted probability of the predicted label (or of each binary decision).
        correct: ``(n,)`` 1 where that prediction was right.
        n_bins: number of equal-width bins on [0, 1].
    """
    conf = np.asarray(confidence, dtype=np.float64).ravel()
    corr = np.asarray(correct, dtype=np.float64).ravel()
    if conf.size == 0:
        return 0.0
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for k in range(n_bins):
        m = bins == k
        if m.any():
            ece += m.mean() * abs(corr[m].mean() - conf[m].mean())
    return float(ece)
