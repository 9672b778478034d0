"""How a user's record (``streams/user_state.py``) is stored in the changelog-backed ``users`` table: MessagePack
bytes, the two 384-float vectors as little-endian float32 bytes (1.5 KB each). Every table write is also a changelog
record, so this is the volume the worker sends per user and micro-batch (``docs/results/2026-12-04-stream-state.md``:
about a quarter smaller than the JSON with base64 vectors it replaces, and packed and read back in half the time);
the vectors are float32 in memory already (``streams/drift.py``), so packing loses nothing. History items are stored
as lists of their fields (``ITEM_FIELDS``), without the field names.

Records written before (JSON, with the vectors as base64 strings or as plain number lists) still read, so existing
changelogs recover unchanged; the next write of a user stores the new form.
"""

from __future__ import annotations

import base64
import json
from operator import itemgetter

import msgpack
import numpy as np

VECTORS = ("vector", "generated_vector")
# a history item is stored as the list of these fields, in this order (its domain is the key it is filed under):
# the field names were a fifth of a record's bytes. An item with other fields is stored as its dict
ITEM_FIELDS = ("event_id", "kind", "text", "ts", "item_id", "platform", "dwell_ms")
_item_values = itemgetter(*ITEM_FIELDS)


def _pack_item(item: dict, domain: str) -> tuple | dict:
    if len(item) == len(ITEM_FIELDS) + 1 and item.get("domain") == domain:
        try:
            return _item_values(item)  # exactly the fields and the domain: a tuple (MessagePack stores an array)
        except KeyError:
            pass
    return item


def _unpack_item(stored, domain: str) -> dict:
    if isinstance(stored, list):
        item = dict(zip(ITEM_FIELDS, stored))
        item["domain"] = domain
        return item
    return stored


def _to_bytes(vector) -> bytes | None:
    return None if vector is None else np.asarray(vector, dtype="<f4").tobytes()


def _from_stored(stored) -> np.ndarray | None:
    """A float32 vector from any stored form: float32 bytes, base64 of them (JSON records), a number list. An array
    read from bytes is read-only (the state's vectors are never changed in place, ``streams/drift.py``)."""
    if stored is None:
        return None
    if isinstance(stored, list):
        return np.asarray(stored, dtype=np.float32)
    raw = stored if isinstance(stored, (bytes, bytearray)) else base64.b64decode(stored)
    return np.frombuffer(raw, dtype="<f4")


def pack_user(user: dict) -> bytes:
    """The table value of a user record."""
    interest = user["interest"]
    history = {domain: [_pack_item(item, domain) for item in items] for domain, items in user["history"].items()}
    return msgpack.packb({**user, "history": history,
                          "interest": {**interest, **{k: _to_bytes(interest.get(k)) for k in VECTORS}}})


def unpack_user(stored) -> dict | None:
    """The user record of a table value: MessagePack bytes, or a record written before as JSON (bytes or the
    decoded dict); None stays None."""
    if stored is None:
        return None
    if isinstance(stored, (bytes, bytearray, memoryview)):
        stored = bytes(stored)
        stored = json.loads(stored) if stored[:1] == b"{" else msgpack.unpackb(stored)
    interest = stored.get("interest")
    if interest is not None:
        interest = {**interest, **{k: _from_stored(interest.get(k)) for k in VECTORS}}
    out = {**stored, "interest": interest}
    if isinstance(stored.get("history"), dict):
        out["history"] = {domain: [_unpack_item(item, domain) for item in items]
                          for domain, items in stored["history"].items()}
    return out
