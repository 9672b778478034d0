"""A user's record (history, interest vector, consent, deletion watermark) and a batch applied to records: the
properties the stream's at-least-once delivery relies on, checked over generated signal sequences."""

from __future__ import annotations

import copy

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.embeddings import HashEmbedder
from streams import user_state
from streams.events import ConsentChange, DeletionRequest, Signal
from streams.tracking import CONSENT_REVOKED, DELETION_REQUEST, apply_batch, candidates, decide, settle_revocations
from streams.drift import DriftPolicy
from tests.conftest import plain

T0 = 1_790_000_000_000
HOUR = 3_600_000
RULES = user_state.Rules(max_items=4, max_age_s=48 * 3600, half_life_s=86_400.0,
                         weights={"click": 1.0, "search": 1.0, "social": 0.8, "browse": 0.5})
EMBED = HashEmbedder(dim=16)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WORDS = ["arsenal", "chelsea", "rates", "inflation", "election", "storm", "vaccine", "chips"]


def signal(i: int, domain: str = "click", ts: int | None = None, user: str = "u1", text: str | None = None) -> Signal:
    return Signal(f"e{i}", user, domain, domain, text or f"{WORDS[i % len(WORDS)]} story {i}",
                  T0 + i * HOUR if ts is None else ts)


SIGNALS = st.lists(
    st.builds(lambda i, d, h: signal(i, d, T0 + h * HOUR // 4),
              st.integers(0, 40), st.sampled_from(["click", "search", "social", "browse"]), st.integers(0, 400)),
    max_size=30, unique_by=lambda s: (s.domain, s.event_id))


def fold(signals, record=None) -> dict:
    record = record or user_state.new_user()
    for s in signals:
        if user_state.admission(record, s, RULES) is None:
            user_state.add(record, s, EMBED.embed([s.text])[0], RULES)
    return record


@FUZZ
@given(SIGNALS, st.data())
def test_redelivering_any_signals_in_any_later_position_changes_nothing(signals, data):
    once = fold(signals)
    replayed = list(signals)
    for s in data.draw(st.lists(st.sampled_from(signals), max_size=10)) if signals else []:
        at = data.draw(st.integers(replayed.index(s) + 1, len(replayed)))  # a duplicate comes after its original
        replayed.insert(at, s)
    assert plain(fold(replayed)) == plain(once)


@FUZZ
@given(SIGNALS, st.randoms())
def test_the_history_window_does_not_depend_on_arrival_order(signals, rnd):
    shuffled = list(signals)
    rnd.shuffle(shuffled)
    assert fold(shuffled)["history"] == fold(signals)["history"]


@FUZZ
@given(st.lists(st.integers(0, 50), unique=True, max_size=12), st.randoms())
def test_the_interest_vector_does_not_depend_on_order_when_every_signal_is_kept(hours, rnd):
    rules = user_state.Rules(100, 10**9, RULES.half_life_s, RULES.weights)
    signals = [signal(h, ts=T0 + h * HOUR) for h in hours]
    shuffled = list(signals)
    rnd.shuffle(shuffled)
    a, b = user_state.new_user(), user_state.new_user()
    for record, order in ((a, signals), (b, shuffled)):
        for s in order:
            user_state.add(record, s, EMBED.embed([s.text])[0], rules)
    assert a["interest"]["events"] == b["interest"]["events"] == len(signals)
    if signals:
        np.testing.assert_allclose(a["interest"]["vector"], b["interest"]["vector"], rtol=1e-4, atol=1e-5)


def test_a_signal_pushed_out_of_the_window_and_redelivered_is_not_counted_again():
    signals = [signal(i) for i in range(6)]  # max_items 4: the two oldest leave the window
    record = fold(signals)
    before = copy.deepcopy(record)
    assert user_state.admission(record, signals[0], RULES) is None  # no longer in the history...
    assert user_state.add(record, signals[0], EMBED.embed([signals[0].text])[0], RULES) is False  # ...nor re-added
    assert plain(record) == plain(before)


def test_revoking_a_domain_removes_it_and_keeps_it_out():
    record = fold([signal(1, "click"), signal(2, "search"), signal(3, "search")])
    result = apply_batch([ConsentChange("c1", "u1", T0 + 10 * HOUR, ("search",), False), signal(11, "search"),
                          signal(12, "click")], lambda u: record, vectors_for([signal(11, "search"),
                                                                                signal(12, "click")]), RULES)
    user = result.users["u1"]
    assert user["history"]["search"] == [] and [s["event_id"] for s in user["history"]["click"]] == ["e12", "e1"]
    assert result.outcomes["no_consent"] == 1 and result.outcomes["added"] == 1
    assert record["history"]["search"], "the stored record is only changed by writing the result back"


def vectors_for(signals):
    return {s: v for s, v in zip(signals, EMBED.embed([s.text for s in signals]))}


def test_a_deletion_clears_the_record_and_refuses_what_came_before_it():
    record = fold([signal(1), signal(2, "search")])
    late_old, new = signal(3, ts=T0 + 5 * HOUR), signal(4, ts=T0 + 20 * HOUR)
    items = [signal(2, "search"), DeletionRequest("d1", "u1", T0 + 10 * HOUR), late_old, new]
    result = apply_batch(items, lambda u: record, vectors_for([late_old, new]), RULES)
    user = result.users["u1"]
    assert result.deletions == [("u1", DELETION_REQUEST, T0 + 10 * HOUR)]
    assert [s["event_id"] for items in user["history"].values() for s in items] == ["e4"]
    assert user["deleted_before"] == T0 + 10 * HOUR and user["interest"]["events"] == 1
    assert result.outcomes["deleted"] == 1


def test_a_revocation_that_empties_a_user_with_features_deletes_them():
    record = fold([signal(1, "social"), signal(2, "social"), signal(3, "social")])
    record["interest"]["generated_vector"] = list(record["interest"]["vector"])
    result = apply_batch([ConsentChange("c", "u1", T0 + 9 * HOUR, ("social",), False)], lambda u: record, {}, RULES)
    assert result.revoked == {"u1": T0 + 9 * HOUR}
    settle_revocations(result)
    assert result.deletions == [("u1", CONSENT_REVOKED, T0 + 9 * HOUR)]
    assert result.users["u1"]["interest"]["vector"] is None


def test_a_revocation_that_leaves_signals_forces_a_consent_regeneration():
    record = fold([signal(1, "social"), signal(2, "click"), signal(3, "social")])
    record["interest"]["generated_vector"] = list(record["interest"]["vector"])
    record["interest"]["generated_ts"] = record["interest"]["updated_ts"]
    result = apply_batch([ConsentChange("c", "u1", T0 + 9 * HOUR, ("social",), False)], lambda u: record, {}, RULES)
    user = result.users["u1"]
    kept = user_state.kept_signals(user)
    user_state.rebuild_interest(user, EMBED.embed([s["text"] for s in kept]), RULES)
    settle_revocations(result)
    assert result.deletions == [] and user["interest"]["events"] == 1
    decision = decide(user, DriftPolicy(RULES.half_life_s, 3, 0.25, 3600), revoked=True)
    assert decision.regenerate and decision.reason == "CONSENT"


def test_candidates_skip_what_the_stored_record_refuses_unless_privacy_changes_in_the_batch():
    record = fold([signal(1)])
    dup, fresh, other = signal(1), signal(2), signal(3, user="u2")
    assert candidates([dup, fresh, fresh], lambda u: record if u == "u1" else None, RULES) == [fresh]
    grant = ConsentChange("g", "u2", T0, ("click",), True)
    assert candidates([other, grant], lambda u: None, user_state.Rules(**{**RULES.__dict__,
                                                                         "consent_default": "denied"})) == [other]
