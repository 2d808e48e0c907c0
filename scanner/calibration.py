"""A calibrated probability that a read is exactly right, from the recognizer's evidence.

A logistic regression (fit by Newton's method with a light L2 penalty) over a few features of the evidence:
the weakest character's probability, the text's likelihood per character, how many models agree, the margin
over the best other candidate, how much of the name the lists know, whether it looks like a name, contrast.
It is fit on one split of writers (fonts) and reported on another (`bench/calibrate.py`); the coefficients and
the auto-accept threshold live in `scanner/calibration.json`, written by that script, never by hand.
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
NAME_FEATURES = ("log_min_char_prob", "mean_log_prob", "agreement", "third_model_asked", "margin", "known_share",
                 "looks_like_name", "changed_by_prior", "contrast", "length")
FIELD_FEATURES = ("log_min_char_prob", "mean_log_prob", "agreement", "contrast", "length")


@dataclass(frozen=True)
class Model:
    """Weights over named features, and the auto-accept threshold chosen on the calibration split."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    accept_at: float

    def probability(self, evidence: Evidence) -> float:
        if not evidence.text:
            return 0.0
        x = feature_vector(evidence, self.features)
        z = float(np.dot(self.weights, x) + self.bias)
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
        "third_model_asked": float(e.models_run > 2),
        "margin": min(e.margin, 20.0) / 10.0,
        "known_share": e.known_parts / max(e.parts, 1),
        "looks_like_name": float(looks_like_name(e.text)),
        "changed_by_prior": float(e.changed_by_prior),
        "contrast": e.contrast,
        "length": min(len(e.text), 40) / 20.0,
    }
    return np.array([values[n] for n in names], dtype=np.float64)


def fit(rows: list[tuple[Evidence, bool]], names: tuple[str, ...], *, l2: float = 1.0,
        target_precision: float = 0.99) -> Model:
    """Logistic regression by Newton's method (IRLS), then the lowest threshold whose accepted reads are
    at least target_precision right on these rows, judged both by the outcome and by the mean prediction."""
    x = np.array([feature_vector(e, names) for e, _ in rows])
    y = np.array([float(ok) for _, ok in rows])
    design = np.hstack([x, np.ones((len(x), 1))])
    beta = np.zeros(design.shape[1])
    penalty = l2 * np.eye(design.shape[1])
    penalty[-1, -1] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ beta, -30, 30)))
        gradient = design.T @ (p - y) + penalty @ beta
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    model = Model(names, tuple(float(w) for w in beta[:-1]), float(beta[-1]), 1.0)
    return Model(names, model.weights, model.bias, accept_threshold(model, rows, target_precision))


def accept_threshold(model: Model, rows: list[tuple[Evidence, bool]], target: float) -> float:
    """Lowest probability above which reads are right at least `target` of the time (and predicted to be)."""
    scored = sorted(((model.probability(e), ok) for e, ok in rows), key=lambda item: -item[0])
    best = 1.0
    right = 0
    predicted = 0.0
    for count, (p, ok) in enumerate(scored, 1):
        right += ok
        predicted += p
        if right / count >= target and predicted / count >= target:
            best = p
    return best


def save(calibration: Calibration, path: Path = CALIBRATION_PATH, *, note: str = "") -> None:
    data = {"note": note}
    for key in ("name", "field"):
        model: Model = getattr(calibration, key)
        data[key] = {"features": dict(zip(model.features, model.weights)), "bias": model.bias,
                     "accept_at": model.accept_at}
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
        models[key] = Model(names, tuple(float(entry["features"][n]) for n in names), float(entry["bias"]),
                            float(entry["accept_at"]))
    return Calibration(models["name"], models["field"])
