"""Replays an event file (JSON lines or Parquet) onto the event topics with kafka-python, keyed by user.

Each row has ``type`` (click | search | social | browse) and the fields of that event's Avro schema; ``ts`` is epoch
milliseconds or an ISO-8601 string. Rows that cannot be encoded are reported and skipped, never sent half-made.

Records are stamped with the time they are sent (Kafka's CreateTime), as a producer sending events as they happen
would stamp them with about their event time; ``event_time=True`` (``interests replay --event-time``) stamps each
with its event's ``ts`` instead, so the topics hold the file as if it had been logged live and a time range of it can
be read back by its events' times (``interests train retrain --from kafka``, which reads a partition up to its first
record stamped past the range: replay such a file in time order). The broker keeps such records for its retention
(7 days) counted from their event time, and refuses records stamped more than an hour ahead (Kafka 4's
``log.message.timestamp.after.max.ms``): those are reported as skipped.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from schemas import AvroCodec, EncodeError, default_codec
from streams.config import StreamsConfig
from streams.events import epoch_ms

log = logging.getLogger(__name__)
TYPE_SUBJECT = {"click": "click_event", "search": "search_event", "social": "social_event", "browse": "browse_event"}


@dataclass
class ReplaySummary:
    sent: Counter = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)  # "line N: reason"
    users: set = field(default_factory=set)
    last_sent_at: dict = field(default_factory=dict)  # user -> wall-clock time their last event was sent
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.sent.values())

    def lines(self) -> list[str]:
        rate = self.total / self.seconds if self.seconds else 0.0
        out = [f"sent {self.total} events for {len(self.users)} users in {self.seconds:.1f}s ({rate:.0f}/s)"]
        out += [f"  {kind:<7} {n}" for kind, n in sorted(self.sent.items())]
        if self.skipped:
            out.append(f"skipped {len(self.skipped)} rows:")
            out += [f"  {s}" for s in self.skipped[:20]]
        return out


def read_rows(path: Path) -> Iterator[tuple[int, dict | None, str]]:
    """Yields ``(row number, row or None, error)``; a malformed row is reported, not fatal."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no event file at {path}")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        for number, row in enumerate(pq.read_table(path).to_pylist(), 1):
            yield number, row, ""
        return
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, None, f"not JSON ({exc.msg})"
                continue
            yield number, row, "" if isinstance(row, dict) else "not a JSON object"


def to_message(codec: AvroCodec, row: dict) -> tuple[str, str, bytes]:
    """``(type, user_id, Avro bytes)`` for one row; raises ValueError with the reason."""
    kind = row.get("type")
    if kind not in TYPE_SUBJECT:
        raise ValueError(f"type must be one of {', '.join(TYPE_SUBJECT)}, not {kind!r}")
    record = {k: v for k, v in row.items() if k != "type"}
    if isinstance(record.get("ts"), str):
        ts = dt.datetime.fromisoformat(record["ts"].replace("Z", "+00:00"))
        if ts.tzinfo is None:  # no offset: UTC, not the replaying machine's local zone
            ts = ts.replace(tzinfo=dt.timezone.utc)
        record["ts"] = int(ts.timestamp() * 1000)
    if not record.get("user_id"):
        raise ValueError("user_id is missing")
    try:
        return kind, str(record["user_id"]), codec.encode(TYPE_SUBJECT[kind], record)
    except EncodeError as exc:
        raise ValueError(str(exc)) from exc


def _event_ts(value: bytes) -> int:
    """The ``ts`` of an encoded event, as encoded (a row may give it as milliseconds, ISO text or a datetime)."""
    return epoch_ms(default_codec().decode(value)[1]["ts"])


def replay(path: Path, cfg: StreamsConfig, rate: float | None = None, limit: int | None = None,
           progress: bool = True, event_time: bool = False) -> ReplaySummary:
    """Send the file's events; ``rate`` caps events per second (None = as fast as the broker takes them);
    ``event_time`` stamps each record with its event's ``ts`` instead of the time it is sent."""
    from kafka import KafkaProducer
    from tqdm import tqdm

    codec = default_codec()
    rows = list(read_rows(path))[:limit]
    summary = ReplaySummary()
    producer = KafkaProducer(bootstrap_servers=cfg.bootstrap_servers, acks="all", linger_ms=10,
                             retries=5, max_in_flight_requests_per_connection=1)
    topics = cfg.event_topics
    started, refused = time.monotonic(), []
    try:
        for number, row, error in tqdm(rows, desc="replay", unit="ev", disable=not progress):
            if row is None:
                summary.skipped.append(f"line {number}: {error}")
                continue
            try:
                kind, user, value = to_message(codec, row)
            except (ValueError, KeyError, TypeError) as exc:
                summary.skipped.append(f"line {number}: {exc}")
                continue
            stamp = _event_ts(value) if event_time else None
            future = producer.send(topics[kind], key=user.encode(), value=value, timestamp_ms=stamp)
            # the producer's thread calls it; list.append is atomic, the counts are mended below
            future.add_errback(lambda exc, number=number, kind=kind: refused.append((number, kind, exc)))
            summary.sent[kind] += 1
            summary.users.add(user)
            summary.last_sent_at[user] = time.time()
            if rate:
                # sleep until this event's slot: an average rate, not a burst followed by a pause
                delay = summary.total / rate - (time.monotonic() - started)
                if delay > 0:
                    time.sleep(delay)
        producer.flush()
    finally:
        producer.close()
    for number, kind, exc in refused:
        summary.sent[kind] -= 1
        summary.skipped.append(f"line {number}: the broker refused it ({exc})")
    summary.seconds = time.monotonic() - started
    return summary
