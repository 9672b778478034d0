"""A mapping bounded by entries, least recently used out first: what the tracking agent's caches keep
(``streams/record_cache.py``: unpacked user records; ``streams/catalogue.py``: free texts' vectors), so a worker's
memory stays flat however many users and texts pass through it."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, Hashable, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """At most ``max_entries`` pairs (0 keeps none); a read or a write makes its key the most recent."""

    def __init__(self, max_entries: int, what: str = "max_entries"):
        if max_entries < 0:
            raise ValueError(f"{what} must be >= 0, got {max_entries}")
        self.max_entries = max_entries
        self._entries: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        if not self.max_entries:
            return
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def pop(self, key: K) -> V | None:
        return self._entries.pop(key, None)
