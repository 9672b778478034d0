"""How a user's record is packed for the changelog-backed ``users`` table (the record itself is
``streams/user_state.py``): the two 384-float vectors as base64 of
little-endian float32 (about 2 KB each) instead of JSON number lists (about 8 KB each, and the slowest part of
serialising the state). Every table write is also a changelog record, so this is the volume the worker sends per
event. The vectors are float32 in memory already (``streams/drift.py``), so packing loses nothing.

``unpack`` also reads states written before packing (plain lists), so existing changelogs recover unchanged.
"""

from __future__ import annotations

import base64

import numpy as np

VECTORS = ("vector", "generated_vector")


def pack_vector(vector) -> str | None:
    if vector is None:
        return None
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")


def unpack_vector(stored) -> list[float] | None:
    if stored is None or isinstance(stored, list):
        return stored
    return np.frombuffer(base64.b64decode(stored), dtype="<f4").tolist()


def pack(state: dict) -> dict:
    """The table form of a ``drift`` state."""
    return {**state, **{k: pack_vector(state.get(k)) for k in VECTORS}}


def unpack(stored: dict | None) -> dict | None:
    """The ``drift`` state of a table value (None stays None)."""
    if stored is None:
        return None
    return {**stored, **{k: unpack_vector(stored.get(k)) for k in VECTORS}}


def pack_user(user: dict) -> dict:
    """The table form of a user record: its interest state packed, everything else as it is."""
    return {**user, "interest": pack(user["interest"])}


def unpack_user(stored: dict | None) -> dict | None:
    """The user record of a table value (None stays None); records written before packing read unchanged."""
    if stored is None:
        return None
    return {**stored, "interest": unpack(stored.get("interest"))}
