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

from typing import Any, Callable

from streams.lru import LRU


class RecordCache:
    """User id -> (stored bytes, unpacked record), at most ``max_users`` of them (0 disables the cache)."""

    def __init__(self, max_users: int, unpack: Callable[[Any], "dict | None"]):
        self.unpack = unpack
        self._entries: LRU[str, tuple[Any, dict]] = LRU(max_users, "max_users")
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def read(self, user_id: str, stored) -> dict | None:
        """The record of ``stored`` (what the table holds for ``user_id`` now), from the cache when it is the object
        the cache remembers for that user, unpacked otherwise."""
        entry = self._entries.get(user_id)
        if entry is not None and stored is not None and entry[0] is stored:
            self.hits += 1
            return entry[1]
        self.misses += 1
        if entry is not None:  # the table moved on without us (restore, another writer): forget the old pair
            self._entries.pop(user_id)
        return self.unpack(stored)

    def wrote(self, user_id: str, stored, record: dict) -> None:
        """``stored`` (the bytes just written to the table) is ``record`` packed; ``record`` is not changed after."""
        self._entries.put(user_id, (stored, record))

    def forget(self, user_ids) -> None:
        """Drop these users' entries (a batch that failed part way may have left their records changed)."""
        for user_id in user_ids:
            self._entries.pop(user_id)
