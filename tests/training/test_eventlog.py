"""Reading a time range of the event topics back (training/eventlog.py) against a fake consumer: the seek, the stop,
the order, the end of a live topic, malformed records; and the training set it builds equal to the file's."""

from __future__ import annotations

import json
from collections import namedtuple

import numpy as np
import pandas as pd
import pytest
from kafka import TopicPartition
from kafka.structs import OffsetAndTimestamp

from schemas import default_codec
from streams.broker import BrokerError
from streams.config import StreamsConfig
from streams.replay import to_message
from tests.conftest import browse, click, search
from training.eventlog import EventLog
from training.retrain import build_training_set

T0 = 1_790_000_000_000
CFG = StreamsConfig(bootstrap_servers="fake:9092")
Record = namedtuple("Record", "topic partition offset timestamp key value")


class FakeConsumer:
    """The kafka-python consumer calls EventLog makes, over in-memory partitions of ``(timestamp, value)``; every
    poll returns up to ``batch`` records of each partition and then lets ``on_poll`` write more (a live topic)."""

    def __init__(self, logs: dict[TopicPartition, list[tuple[int, bytes | None]]], batch: int = 2, on_poll=None):
        self.logs, self.batch, self.on_poll = logs, batch, on_poll
        self.positions, self.paused, self.polls, self.closed = {}, set(), 0, False

    def partitions_for_topic(self, topic):
        return {tp.partition for tp in self.logs if tp.topic == topic} or None

    def assign(self, partitions):
        self.positions = {tp: 0 for tp in partitions}

    def end_offsets(self, partitions):
        return {tp: len(self.logs[tp]) for tp in partitions}

    def offsets_for_times(self, times):
        out = {}
        for tp, target in times.items():
            offset = next((i for i, (ts, _) in enumerate(self.logs[tp]) if ts >= target), None)
            out[tp] = None if offset is None else OffsetAndTimestamp(offset, self.logs[tp][offset][0], -1)
        return out

    def seek(self, tp, offset):
        self.positions[tp] = offset

    def pause(self, *partitions):
        self.paused.update(partitions)

    def position(self, tp):
        return self.positions[tp]

    def poll(self, timeout_ms=0):
        self.polls += 1
        batches = {}
        for tp, position in self.positions.items():
            records = self.logs[tp][position:position + self.batch]
            if tp in self.paused or not records:
                continue
            batches[tp] = [Record(tp.topic, tp.partition, position + i, ts, None, value)
                           for i, (ts, value) in enumerate(records)]
            self.positions[tp] = position + len(records)
        if self.on_poll:
            self.on_poll(self)
        return batches

    def close(self):
        self.closed = True


def tp(kind: str, partition: int = 0) -> TopicPartition:
    return TopicPartition(CFG.event_topics[kind], partition)


def logged(*rows: dict) -> list[tuple[int, bytes]]:
    """Rows as records stamped with their event time (what `interests replay --event-time` writes)."""
    return [(row["ts"], to_message(default_codec(), row)[2]) for row in rows]


# the optional fields of each event's newest schema: a row read back from a topic has them all
OPTIONAL = {"click": {"category": None, "dwell_ms": None}, "search": {"engine": None},
            "browse": {"title": None, "dwell_ms": None}, "social": {"target_id": None}}


def typed(kind: str, row: dict) -> dict:
    """An event-file row with every field of its schema."""
    return {"type": kind, **OPTIONAL[kind], **row}


def empty_topics() -> dict:
    return {tp(kind): [] for kind in CFG.event_topics}


def test_reads_the_range_from_every_partition_in_event_time_order():
    early = typed("click", click(user="a", ts=T0 - 1))
    a = [typed("click", click(user="a", ts=T0 + s)) for s in (0, 30, 60)]
    b = [typed("search", search(user="b", ts=T0 + s)) for s in (10, 40)]
    c = {"type": "browse", **browse(user="c", ts=T0 + 20, title="Derby day")}  # no dwell_ms
    late = typed("click", click(user="a", ts=T0 + 100))
    logs = {**empty_topics(), tp("click"): logged(early, *a, late), tp("click", 1): [],
            tp("search", 2): logged(*b), tp("browse"): logged(c)}
    rows = list(EventLog(CFG, T0, T0 + 100, consumer=FakeConsumer(logs)))
    assert [r["ts"] - T0 for r in rows] == [0, 10, 20, 30, 40, 60]
    # the event file's rows, field for field; a field a row left out comes back as its schema's default
    assert rows == sorted([*a, *b, {**c, "dwell_ms": None}], key=lambda r: r["ts"])


def test_a_partition_stops_at_the_first_record_at_or_after_until():
    # a record stamped back in range after one at `until` belongs to a later stretch of the log: not read
    rows = [typed("click", click(user="a", ts=T0 + s)) for s in (0, 50, 10, 20)]
    consumer = FakeConsumer({**empty_topics(), tp("click"): logged(*rows)}, batch=10)
    assert [r["ts"] - T0 for r in EventLog(CFG, T0, T0 + 50, consumer=consumer)] == [0]
    assert tp("click") in consumer.paused  # the rest of the partition is no longer fetched


