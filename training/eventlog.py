"""The logged events of a time range, read back from the Kafka event topics: what ``interests train retrain --from
kafka`` trains on.

Every partition of the click, search, social and browse topics is read from its first record stamped at or after
``since`` (``offsets_for_times``) up to its first record stamped at or after ``until``, or up to the end offset it had
when reading began, whichever comes first: on a live topic the read ends. (Producers stamp records as they send them,
so a partition's stamps grow with its offsets, give or take a clock: a record stamped back in the range after one past
it is not read.) Records are decoded with the project's Avro codec, as the stream app decodes them, into the rows of
an event file (``type`` plus the fields of the record in its newest schema, ``ts`` in epoch milliseconds: what
``interests replay`` sends), and come out ordered by event time. A record that does not decode as a user event is
counted, logged and skipped.

The range is over the records' Kafka timestamps, the time each event was produced: a producer that sends events as
they happen stamps them with about their event time. ``interests replay --event-time`` stamps each replayed record
with its event's ``ts``, so a replayed file can be read back by its events' own times.

    from streams.config import StreamsConfig
    from training.eventlog import EventLog

    rows = list(EventLog(StreamsConfig.from_env(), since_ms, until_ms))
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Iterator

from schemas import AvroCodec, default_codec
from streams.broker import BrokerError
from streams.config import StreamsConfig
from streams.events import SUBJECT_DOMAIN, epoch_ms

log = logging.getLogger(__name__)
LOGGED_MALFORMED = 20  # malformed records logged one by one; the rest are only counted


def to_row(codec: AvroCodec, value: bytes | None) -> dict:
    """One record's value as an event-file row (``{"type": ..., **fields}``); raises ValueError with the reason."""
    if value is None:
        raise ValueError("empty value (a tombstone)")
    subject, record = codec.decode(value)  # DecodeError is a ValueError
    kind = SUBJECT_DOMAIN.get(subject)
    if kind is None:
        raise ValueError(f"{subject} is not a user event")
    row = {"type": kind, **record}
    row["ts"] = epoch_ms(row["ts"])
    return row


class EventLog:
    """The events of ``[since_ms, until_ms)`` on ``cfg``'s event topics, as event-file rows ordered by event time.

    Iterating reads the topics (again, each time); ``counts`` then holds what the last read saw: ``read`` rows,
    ``malformed`` records skipped, ``before_since`` records stamped before ``since`` behind the first one at or after
    it (a partition's timestamps need not grow with its offsets). The rows are held until every partition is read,
    then sorted: timestamps interleave across topics and partitions. ``consumer`` replaces the kafka-python consumer
    (tests); ``stall_s`` is how long a read may go without a record before it fails."""

    def __init__(self, cfg: StreamsConfig, since_ms: int, until_ms: int, consumer=None, codec: AvroCodec | None = None,
                 stall_s: float = 30.0):
        if until_ms <= since_ms:
            raise ValueError(f"empty time range: since {since_ms} >= until {until_ms}")
        self.cfg, self.since_ms, self.until_ms = cfg, int(since_ms), int(until_ms)
        self.consumer, self.codec, self.stall_s = consumer, codec or default_codec(), stall_s
        self.counts: Counter = Counter()

    def __str__(self) -> str:
        return f"the event topics on {self.cfg.bootstrap_servers} in [{self.since_ms}, {self.until_ms})"

    def __iter__(self) -> Iterator[dict]:
        consumer = self.consumer if self.consumer is not None else self._open()
        try:
            keyed = self._read(consumer)
        finally:
            if self.consumer is None:
                consumer.close()
        keyed.sort(key=lambda item: item[0])
        log.info("read %d events from %s (%d malformed skipped)", self.counts["read"], self,
                 self.counts["malformed"])
        return iter([row for _, row in keyed])

    def _open(self):
        from kafka import KafkaConsumer
        from kafka.errors import KafkaError

        try:
            return KafkaConsumer(bootstrap_servers=self.cfg.bootstrap_servers, group_id=None,
                                 enable_auto_commit=False, auto_offset_reset="earliest")
        except KafkaError as exc:
            raise BrokerError(f"cannot reach Kafka at {self.cfg.bootstrap_servers} ({exc}): start it "
                              f"(`interests kafka start`) or pass --bootstrap") from exc

    def _partitions(self, consumer) -> list:
        from kafka import TopicPartition

        partitions = []
        for topic in self.cfg.event_topics.values():
            ids = consumer.partitions_for_topic(topic)
            if not ids:
                raise BrokerError(f"no topic {topic} on {self.cfg.bootstrap_servers}: is this the system's broker "
                                  f"(`interests kafka topics` creates them)?")
            partitions += [TopicPartition(topic, p) for p in sorted(ids)]
        return partitions

    def _read(self, consumer) -> list[tuple[tuple, dict]]:
        """``[(sort key, row)]`` of every partition's records in range."""
        self.counts = Counter()
        partitions = self._partitions(consumer)
        consumer.assign(partitions)
        ends = consumer.end_offsets(partitions)  # captured now: records sent later are not waited for
        starts = consumer.offsets_for_times({tp: self.since_ms for tp in partitions})
        active = {}  # partition -> end offset, while it still has records to read
        for tp in partitions:
            start = starts.get(tp)
            if start is not None and start.offset < ends[tp]:
                consumer.seek(tp, start.offset)
                active[tp] = ends[tp]
        idle = [tp for tp in partitions if tp not in active]
        if idle:
            consumer.pause(*idle)
        keyed: list[tuple[tuple, dict]] = []
        last_record = time.monotonic()
        while active:
            batches = consumer.poll(timeout_ms=500)
            if any(batches.values()):
                last_record = time.monotonic()
            elif time.monotonic() - last_record > self.stall_s:
                raise BrokerError(f"no record from {self.cfg.bootstrap_servers} for {self.stall_s:.0f} s with "
                                  f"{len(active)} partitions left to read")
            for tp, records in batches.items():
                if tp in active and self._take(tp, records, active[tp], keyed):
                    del active[tp]
                    consumer.pause(tp)
            for tp in [tp for tp in active if consumer.position(tp) >= active[tp]]:
                del active[tp]
                consumer.pause(tp)
        return keyed

    def _take(self, tp, records, end: int, keyed: list) -> bool:
        """Adds the partition's records in range to ``keyed``; True when the partition is done."""
        for record in records:
            if record.offset >= end or record.timestamp >= self.until_ms:
                return True
            if record.timestamp < self.since_ms:
                self.counts["before_since"] += 1
                continue
            try:
                row = to_row(self.codec, record.value)
            except (ValueError, KeyError, TypeError) as exc:
                self.counts["malformed"] += 1
                level = logging.WARNING if self.counts["malformed"] <= LOGGED_MALFORMED else logging.DEBUG
                log.log(level, "skipped a malformed record at %s[%d] offset %d: %s", tp.topic, tp.partition,
                        record.offset, exc)
                continue
            self.counts["read"] += 1
            keyed.append(((row["ts"], record.timestamp, tp.topic, tp.partition, record.offset), row))
        return False
