"""The bounded mapping both tracking caches keep: least recently used out first, reads count as use."""

from __future__ import annotations

import pytest

from streams.lru import LRU


def test_reads_and_writes_make_a_key_recent_and_the_oldest_goes():
    lru = LRU(2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1  # a is now the most recent
    lru.put("c", 3)  # b goes
    assert (lru.get("b"), lru.get("a"), lru.get("c"), len(lru)) == (None, 1, 3, 2)
    assert lru.pop("a") == 1 and lru.pop("a") is None and len(lru) == 1


def test_size_zero_keeps_nothing_and_a_negative_size_names_the_setting():
    lru = LRU(0)
    lru.put("a", 1)
    assert lru.get("a") is None and len(lru) == 0
    with pytest.raises(ValueError, match="the text cache size must be >= 0"):
        LRU(-1, "the text cache size")