def test_records_stamped_before_since_behind_the_seek_are_skipped_and_counted():
    rows = [typed("click", click(user="a", ts=T0 + s)) for s in (-5, 5, -3, 7)]
    log = EventLog(CFG, T0, T0 + 100, consumer=FakeConsumer({**empty_topics(), tp("click"): logged(*rows)}))
    assert [r["ts"] - T0 for r in log] == [5, 7]
    assert log.counts["before_since"] == 1 and log.counts["read"] == 2


def test_a_live_topic_is_read_to_the_end_offset_it_had_at_the_start():
    def producer(consumer):  # records keep arriving in range while the range is read
        consumer.logs[tp("click")].extend(logged(typed("click", click(user="a", ts=T0 + 50 + consumer.polls))))

    before = [typed("click", click(user="a", ts=T0 + s)) for s in range(5)]
    consumer = FakeConsumer({**empty_topics(), tp("click"): logged(*before)}, batch=1, on_poll=producer)
    rows = list(EventLog(CFG, T0, T0 + 1000, consumer=consumer))
    assert rows == before and consumer.polls < 10


def test_malformed_records_are_counted_logged_and_skipped(caplog):
    good = [typed("search", search(user="a", ts=T0 + s)) for s in (1, 2)]
    privacy = default_codec().encode("deletion_request", {"event_id": "d1", "user_id": "a", "ts": T0 + 3})
    records = [*logged(good[0]), (T0 + 2, b"not avro"), (T0 + 2, None), (T0 + 3, privacy), *logged(good[1])]
    log = EventLog(CFG, T0, T0 + 100, consumer=FakeConsumer({**empty_topics(), tp("search"): records}))
    with caplog.at_level("WARNING", logger="training.eventlog"):
        assert list(log) == good
    assert log.counts["malformed"] == 3
    assert sum("malformed record" in r.getMessage() for r in caplog.records) == 3


def test_nothing_in_range_reads_nothing_and_a_missing_topic_is_a_broker_error():
    rows = [typed("click", click(user="a", ts=T0 - s)) for s in (3, 2, 1)]
    consumer = FakeConsumer({**empty_topics(), tp("click"): logged(*rows)})
    assert list(EventLog(CFG, T0, T0 + 100, consumer=consumer)) == [] and consumer.polls == 0
    topics = empty_topics()
    del topics[tp("social")]
    with pytest.raises(BrokerError, match="no topic interests.events.social.v1"):
        list(EventLog(CFG, T0, T0 + 100, consumer=FakeConsumer(topics)))
    with pytest.raises(ValueError, match="empty time range"):
        EventLog(CFG, T0, T0)


def reference(folder):
    folder.mkdir()
    pd.DataFrame({"article_id": ["x1", "x2"], "title": ["one", "two"]}).to_parquet(folder / "catalogue.parquet")
    np.save(folder / "article_embeddings.npy", np.zeros((2, 4), dtype=np.float32))
    return folder


def test_the_training_set_from_the_log_equals_the_one_from_the_file(tmp_path):
    rows = []
    for u, user in enumerate(("a", "b", "c")):
        rows += [typed("search", search(user=user, ts=T0 + 10 * u + 1)),
                 typed("click", click(user=user, ts=T0 + 10 * u + 2, article_id=f"{user}-1", dwell_ms=900)),
                 typed("click", click(user=user, ts=T0 + 90 + u, article_id=f"{user}-2", dwell_ms=None))]
    rows.append(typed("click", click(user="a", ts=T0 + 200, article_id="a-3", dwell_ms=None)))  # after until
    file = tmp_path / "log.jsonl"
    file.write_text("".join(json.dumps(r) + "\n" for r in rows))
    by_kind = empty_topics()
    for r in rows:  # spread over partitions by user, as the producer's key does
        by_kind.setdefault(tp(r["type"], ord(r["user_id"]) % 2), []).extend(logged(r))
    ref = reference(tmp_path / "ref")
    from_file = build_training_set(file, ref, tmp_path / "file", T0, T0 + 100)
    from_log = build_training_set(EventLog(CFG, T0, T0 + 100, consumer=FakeConsumer(by_kind)), ref,
                                  tmp_path / "log", T0, T0 + 100)
    assert from_file == from_log and from_file["users"] == 3
    for name in ("targets.json", "users.json"):
        assert (tmp_path / "file" / name).read_text() == (tmp_path / "log" / name).read_text()
    history = {name: [json.loads(line) for line in (tmp_path / name / "events.jsonl").read_text().splitlines()]
               for name in ("file", "log")}
    assert history["file"] == history["log"] and len(history["file"]) == 6


def test_the_training_set_keeps_each_event_once_in_event_time_order(tmp_path):
    first = typed("click", click(user="a", ts=T0 + 20, article_id="a-1"))
    rows = [first, typed("search", search(user="a", ts=T0 + 10)), first,
            typed("click", click(user="a", ts=T0 + 90, article_id="a-2"))]
    summary = build_training_set(rows, reference(tmp_path / "ref"), tmp_path / "out", T0, T0 + 100)
    history = [json.loads(line) for line in (tmp_path / "out" / "events.jsonl").read_text().splitlines()]
    assert [r["ts"] - T0 for r in history] == [10, 20] and summary["duplicates"] == 1
