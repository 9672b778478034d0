"""Faults on the real parts: the local Kafka broker, the Faust worker and the generator worker as processes (key-phrase
generator, FAKE hashing embedder), the real Feast store (SQLite).

Each test replays copies of the shipped sample events for its own users, strikes one fault while they flow
(``kill -9`` of the Faust worker mid-replay, ``kill -9`` of the generator worker mid-batch, the broker stopped and
restarted mid-stream, the online store locked), and then requires, once the pipeline has settled:

* every user's record in the ``users`` table (read from its changelog, as a restarted worker restores it) equals the
  record computed from the events by the pure logic, each event applied once (duplicates harmless);
* every user has features in Feast; nothing is dead-lettered; no worker died except the one killed.

The counts each test measured are printed (``pytest -s``) and, with ``INTERESTS_FAULT_REPORT=FILE``, written as JSON
(``report_counts``).
"""

from __future__ import annotations

import time

import pytest

from streams.demo import wait_for_features
from tests.integration.conftest import (GENERATOR, STREAM, Replayer, StoreLock, assert_records_match, by_user,
                                        end_offsets, expected_records, generator_stats, lag, log_count, read_table,
                                        read_topic, report_counts, sample_copies, store_of, wait_settled, wait_until)

pytestmark = [pytest.mark.integration, pytest.mark.faults]


def total(offsets: dict[int, int]) -> int:
    return sum(offsets.values())


def tracked_topics(cfg) -> list[str]:
    """The topics the tracking agent reads: the by-user topic behind the repartition hop, else the input topics."""
    return [cfg.by_user_topic] if cfg.repartition else list(cfg.ingest_topics)


def tracked_total(cfg) -> int:
    """Records on the topics the tracking agent reads."""
    return sum(total(end_offsets(cfg, t)) for t in tracked_topics(cfg))


def outcome(services, name: str) -> int:
    return int(read_table(services.cfg, "outcomes").get(name, 0))


def settle_and_check(services, rows: list[dict], store, before: dict) -> dict:
    """Wait until everything is processed, check the records and the features, and count what happened."""
    cfg = services.cfg
    users = sorted(by_user(rows))
    wait_settled(services)
    found = wait_for_features(store, users, timeout=180, services=services)
    assert sorted(found) == users, f"no features for {sorted(set(users) - set(found))}"
    records = read_table(cfg, "users")
    assert_records_match({u: records[u] for u in users if u in records}, expected_records(rows, cfg))
    mine = set(users)
    forwarded = [m for t in tracked_topics(cfg) for m in read_topic(cfg, t) if m.key and m.key.decode() in mine]
    requests = [m for m in read_topic(cfg, cfg.regen_topic) if m.key.decode() in mine]
    written = [m for m in read_topic(cfg, cfg.queries_topic) if m.key.decode() in mine]
    assert total(end_offsets(cfg, cfg.dlq_topic)) == before["dlq"], "something was dead-lettered"
    return {
        "events_replayed": len(rows),
        "users": len(users),
        # more than the events when ingest re-forwarded after a restart (with the hop; without it, the events sent)
        "forwarded_to_track": len(forwarded),
        "duplicates_seen_by_track": outcome(services, "duplicate") - before["duplicates"],
        "regeneration_requests": len(requests),
        "feature_rows_written": len(written),
        "users_with_features": len(found),
        "history_signals": sum(len(items) for u in users for items in records[u]["history"].values()),
    }


def replay_a_quarter(stack, tmp_path, prefix: str):
    """Start replaying three copies of the sample events at 80/s and return once a quarter of them are on the topics
    the tracking agent reads (the moment to strike: the worker busy, the rest still coming): ``(rows, baseline,
    replayer)``."""
    cfg = stack.cfg
    path, rows = sample_copies(tmp_path, prefix, 3)
    before = baseline(stack)
    sender = Replayer(path, cfg, rate=80)
    wait_until(lambda: tracked_total(cfg) - before["tracked"] >= len(rows) // 4, 120, stack,
               what="a quarter of the events on the topics the tracking agent reads")
    return rows, before, sender


