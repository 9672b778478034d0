"""``user_state.copy_user`` is a deep copy for the record's shape: equal, and nothing done to the copy reaches the
original (the tracking agent relies on it to change a batch's records before writing them)."""

from __future__ import annotations

import copy

import numpy as np

from streams import consent, drift, user_state
from streams.events import Signal
from tests.conftest import plain

RULES = user_state.Rules(max_items=3, max_age_s=14 * 86400, half_life_s=86400,
                         weights={"click": 1.0, "search": 1.0, "social": 0.8, "browse": 0.5})


def signal(i: int, domain: str = "click") -> Signal:
    return Signal(f"e{i}", "u1", domain, "click", f"text {i}", 1_700_000_000_000 + i * 1000, "a1", None, None)


def full_record() -> dict:
    user = user_state.new_user()
    rng = np.random.default_rng(0)
    for i in range(4):
        user_state.add(user, signal(i, ("click", "search")[i % 2]), rng.standard_normal(384).astype(np.float32), RULES)
    drift.mark_generated(user["interest"])
    consent.apply(user["consent"], ["social"], False, 1_700_000_000_000, RULES.consent_default)
    user["deleted_before"] = 1_600_000_000_000
    return user


def test_copy_equals_a_deep_copy():
    user = full_record()
    assert plain(user_state.copy_user(user)) == plain(copy.deepcopy(user))


def test_changing_the_copy_leaves_the_original_alone():
    user = full_record()
    before = copy.deepcopy(user)
    changed = user_state.copy_user(user)
    rng = np.random.default_rng(1)
    for i in range(10, 14):
        user_state.add(changed, signal(i), rng.standard_normal(384).astype(np.float32), RULES)
    drift.mark_generated(changed["interest"])
    changed["history"]["click"][0]["text"] = "edited in place"
    changed["interest"]["vector"][0] = 99.0
    consent.apply(changed["consent"], ["click"], False, 1_700_000_100_000, RULES.consent_default)
    changed["consent"]["social"]["at"] = 0
    user_state.revoke(changed, ["search"])
    user_state.delete(changed, 1_700_000_200_000)
    assert plain(user) == plain(before)
