"""The interest state's table form: float32 vectors packed as base64, read back exactly."""

from __future__ import annotations

import json

import numpy as np

from streams import drift, packing


def test_pack_then_unpack_gives_back_the_same_state_and_is_much_smaller():
    s = drift.new_state()
    rng = np.random.default_rng(0)
    for ts in range(5):
        drift.update_vector(s, rng.standard_normal(384).astype(np.float32), 1_700_000_000_000 + ts, 1.0, 3600)
    drift.mark_generated(s)
    packed = packing.pack(s)
    assert packing.unpack(json.loads(json.dumps(packed))) == s  # exact: the vectors are float32 already
    assert len(json.dumps(packed)) < len(json.dumps(s)) / 3


def test_unpack_reads_states_written_before_packing_and_none():
    legacy = {**drift.new_state(), "vector": [0.5, 0.25], "events": 2}
    assert packing.unpack(legacy) == legacy
    assert packing.unpack(None) is None
    assert packing.unpack(packing.pack(drift.new_state())) == drift.new_state()


def test_a_user_record_packs_only_its_interest_state():
    from streams import user_state

    user = user_state.new_user()
    drift.update_vector(user["interest"], np.ones(384, dtype=np.float32) / np.sqrt(384), 1_700_000_000_000, 1.0, 3600)
    user["history"]["click"].append({"event_id": "e1", "ts": 1_700_000_000_000, "text": "t"})
    packed = packing.pack_user(user)
    assert isinstance(packed["interest"]["vector"], str) and packed["history"] == user["history"]
    assert packing.unpack_user(json.loads(json.dumps(packed))) == user
    assert packing.unpack_user(user) == user and packing.unpack_user(None) is None  # unpacked records read as they are
