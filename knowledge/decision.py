"""Answer, ask, or say honestly that the catalogue does not hold it.

The search measures signals about its best candidates (similarities, agreement of the two
channels, margins, and how much of the question's key terms the candidates cover, see
``knowledge/coverage.py``). Two logistic models turn them into probabilities:

* ``p_right``: the first candidate is the procedure asked about;
* ``p_held``: the catalogue holds what is asked (one of the first three candidates).

``decide`` answers ``confident`` when ``p_right`` clears a threshold chosen so that
confident answers are right at least 95 % of the time on the calibration set,
``no_match`` when ``p_held`` is low, and ``ambiguous`` (a clarifying question) otherwise.
The coefficients and thresholds live in ``decision_model.json`` beside this module,
written by ``congdan eval --calibrate`` with a record of the data it was fitted on.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

Decision = Literal["confident", "ambiguous", "no_match"]
MODEL_FILE = Path(__file__).with_name("decision_model.json")
FEATURES = (
    "dense_top",
    "dense_first",
    "bm25_log",
    "agree",
    "fused_margin",
    "dense_margin",
    "cov_first",
    "cov_second",
    "cov_best",
    "uncovered_max",
    "unknown_share",
    "n_keys",
    "full_cover",
    "title_recall",
)


@dataclass(frozen=True)
class Logistic:
    """A fitted logistic regression over standardised ``FEATURES``."""

    coef: tuple[float, ...]
    intercept: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]

    def probability(self, signals: dict[str, float]) -> float:
        z = self.intercept
        for name, c, m, s in zip(FEATURES, self.coef, self.mean, self.scale, strict=True):
            z += c * (signals.get(name, 0.0) - m) / (s or 1.0)
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@dataclass(frozen=True)
class DecisionModel:
    right: Logistic
    held: Logistic
    confident_at: float  # p_right at or above: answer
    no_match_below: float  # p_held below: say the catalogue does not hold it
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DecisionModel:
        def logistic(d: dict[str, Any]) -> Logistic:
            return Logistic(tuple(d["coef"]), float(d["intercept"]), tuple(d["mean"]), tuple(d["scale"]))

        return cls(
            right=logistic(data["right"]),
            held=logistic(data["held"]),
            confident_at=float(data["confident_at"]),
            no_match_below=float(data["no_match_below"]),
            provenance=dict(data.get("provenance") or {}),
        )


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_FILE) -> DecisionModel:
    return DecisionModel.from_dict(json.loads(path.read_text(encoding="utf-8")))


def decide(signals: dict[str, float], model: DecisionModel | None = None) -> Decision:
    model = model or load_model()
    if model.right.probability(signals) >= model.confident_at:
        return "confident"
    if model.held.probability(signals) < model.no_match_below:
        return "no_match"
    return "ambiguous"
