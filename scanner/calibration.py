"""A calibrated probability that a read is exactly right, from the recognizer's evidence.

A logistic regression (fit by Newton's method with a light L2 penalty) ranks reads by a few features of the
evidence: the weakest character's probability, the text's likelihood per character, how many models agree
and the least any of them believes the text, the margin over the best other candidate, how much of the name
the lists know, whether it looks like a name, contrast, accent doubt. Isotonic regression then maps that score
to the observed share of right reads, each step Laplace-smoothed. It is fit on one split of writers (fonts) and
reported on another (`bench/calibrate.py`); the weights, the steps and the auto-accept threshold live in
`scanner/calibration.json`, written by that script, never by hand.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from scanner.errors import SetupError
from scanner.handwriting import Evidence
from scanner.textread import looks_like_name

CALIBRATION_PATH = Path(__file__).with_name("calibration.json")
NAME_FEATURES = ("log_min_char_prob", "mean_log_prob", "agreement", "weakest_log_likelihood", "margin", "known_share",
                 "looks_like_name", "changed_by_prior", "contrast", "length", "accent_doubt", "all_parts_known",
                 "accent_unsure")
FIELD_FEATURES = ("log_min_char_prob", "mean_log_prob", "agreement", "contrast", "length")


@dataclass(frozen=True)
class Model:
    """Weights over named features, a monotone map from the weighted score to a probability, and the
    auto-accept threshold chosen on the calibration split."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    accept_at: float
    # (score upper bound, probability) steps from isotonic regression; empty: the logistic curve itself
    steps: tuple[tuple[float, float], ...] = ()

    def score(self, evidence: Evidence) -> float:
        return float(np.dot(self.weights, feature_vector(evidence, self.features)) + self.bias)

    def probability(self, evidence: Evidence) -> float:
        if not evidence.text:
            return 0.0
        z = self.score(evidence)
        if self.steps:
            return next((p for bound, p in self.steps if z <= bound), self.steps[-1][1])
        return round(1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z)))), 4)


@dataclass(frozen=True)
class Calibration:
    name: Model
    field: Model


def feature_vector(evidence: Evidence, names: tuple[str, ...]) -> np.ndarray:
    """The evidence as numbers, each scaled to roughly 0..1 (or a small negative range)."""
    e = evidence
    values = {
        "log_min_char_prob": math.log(max(e.min_char_prob, 1e-4)) / 4.0,
        "mean_log_prob": max(e.mean_log_prob, -5.0),
        "agreement": e.models_agreeing / max(e.models_run, 1),
        "weakest_log_likelihood": max(e.weakest_log_likelihood, -20.0) / 10.0,
        # No longer fit (every name is now read by all three models), still computed so that a calibration
        # file written before that can be loaded, e.g. by the run of `make calibrate` that replaces it.
        "third_model_asked": float(e.models_run > 2),
        "margin": min(e.margin, 20.0) / 10.0,
        "known_share": e.known_parts / max(e.parts, 1),
        "looks_like_name": float(looks_like_name(e.text)),
        "changed_by_prior": float(e.changed_by_prior),
        "contrast": e.contrast,
        "length": min(len(e.text), 40) / 20.0,
        "accent_doubt": e.accent_doubt,
        "all_parts_known": float(e.parts >= 2 and e.known_parts == e.parts),
        "accent_unsure": float(e.accent_unsure_parts > 0),
    }
    return np.array([values[n] for n in names], dtype=np.float64)


def fit(rows: list[tuple[Evidence, bool]], names: tuple[str, ...], *, l2: float = 0.1,
        target_precision: float = 0.99) -> Model:
    """A logistic regression (Newton's method) ranks the reads; isotonic regression (pool adjacent violators)
    turns its score into the observed share of right reads, each step smoothed by Laplace's rule so that a
    step of n reads all right says (n + 1) / (n + 2), never 1. The threshold is the lowest probability whose
    accepted reads are, on these rows, at least target_precision right by the same rule."""
    x = np.array([feature_vector(e, names) for e, _ in rows])
    y = np.array([float(ok) for _, ok in rows])
    design = np.hstack([x, np.ones((len(x), 1))])
    beta = np.zeros(design.shape[1])
    penalty = l2 * np.eye(design.shape[1])
    penalty[-1, -1] = 0.0
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ beta, -30, 30)))
        gradient = design.T @ (p - y) + penalty @ beta
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    scores = design @ beta
    model = Model(names, tuple(float(w) for w in beta[:-1]), float(beta[-1]), 1.0, isotonic_steps(scores, y))
    return Model(names, model.weights, model.bias, accept_threshold(model, rows, target_precision), model.steps)


def isotonic_steps(scores: np.ndarray, outcomes: np.ndarray) -> tuple[tuple[float, float], ...]:
    """Pool adjacent violators over reads sorted by score: (upper score bound of the step, smoothed share
    right). A bound lies halfway to the next step's lowest score, so rounding never moves a read across it."""
    order = np.argsort(scores, kind="stable")
    blocks: list[list[float]] = []  # [right, count, lowest score, highest score]
    for score, right in zip(scores[order], outcomes[order]):
        blocks.append([float(right), 1.0, float(score), float(score)])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] >= blocks[-1][0] / blocks[-1][1]:
            right_sum, count, _, top = blocks.pop()
            blocks[-1][0] += right_sum
            blocks[-1][1] += count
            blocks[-1][3] = top
    bounds = [(block[3] + following[2]) / 2 for block, following in zip(blocks, blocks[1:])] + [float("inf")]
    return tuple((bound, round((right + 1.0) / (count + 2.0), 4)) for bound, (right, count, _, _) in zip(bounds, blocks))


def accept_threshold(model: Model, rows: list[tuple[Evidence, bool]], target: float) -> float:
    """Lowest probability above which reads are right at least `target` of the time (Laplace-smoothed)."""
    scored = sorted(((model.probability(e), ok) for e, ok in rows), key=lambda item: -item[0])
    best, right = 1.0, 0
    for count, (p, ok) in enumerate(scored, 1):
        right += ok
        following = scored[count][0] if count < len(scored) else -1.0
        if following < p and (right + 1) / (count + 2) >= target:  # only whole steps can be accepted
            best = p
    return best


def save(calibration: Calibration, path: Path = CALIBRATION_PATH, *, note: str = "") -> None:
    data = {"note": note}
    for key in ("name", "field"):
        model: Model = getattr(calibration, key)
        data[key] = {"features": dict(zip(model.features, model.weights)), "bias": model.bias,
                     "accept_at": model.accept_at, "steps": [[b if math.isfinite(b) else "inf", p] for b, p in model.steps]}
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


@cache
def load(path: Path = CALIBRATION_PATH) -> Calibration:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SetupError(f"{path} is missing or damaged ({exc}): reinstall the package, or rebuild it with "
                         "'make calibrate'") from exc
    models = {}
    for key in ("name", "field"):
        entry = data[key]
        names = tuple(entry["features"])
        steps = tuple((float(b), float(p)) for b, p in entry.get("steps", ()))
        models[key] = Model(names, tuple(float(entry["features"][n]) for n in names), float(entry["bias"]),
                            float(entry["accept_at"]), steps)
    return Calibration(models["name"], models["field"])
