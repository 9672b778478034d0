"""The retraining job's input read back from the real broker: an event file replayed with its event times
(``interests replay --event-time``), a time range of it read from the event topics (training/eventlog.py) builds the
same training set as the file does for that range, and nothing outside the range is read."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from streams.replay import replay
from tests.integration.conftest import fast_services
from training.eventlog import EventLog
from training.retrain import build_training_set

pytestmark = pytest.mark.integration
MINUTE = 60_000


def event(kind: str, user: str, ts: int, n: int) -> dict:
    """An event-file row with every field of its schema (as the shipped sample file writes them)."""
    base = {"type": kind, "event_id": f"rk-{n}", "user_id": user, "ts": ts}
    if kind == "click":
        return {**base, "article_id": f"art-{user}-{n}", "title": f"Story {n} for {user}", "category": "news",
                "dwell_ms": 4000 + n}
    if kind == "search":
        return {**base, "query": f"topic {n} of {user}", "engine": None}
    if kind == "social":
        return {**base, "action": "LIKE", "platform": "reddit", "text": f"post {n}", "target_id": None}
    return {**base, "url": f"https://example.com/{user}/{n}", "title": None, "dwell_ms": 1500}


def event_file(since: int, until: int) -> list[dict]:
    """Four users with a history early in ``[since, until)`` and a click in its last fifth (their targets), and
    events on both sides of the range and at its bounds; in time order, as a log is (a partition is read up to its
    first record stamped at or after ``until``)."""
    rows, n = [], iter(range(1000))
    for u in range(4):
        user = f"rk-user{u}"
        rows += [event("search", user, since + u * 10_000 + 1_000, next(n)),
                 event("click", user, since + u * 10_000 + 2_000, next(n)),
                 event("browse", user, since + u * 10_000 + 3_000, next(n)),
                 event("click", user, until - MINUTE + u * 1_000, next(n))]  # after the cut: a target
    rows += [event("social", "rk-user0", since + 5_000, next(n)),
             event("search", "rk-user1", since, next(n)),  # at since: in
             event("click", "rk-user0", since - MINUTE, next(n)),  # before: out
             event("click", "rk-user1", until, next(n)),  # at until: out
             event("click", "rk-user2", until + 2 * MINUTE, next(n))]  # after: out
    return sorted(rows, key=lambda row: row["ts"])


def reference(folder):
    folder.mkdir()
    pd.DataFrame({"article_id": ["x1"], "title": ["one"]}).to_parquet(folder / "catalogue.parquet")
    np.save(folder / "article_embeddings.npy", np.zeros((1, 4), dtype=np.float32))
    return folder


def training_set(folder) -> dict:
    return {"history": [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()],
            **{name: json.loads((folder / f"{name}.json").read_text()) for name in ("targets", "users", "meta")}}


def test_a_time_range_read_from_kafka_builds_the_same_training_set_as_the_file(tmp_path):
    from kafka import KafkaProducer

    services = fast_services(tmp_path / "state")
    # event times in the broker's window: not older than its retention, not over an hour ahead
    since = int(time.time() * 1000) // 1000 * 1000 - 30 * MINUTE
    until = since + 10 * MINUTE
    rows = event_file(since, until)
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    try:
        services.start_broker()
        cfg = services.cfg
        summary = replay(path, cfg, progress=False, event_time=True)
        assert summary.total == len(rows) and not summary.skipped, summary.lines()
        producer = KafkaProducer(bootstrap_servers=cfg.bootstrap_servers)
        producer.send(cfg.event_topics["click"], key=b"rk-user3", value=b"not avro", timestamp_ms=since + 7_000)
        producer.flush()
        producer.close()

        log = EventLog(cfg, since, until)
        read = list(log)
        assert log.counts["malformed"] == 1
        in_range = sorted((r for r in rows if since <= r["ts"] < until), key=lambda r: r["ts"])
        assert read == in_range  # the file's rows, field for field, in event-time order, and nothing else

        ref = reference(tmp_path / "ref")
        from_file = build_training_set(path, ref, tmp_path / "from-file", since, until)
        from_kafka = build_training_set(log, ref, tmp_path / "from-kafka", since, until)
    finally:
        services.stop()
    assert from_file == from_kafka and from_kafka["users"] == 4
    assert training_set(tmp_path / "from-file") == training_set(tmp_path / "from-kafka")
    targets = training_set(tmp_path / "from-kafka")["targets"]
    assert sorted(targets) == [f"rk-user{u}" for u in range(4)] and all(len(t) == 1 for t in targets.values())
