"""Interest vector with recency decay and the regenerate decision (cold start, drift, cooldown). Pure numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from streams.drift import (Decision, DriftPolicy, cosine_distance, decay_factor, decide, mark_generated, new_state,
                           unit, update_vector)

HALF_LIFE_S = 3600.0
HALF_LIFE_MS = int(HALF_LIFE_S * 1000)
T0 = 1_700_000_000_000
POLICY = DriftPolicy(half_life_s=HALF_LIFE_S, cold_start_min_events=3, threshold=0.25, cooldown_s=600.0)
SPORT = np.array([1.0, 0.0, 0.0], dtype=np.float32)
FINANCE = np.array([0.0, 1.0, 0.0], dtype=np.float32)
TECH = np.array([0.0, 0.0, 1.0], dtype=np.float32)


def feed(state, embedding, ts, n=1, weight=1.0, step_ms=1_000):
    for i in range(n):
        update_vector(state, embedding, ts + i * step_ms, weight, HALF_LIFE_S)


def warm_state(n=3, embedding=SPORT, ts=T0) -> dict:
    state = new_state()
    feed(state, embedding, ts, n)
    return state


def test_decay_factor_is_one_at_zero_and_halves_every_half_life():
    assert decay_factor(0, HALF_LIFE_S) == 1.0
    assert decay_factor(HALF_LIFE_MS, HALF_LIFE_S) == pytest.approx(0.5)
    assert decay_factor(2 * HALF_LIFE_MS, HALF_LIFE_S) == pytest.approx(0.25)
    assert decay_factor(HALF_LIFE_MS / 2, HALF_LIFE_S) == pytest.approx(1 / math.sqrt(2))


def test_decay_factor_never_boosts_negative_elapsed_time():
    assert decay_factor(-HALF_LIFE_MS, HALF_LIFE_S) == 1.0


def test_new_state_is_empty_and_its_vector_a_float32_array_made_anew_at_each_update():
    state = new_state()
    assert state == {"vector": None, "updated_ts": None, "events": 0, "generated_vector": None, "generated_ts": None}
    feed(state, SPORT, T0)
    first = state["vector"]
    assert isinstance(first, np.ndarray) and first.dtype == np.float32
    feed(state, SPORT, T0 + 1000)
    assert state["vector"] is not first and first == pytest.approx(SPORT)  # the old array is untouched


def test_first_update_sets_the_weighted_vector_and_time():
    state = new_state()
    update_vector(state, SPORT, T0, 0.5, HALF_LIFE_S)
    assert state["vector"] == pytest.approx([0.5, 0.0, 0.0])
    assert (state["updated_ts"], state["events"]) == (T0, 1)


def test_update_decays_the_old_sum_before_adding():
    state = new_state()
    update_vector(state, SPORT, T0, 1.0, HALF_LIFE_S)
    update_vector(state, FINANCE, T0 + HALF_LIFE_MS, 1.0, HALF_LIFE_S)
    assert state["vector"] == pytest.approx([0.5, 1.0, 0.0])
    assert (state["updated_ts"], state["events"]) == (T0 + HALF_LIFE_MS, 2)


def test_older_signal_weighs_less_so_the_vector_points_to_the_newer_topic():
    state = new_state()
    update_vector(state, SPORT, T0, 1.0, HALF_LIFE_S)
    update_vector(state, FINANCE, T0 + 2 * HALF_LIFE_MS, 1.0, HALF_LIFE_S)
    direction = unit(state["vector"])
    assert direction[1] > direction[0] > 0
    assert cosine_distance(state["vector"], FINANCE) < cosine_distance(state["vector"], SPORT)


def test_weight_scales_a_signals_contribution():
    state = new_state()
    update_vector(state, SPORT, T0, 0.5, HALF_LIFE_S)
    update_vector(state, FINANCE, T0, 1.0, HALF_LIFE_S)
    assert state["vector"] == pytest.approx([0.5, 1.0, 0.0])


def test_late_event_is_decayed_by_its_own_age_and_does_not_boost():
    state = new_state()
    update_vector(state, SPORT, T0 + HALF_LIFE_MS, 1.0, HALF_LIFE_S)
    update_vector(state, FINANCE, T0, 1.0, HALF_LIFE_S)  # one half-life late
    assert state["vector"] == pytest.approx([1.0, 0.5, 0.0])
    assert state["updated_ts"] == T0 + HALF_LIFE_MS  # the clock does not move back
    assert state["events"] == 2


def test_late_and_in_order_arrivals_give_the_same_vector():
    in_order, late = new_state(), new_state()
    for state, order in [(in_order, [(SPORT, T0), (FINANCE, T0 + HALF_LIFE_MS)]),
                         (late, [(FINANCE, T0 + HALF_LIFE_MS), (SPORT, T0)])]:
        for embedding, ts in order:
            update_vector(state, embedding, ts, 1.0, HALF_LIFE_S)
    assert late["vector"] == pytest.approx(in_order["vector"])
    assert late["updated_ts"] == in_order["updated_ts"]


def test_cosine_distance_of_same_orthogonal_and_opposite_vectors():
    assert cosine_distance(SPORT, 3 * SPORT) == pytest.approx(0.0, abs=1e-6)
    assert cosine_distance(SPORT, FINANCE) == pytest.approx(1.0)
    assert cosine_distance(SPORT, -SPORT) == pytest.approx(2.0)


def test_unit_normalises_and_leaves_the_zero_vector_alone():
    assert np.linalg.norm(unit([3.0, 4.0])) == pytest.approx(1.0)
    assert unit([0.0, 0.0]).tolist() == [0.0, 0.0]


def test_decide_on_an_empty_state_is_warming_up():
    assert decide(new_state(), POLICY) == Decision(False, "", 0.0, "warming_up")


def test_decide_is_warming_up_before_cold_start_min_events():
    for n in range(1, POLICY.cold_start_min_events):
        decision = decide(warm_state(n), POLICY)
        assert (decision.regenerate, decision.why_not, decision.drift) == (False, "warming_up", 1.0)


def test_decide_cold_start_at_min_events():
    decision = decide(warm_state(POLICY.cold_start_min_events), POLICY)
    assert decision == Decision(True, "COLD_START", 1.0)
    assert decision.why_not == ""


def test_mark_generated_remembers_a_copy_of_the_vector_and_time():
    state = warm_state()
    mark_generated(state)
    assert state["generated_vector"].tolist() == state["vector"].tolist()
    assert state["generated_vector"] is not state["vector"]
    assert state["generated_ts"] == state["updated_ts"]


def test_decide_below_threshold_after_generation_with_a_similar_vector():
    state = warm_state()
    mark_generated(state)
    feed(state, SPORT + 0.1 * FINANCE, T0 + HALF_LIFE_MS)
    decision = decide(state, POLICY)
    assert (decision.regenerate, decision.reason, decision.why_not) == (False, "", "below_threshold")
    assert 0.0 <= decision.drift < POLICY.threshold


def test_drift_triggers_after_topic_switch():
    state = warm_state()
    mark_generated(state)
    feed(state, FINANCE, T0 + 5 * HALF_LIFE_MS, n=3)  # well past the cooldown, old topic decayed away
    decision = decide(state, POLICY)
    assert (decision.regenerate, decision.reason, decision.why_not) == (True, "DRIFT", "")
    assert decision.drift >= POLICY.threshold
    assert decision.drift == pytest.approx(cosine_distance(state["vector"], SPORT))


def test_topic_switch_within_the_cooldown_is_held_back():
    state = warm_state()
    mark_generated(state)
    generated_ts = state["generated_ts"]
    feed(state, FINANCE, generated_ts + 1_000, n=5, weight=10.0)
    decision = decide(state, POLICY)
    assert (decision.regenerate, decision.why_not) == (False, "cooldown")
    assert decision.drift >= POLICY.threshold


def test_cooldown_ends_exactly_after_cooldown_s_of_event_time():
    state = warm_state()
    mark_generated(state)
    cooldown_ms = int(POLICY.cooldown_s * 1000)
    feed(state, FINANCE, state["generated_ts"] + cooldown_ms - 1, weight=10.0)
    assert decide(state, POLICY).why_not == "cooldown"
    feed(state, FINANCE, state["generated_ts"] + cooldown_ms, weight=10.0)
    assert decide(state, POLICY).reason == "DRIFT"


def test_after_a_drift_generation_the_new_topic_is_the_baseline():
    state = warm_state()
    mark_generated(state)
    feed(state, FINANCE, T0 + 5 * HALF_LIFE_MS, n=3)
    assert decide(state, POLICY).reason == "DRIFT"
    mark_generated(state)
    feed(state, FINANCE, T0 + 6 * HALF_LIFE_MS)
    assert decide(state, POLICY).why_not == "below_threshold"
    feed(state, TECH, T0 + 12 * HALF_LIFE_MS, n=3)
    assert decide(state, POLICY).reason == "DRIFT"
