"""The user record's table form: MessagePack bytes, vectors as float32 bytes, read back exactly, and records written
before as JSON (base64 vectors or plain lists) still read."""

from __future__ import annotations

import base64
import json

import numpy as np

from streams import consent, drift, packing, user_state
from streams.events import Signal
from tests.conftest import plain

TS = 1_700_000_000_000


def full_user() -> dict:
    user = user_state.new_user()
    rng = np.random.default_rng(0)
    rules = user_state.Rules(max_items=50, max_age_s=86400 * 30, half_life_s=3600, weights={"click": 1.0,
                             "search": 1.0, "social": 0.8, "browse": 0.5})
    for i, domain in enumerate(["click", "search", "social", "browse", "click"]):
        signal = Signal(f"e{i}", "u1", domain, domain, f"text {i}", TS + i, "a1" if domain == "click" else None,
                        "twitter" if domain == "social" else None, 1500 if domain == "browse" else None)
        user_state.add(user, signal, rng.standard_normal(384).astype(np.float32), rules)
    drift.mark_generated(user["interest"])
    consent.apply(user["consent"], ["social"], False, TS + 10, consent.GRANTED)
    user["deleted_before"] = TS - 5
    return user


def test_a_user_record_round_trips_exactly_and_is_a_fraction_of_its_json():
    user = full_user()
    packed = packing.pack_user(user)
    assert isinstance(packed, bytes)
    unpacked = packing.unpack_user(packed)
    assert plain(unpacked) == plain(user)  # exact: the vectors are float32 already
    assert unpacked["interest"]["vector"].dtype == np.float32
    vectors = {k: base64.b64encode(np.asarray(user["interest"][k], dtype="<f4").tobytes()).decode()
               for k in ("vector", "generated_vector")}
    # the form before: JSON, base64 vectors
    before = len(json.dumps(plain({**user, "interest": {**user["interest"], **vectors}})).encode())
    assert len(packed) < 0.85 * before, (len(packed), before)
    fresh = user_state.new_user()
    assert plain(packing.unpack_user(packing.pack_user(fresh))) == plain(fresh)


def test_records_written_before_as_json_still_read():
    user = full_user()
    as_lists = json.dumps(plain(user)).encode()  # the first form: vectors as number lists
    as_base64 = {**user, "interest": {**user["interest"], **{
        k: base64.b64encode(np.asarray(user["interest"][k], dtype="<f4").tobytes()).decode()
        for k in ("vector", "generated_vector")}}}
    assert plain(packing.unpack_user(as_lists)) == plain(user)
    assert plain(packing.unpack_user(json.dumps(plain(as_base64)).encode())) == plain(user)
    assert plain(packing.unpack_user(as_base64)) == plain(user) and packing.unpack_user(None) is None


def test_history_items_are_stored_without_field_names_and_odd_items_as_they_are():
    import msgpack

    user = full_user()
    stored = msgpack.unpackb(packing.pack_user(user))
    first = stored["history"]["click"][0]
    assert first == [user["history"]["click"][0][name] for name in packing.ITEM_FIELDS]
    assert "user_id" not in user["history"]["click"][0]  # the record's key, not part of each item
    odd = {**user, "history": {**user["history"], "search": [{**user["history"]["search"][0], "extra": 1}]}}
    assert plain(packing.unpack_user(packing.pack_user(odd))) == plain(odd)  # stored as its dict
    older = {**user, "history": {"click": [{**user["history"]["click"][0], "user_id": "u1"}]}}  # items before
    assert plain(packing.unpack_user(packing.pack_user(older))) == plain(older)
