"""Where one generator batch's results go, in this order: feature deletions and feature rows in the online store,
then records on the queries and dead-letter topics, flushed and checked. No Kafka consumer and no Feast import here:
``push``, ``delete`` and the producer are passed in (tested with fakes).

A batch is committed only after :meth:`Sink.write` returned, so any failure here (the store locked or down, the
broker unreachable, a record the broker refused) raises :class:`SinkError` and the batch is written again (the
writes are idempotent: a deletion deletes again, a push overwrites, a queries record is repeated) or, if the worker
stops first, redelivered to whoever consumes the partition next.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

log = logging.getLogger(__name__)


class SinkError(RuntimeError):
    """A batch's results could not all be written; nothing of the batch may be committed."""


@dataclass
class Writes:
    deletions: list[str] = field(default_factory=list)  # users whose online features are deleted, before the rows
    rows: list[dict] = field(default_factory=list)  # feature rows pushed to the online store in one call
    records: list[tuple] = field(default_factory=list)  # (topic, key, value, headers) sent after the store writes


@dataclass
class Backoff:
    first_s: float = 0.5
    max_s: float = 10.0

    def delays(self):
        delay = self.first_s
        while True:
            yield delay
            delay = min(delay * 2, self.max_s)


class Sink:
    def __init__(self, push: Callable[[list[dict]], Any], delete: Callable[[list[str]], Any] | None, producer):
        self.push, self.delete, self.producer = push, delete, producer

    def write(self, writes: Writes) -> None:
        """Write everything or raise :class:`SinkError` saying what failed."""
        if writes.deletions and self.delete is None:
            # a wiring mistake, not an outage: retrying would stall the partition silently, so fail loudly
            raise RuntimeError("feature deletions requested but this worker was given no delete path "
                               "(GeneratorWorker(delete=...))")
        try:
            if writes.deletions:
                self.delete(writes.deletions)
            if writes.rows:
                self.push(writes.rows)
        except SinkError:
            raise
        except Exception as exc:  # sqlite3.OperationalError (locked), redis ConnectionError, ...
            raise SinkError(f"online store: {type(exc).__name__}: {exc}") from exc
        try:
            futures = [self.producer.send(topic, key=key, value=value, headers=headers)
                       for topic, key, value, headers in writes.records]
            self.producer.flush()
        except Exception as exc:  # KafkaTimeoutError when the broker stays away longer than max_block_ms
            raise SinkError(f"producer: {type(exc).__name__}: {exc}") from exc
        failed = [f for f in futures if f is not None and getattr(f, "failed", lambda: False)()]
        if failed:
            raise SinkError(f"producer: {len(failed)} of {len(futures)} records not acknowledged "
                            f"({failed[0].exception!r})")


def write_until_done(sink: Sink, writes: Writes, should_stop: Callable[[], bool] | None,
                     backoff: Backoff = Backoff(), on_failure: Callable[[SinkError], None] | None = None,
                     sleep: Callable[[float], None] = time.sleep) -> None:
    """Write, retrying with exponential backoff while ``should_stop()`` is false. Raises the last
    :class:`SinkError` when stopping first (or at once when ``should_stop`` is None)."""
    delays = backoff.delays()
    while True:
        try:
            sink.write(writes)
            return
        except SinkError as exc:
            if on_failure is not None:
                on_failure(exc)
            if should_stop is None or should_stop():
                raise
            delay = next(delays)
            log.warning("writing a batch failed (%s); retrying in %.1f s", exc, delay)
            sleep(delay)
            if should_stop():
                raise
