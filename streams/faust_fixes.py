"""Two guards for faust-streaming 0.15.3's at-least-once delivery, found by the ``kill -9`` test of the stream worker
(``tests/integration/test_faults.py``).

What happens: when a restarted worker takes its partitions over, Faust resumes the stream partitions and fetches from
them before it seeks them to the committed offsets, then resumes its flow control, which clears the stream queues
(``clear_on_resume``). Messages fetched in between are dropped without being processed: some cleared from a queue
(seen: offset 27 of a partition dropped, 22-26 and 28 onward processed), some arriving after the seek with offsets
below the read offset that the prefetched ones already advanced. And Faust lets the drop through to the commit:

* the jump from the sought offset to a prefetched one is taken for a hole in the log (``Consumer._add_gap``, meant
  for compacted or transactional topics) and the offsets in between are counted as done;
* ``Consumer._new_offset`` refuses to commit past an unacknowledged head offset only when the first acknowledged
  offset is *two or more* beyond the committed one (and never when the committed offset is 0).

So the commit moves past events no agent saw, and they are lost for good. The guards, installed by :func:`install`
(``streams/app.py`` calls it for every app):

1. no gap bookkeeping: this app's input topics (event, privacy, by-user) are never compacted nor written in
   transactions, so their offsets have no holes and a jump is always this race, never something to skip;
2. never commit past an unacknowledged offset: when the first acknowledged offset is beyond the committed offset
   (the next one to read), there is nothing to commit yet. Where no offset was ever committed (Faust also reads a
   committed 0 as none), the partition's first offset stands in for it, looked up by the timer of guard 3; until
   then nothing of that partition is committed;
3. redeliver what was dropped: a partition whose acknowledgements have started beyond its committed offset for
   ``after_s`` seconds is sought back to that offset, so the dropped messages are read again. Messages after them
   are read twice; the stream's updates are idempotent, so the duplicates change nothing.
"""

from __future__ import annotations

import logging
import time

from faust.transport.consumer import Consumer

log = logging.getLogger(__name__)
_upstream_new_offset = Consumer._new_offset


def head_gap(consumer, tp) -> int | None:
    """The committed offset of ``tp`` when acknowledgements start past it (a message there is missing), else None."""
    acked = consumer._acked.get(tp)
    committed = consumer._committed_offset.get(tp)
    if acked and committed is not None and min(acked) > committed:
        return committed
    return None


async def _add_gap(self, tp, offset_from: int, offset_to: int) -> None:
    log.debug("%s: offsets %s-%s skipped by the fetcher; not counted as done", tp, offset_from, offset_to)


def _new_offset(self, tp):
    if self._acked.get(tp) and self._committed_offset.get(tp) is None:
        return None  # where this partition starts is not known yet (the timer below looks it up)
    if head_gap(self, tp) is not None:
        return None  # the offset right after the last commit has not been processed yet
    return _upstream_new_offset(self, tp)


async def redeliver(consumer, stuck_since: dict, now: float, after_s: float) -> list:
    """One turn of guard 3; returns the partitions sought back. ``stuck_since`` (partition -> when its gap was
    first seen) carries over between turns."""
    assigned = consumer.assignment()
    unknown = [tp for tp in assigned if consumer._acked.get(tp) and consumer._committed_offset.get(tp) is None]
    if unknown:
        for tp, first in (await consumer.earliest_offsets(*unknown)).items():
            if consumer._committed_offset.get(tp) is None:
                consumer._committed_offset[tp] = first
    sought = []
    for tp in list(assigned):
        committed = head_gap(consumer, tp)
        if committed is None:
            stuck_since.pop(tp, None)
            continue
        since = stuck_since.setdefault(tp, now)
        if now - since >= after_s:
            log.warning("%s:%s: offset %s was never processed (acknowledgements resumed at %s); reading the "
                        "partition again from it", tp.topic, tp.partition, committed, min(consumer._acked[tp]))
            stuck_since.pop(tp, None)
            await consumer.seek(tp, committed)
            sought.append(tp)
    return sought


def install(app, after_s: float = 10.0, every_s: float = 2.0) -> None:
    """Apply guards 1 and 2 (process-wide, idempotent) and add guard 3 as a timer of ``app``."""
    Consumer._add_gap = _add_gap
    Consumer._new_offset = _new_offset
    stuck_since: dict = {}

    @app.timer(every_s, name="redeliver-dropped")
    async def redeliver_dropped() -> None:
        await redeliver(app.consumer, stuck_since, time.monotonic(), after_s)
