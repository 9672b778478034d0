"""The agents count into the worker's Prometheus metrics (under ``agent.test_context()``, FAKE hashing embedder)."""

from __future__ import annotations

import time

from prometheus_client import generate_latest

from schemas import default_codec
from streams import scrape
from tests.conftest import click, search, social
from tests.streams.test_agents import parts  # noqa: F401  (the fixture)


def samples(parts):  # noqa: F811
    return scrape.parse(generate_latest(parts.metrics.registry).decode())


async def test_ingest_counts_events_in_forwarded_and_dead_lettered_by_reason(parts):  # noqa: F811
    codec = default_codec()
    async with parts.ingest.test_context() as agent:
        await agent.put(codec.encode("click_event", click(user="alice")), key=b"alice")
        await agent.put(b"\x00garbage", key=b"x")
        await agent.put(b"\x00more garbage", key=b"y")
    s = samples(parts)
    assert scrape.value(s, "interests_stream_events_in_total") == 3
    assert scrape.value(s, "interests_stream_events_forwarded_total") == 1
    assert scrape.value(s, "interests_stream_dead_lettered_total", reason="bad_header") == 2


async def test_track_counts_updates_duplicates_regenerations_and_freshness(parts):  # noqa: F811
    codec = default_codec()
    now = int(time.time() * 1000)
    third = social(user="carol", ts=now - 2_000)
    async with parts.track.test_context() as agent:
        await agent.put(codec.encode("click_event", click(user="carol", ts=now - 2_000)), key=b"carol")
        await agent.put(codec.encode("search_event", search(user="carol", ts=now - 2_000)), key=b"carol")
        await agent.put(codec.encode("social_event", third), key=b"carol")
        await agent.put(codec.encode("social_event", third), key=b"carol")  # redelivered
    s = samples(parts)
    assert scrape.value(s, "interests_stream_history_updates_total") == 3
    assert scrape.value(s, "interests_stream_duplicates_total") == 1
    assert scrape.value(s, "interests_stream_regenerations_requested_total", reason="COLD_START") == 1
    freshness = scrape.buckets(s, "interests_stream_update_freshness_seconds")
    assert freshness[-1][1] == 3
    assert 1.5 <= scrape.quantile(0.5, freshness) <= 10  # events stamped two seconds ago
    assert scrape.value(s, "interests_stream_last_update_timestamp_seconds") >= now / 1000
    assert scrape.value(s, "interests_stream_batch_seconds_count") >= 3