def baseline(services) -> dict:
    cfg = services.cfg
    return {"duplicates": outcome(services, "duplicate"), "dlq": total(end_offsets(cfg, cfg.dlq_topic)),
            "tracked": tracked_total(cfg),
            "redeliveries": log_count(services, STREAM, "was never processed")}


def test_stream_worker_killed_mid_replay_loses_nothing_and_duplicates_are_harmless(stack, tmp_path):
    cfg, store = stack.cfg, store_of(stack)
    rows, before, sender = replay_a_quarter(stack, tmp_path, "kill-stream-")
    assert sender.running(), "the replay finished before the kill: raise the event count or lower the rate"
    stack.kill(STREAM)
    killed_at = tracked_total(cfg) - before["tracked"]
    time.sleep(1.0)
    stack.start_worker(STREAM, "stream", "worker")
    sent = sender.join()
    assert sent.total == len(rows) and not sent.skipped
    counts = settle_and_check(stack, rows, store, before)
    redelivered = log_count(stack, STREAM, "was never processed") - before["redeliveries"]
    report_counts("stream_worker_kill_9", {"events_forwarded_before_kill": killed_at,
                                           "partitions_redelivered_by_the_faust_guard": redelivered, **counts})
    assert counts["forwarded_to_track"] >= len(rows)


def test_generator_killed_mid_batch_then_restarted_gives_every_user_features(stack, tmp_path):
    cfg, store = stack.cfg, store_of(stack)
    path, rows = sample_copies(tmp_path, "kill-gen-", 2)
    before = baseline(stack)
    failures = log_count(stack, GENERATOR, "writing a batch failed")
    lock = StoreLock(stack)  # the batch cannot be written: the worker holds it, generated but uncommitted
    try:
        sender = Replayer(path, cfg, rate=0)
        sender.join()
        wait_until(lambda: log_count(stack, GENERATOR, "writing a batch failed") > failures, 120, stack,
                   what="the generator worker to be stuck writing a batch")
        in_flight = lag(cfg, "interests-generator", [cfg.regen_topic])
        assert in_flight > 0
        stack.kill(GENERATOR)  # mid-batch: generated, not written, not committed
    finally:
        lock.release()
    stack.start_worker(GENERATOR, "generate", "worker")
    counts = settle_and_check(stack, rows, store, before)
    report_counts("generator_worker_kill_9", {"requests_uncommitted_at_kill": in_flight, **counts})


def test_online_store_unavailable_for_a_while_is_retried_without_losing_requests(stack, tmp_path):
    cfg, store = stack.cfg, store_of(stack)
    path, rows = sample_copies(tmp_path, "store-down-", 2)
    before = baseline(stack)
    failures = log_count(stack, GENERATOR, "writing a batch failed")
    lock = StoreLock(stack)
    try:
        started = time.monotonic()
        Replayer(path, cfg, rate=0).join()
        wait_until(lambda: log_count(stack, GENERATOR, "writing a batch failed") >= failures + 2, 120, stack,
                   what="two failed writes")
        uncommitted = lag(cfg, "interests-generator", [cfg.regen_topic])
        assert uncommitted > 0  # nothing committed while the store is away
        time.sleep(max(0.0, 15.0 - (time.monotonic() - started)))
        stack.check_alive()  # the worker retries; it does not crash
        down_s = time.monotonic() - started
    finally:
        lock.release()
    counts = settle_and_check(stack, rows, store, before)
    stats = generator_stats(stack)
    assert stats["write_failures"] >= 2
    report_counts("online_store_unavailable", {"store_down_s": round(down_s, 1), "requests_uncommitted": uncommitted,
                                               "failed_write_attempts": stats["write_failures"], **counts})


def test_broker_stopped_and_restarted_mid_stream_loses_nothing(stack, tmp_path):
    store = store_of(stack)
    rows, before, sender = replay_a_quarter(stack, tmp_path, "broker-down-")
    stack.broker.stop()
    stopped = time.monotonic()
    time.sleep(5.0)
    stack.broker.start()
    down_s = time.monotonic() - stopped
    sent = sender.join()
    assert sent.total == len(rows) and not sent.skipped
    stack.check_alive()  # both workers rode it out
    counts = settle_and_check(stack, rows, store, before)
    report_counts("broker_stop_restart", {"broker_down_s": round(down_s, 1), **counts})
