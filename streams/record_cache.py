"""The user records the tracking agent has already unpacked, so a user active in batch after batch is unpacked once,
not once per batch.

The ``users`` table keeps each record as MessagePack bytes (``streams/packing.py``). Unpacking them was the largest
single cost of the tracking logic in the load benchmark's profile. This cache remembers, per user, the bytes object
the agent itself last wrote and the record it packed into them. A read is served from the cache only while the table
still holds *that very object* (an identity check, not a comparison): a record restored from the changelog after a
rebalance, written by another path or deleted is a new object or none, so it is unpacked again. The cache can
therefore never serve a record the table does not hold; it only skips the work of reading it.

Records handed out are shared: callers must not change them (the tracking logic copies a record before changing it,
``streams/user_state.py: copy_user``). Bounded by entries, least recently used out first, so memory stays flat.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable


class RecordCache:
    """User id -> (stored bytes, unpacked record), at most ``max_users`` of them (0 disables the cache)."""

    def __init__(self, max_users: int, unpack: Callable[[Any], "dict | None"]):
        if max_users < 0:
            raise ValueError(f"max_users must be >= 0, got {max_users}")
        self.max_users, self.unpack = max_users, unpack
        self._entries: OrderedDict[str, tuple[Any, dict]] = OrderedDict()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def read(self, user_id: str, stored) -> dict | None:
        """The record of ``stored`` (what the table holds for ``user_id`` now), from the cache when it is the object
        the cache remembers for that user, unpacked otherwise."""
        entry = self._entries.get(user_id)
        if entry is not None and stored is not None and entry[0] is stored:
            self._entries.move_to_end(user_id)
            self.hits += 1
            return entry[1]
        self.misses += 1
        record = self.unpack(stored)
        if entry is not None:  # the table moved on without us (restore, another writer): forget the old pair
            del self._entries[user_id]
        return record

    def wrote(self, user_id: str, stored, record: dict) -> None:
        """``stored`` (the bytes just written to the table) is ``record`` packed; ``record`` is not changed after."""
        if not self.max_users:
            return
        self._entries[user_id] = (stored, record)
        self._entries.move_to_end(user_id)
        while len(self._entries) > self.max_users:
            self._entries.popitem(last=False)

    def forget(self, user_ids) -> None:
        """Drop these users' entries (a batch that failed part way may have left their records changed)."""
        for user_id in user_ids:
            self._entries.pop(user_id, None)
