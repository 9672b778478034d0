"""Interest vector with recency decay, and the decision to regenerate (cold start, drift, cooldown). Pure numpy.

State shape (stored in the ``users`` table by ``streams/packing.py``):
``{"vector": array | None, "updated_ts": ms, "events": n, "generated_vector": array | None, "generated_ts": ms | None}``
The vectors are float32 numpy arrays, never changed in place: every update makes a new one, so a copy of the state
may share them (``streams/user_state.py: copy_user``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LN2 = math.log(2.0)


@dataclass(frozen=True)
class DriftPolicy:
    half_life_s: float
    cold_start_min_events: int
    threshold: float
    cooldown_s: float


@dataclass(frozen=True)
class Decision:
    regenerate: bool
    reason: str  # "COLD_START" | "DRIFT" | "" when not regenerating
    drift: float  # cosine distance to the vector at the last generation (1.0 before any generation)
    why_not: str = ""  # "warming_up" | "below_threshold" | "cooldown" when not regenerating


def new_state() -> dict:
    return {"vector": None, "updated_ts": None, "events": 0, "generated_vector": None, "generated_ts": None}


def decay_factor(elapsed_ms: float, half_life_s: float) -> float:
    """Weight left after ``elapsed_ms`` of event time; events arriving out of order (negative) are not boosted."""
    return math.exp(-LN2 * max(elapsed_ms, 0.0) / 1000.0 / half_life_s)


def update_vector(state: dict, embedding: np.ndarray, ts: int, weight: float, half_life_s: float) -> None:
    """Fold one signal's unit embedding into the unnormalised, recency-decayed sum."""
    embedding = np.asarray(embedding, dtype=np.float32)
    if state["vector"] is None:
        vector = weight * embedding
        state["updated_ts"] = ts
    else:
        vector = np.asarray(state["vector"], dtype=np.float32)
        if ts >= state["updated_ts"]:
            vector = vector * decay_factor(ts - state["updated_ts"], half_life_s) + weight * embedding
            state["updated_ts"] = ts
        else:  # a late event: decay its own contribution instead of the whole sum
            vector = vector + weight * decay_factor(state["updated_ts"] - ts, half_life_s) * embedding
    state["vector"] = vector
    state["events"] += 1


def unit(vector) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32)
    norm = float(np.sqrt(np.dot(v, v)))  # what np.linalg.norm computes, without its checks (they cost more here)
    return v / norm if norm > 0 else v


def cosine_distance(a, b) -> float:
    return float(1.0 - np.dot(unit(a), unit(b)))


def decide(state: dict, policy: DriftPolicy) -> Decision:
    """Should this user's queries be regenerated now (at event time ``state['updated_ts']``)?"""
    if state["vector"] is None:
        return Decision(False, "", 0.0, "warming_up")
    if state["generated_vector"] is None:
        if state["events"] >= policy.cold_start_min_events:
            return Decision(True, "COLD_START", 1.0)
        return Decision(False, "", 1.0, "warming_up")
    drift = cosine_distance(state["vector"], state["generated_vector"])
    if drift < policy.threshold:
        return Decision(False, "", drift, "below_threshold")
    if state["updated_ts"] - state["generated_ts"] < policy.cooldown_s * 1000:
        return Decision(False, "", drift, "cooldown")
    return Decision(True, "DRIFT", drift)


def mark_generated(state: dict) -> None:
    """Remember the vector a generation was requested for; drift is measured from it."""
    state["generated_vector"] = np.array(state["vector"], dtype=np.float32)
    state["generated_ts"] = state["updated_ts"]
