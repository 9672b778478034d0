"""How a user's record (``streams/user_state.py``) is stored in the changelog-backed ``users`` table: MessagePack
bytes, the two 384-float vectors as little-endian float32 bytes (1.5 KB each). Every table write is also a changelog
record, so this is the volume the worker sends per user and micro-batch (``docs/results/2026-12-04-stream-state.md``:
about a quarter smaller than the JSON with base64 vectors it replaces, and packed and read back in half the time);
the vectors are float32 in memory already (``streams/drift.py``), so packing loses nothing.

Records written before (JSON, with the vectors as base64 strings or as plain number lists) still read, so existing
changelogs recover unchanged; the next write of a user stores the new form.
"""

from __future__ import annotations

import base64
import json

import msgpack
import numpy as np

VECTORS = ("vector", "generated_vector")


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
    return msgpack.packb({**user, "interest": {**interest, **{k: _to_bytes(interest.get(k)) for k in VECTORS}}})


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
    return {**stored, "interest": interest}
