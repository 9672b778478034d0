"""The tracking agent's cache of unpacked user records: served only while the table holds the very bytes the agent
wrote, bounded, least recently used out first."""

from __future__ import annotations

import pytest

from streams.record_cache import RecordCache


class Unpacker:
    def __init__(self):
        self.calls = 0

    def __call__(self, stored):
        self.calls += 1
        return None if stored is None else {"from": bytes(stored)}


def test_a_record_written_by_the_agent_is_read_back_without_unpacking():
    unpack = Unpacker()
    cache = RecordCache(10, unpack)
    record, stored = {"history": 1}, b"packed"
    cache.wrote("u1", stored, record)
    assert cache.read("u1", stored) is record and unpack.calls == 0
    assert (cache.hits, cache.misses) == (1, 0)


def test_other_bytes_in_the_table_are_unpacked_even_when_equal():
    unpack = Unpacker()
    cache = RecordCache(10, unpack)
    stored = bytes(bytearray(b"packed"))
    cache.wrote("u1", stored, {"stale": True})
    restored = bytes(bytearray(b"packed"))  # equal, but another object: e.g. recovered from the changelog
    assert restored == stored and restored is not stored
    assert cache.read("u1", restored) == {"from": b"packed"} and unpack.calls == 1
    assert cache.read("u1", restored) == {"from": b"packed"} and unpack.calls == 2  # the stale pair was dropped
    assert len(cache) == 0
    assert cache.read("u2", None) is None  # no record: nothing to serve


def test_the_cache_is_bounded_and_drops_the_least_recently_used():
    cache = RecordCache(2, Unpacker())
    a, b, c = b"a" * 3, b"b" * 3, b"c" * 3
    cache.wrote("a", a, {"a": 1})
    cache.wrote("b", b, {"b": 1})
    assert cache.read("a", a) == {"a": 1}  # a is now the most recent
    cache.wrote("c", c, {"c": 1})  # b goes
    assert len(cache) == 2
    assert cache.read("b", b) == {"from": b"bbb"} and cache.misses == 1
    cache.forget(["a", "zz"])
    assert cache.read("a", a) == {"from": b"aaa"}


def test_size_zero_keeps_nothing_and_a_negative_size_is_refused():
    unpack = Unpacker()
    cache = RecordCache(0, unpack)
    cache.wrote("u1", b"x", {"x": 1})
    assert cache.read("u1", b"x") == {"from": b"x"} and len(cache) == 0
    with pytest.raises(ValueError):
        RecordCache(-1, unpack)
