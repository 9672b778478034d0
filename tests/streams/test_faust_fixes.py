"""streams.faust_fixes: the commit guard against Faust committing past a message no agent processed, and the
redelivery timer, on FAKE consumer bookkeeping (the integration test that found the drops is test_faults.py)."""

from __future__ import annotations

from collections import defaultdict

from faust.types import TP
from intervaltree import IntervalTree

from streams.faust_fixes import _new_offset, head_gap

TP0 = TP("interests.events.click.v1", 0)


class Bookkeeping:
    """FAKE: the attributes of faust.transport.consumer.Consumer that the commit logic reads and writes."""

    def __init__(self, committed, acked):
        self._committed_offset = defaultdict(lambda: None, {TP0: committed})
        self._acked = defaultdict(list, {TP0: list(acked)})
        self._acked_index = defaultdict(set, {TP0: set(acked)})
        self._gap = defaultdict(IntervalTree)


def test_nothing_is_committed_past_a_single_missing_offset():
    # Faust's own check lets this through: 11 - 10 is not > 1
    books = Bookkeeping(committed=10, acked=[11, 12, 13])
    assert head_gap(books, TP0) == 10
    assert _new_offset(books, TP0) is None


def test_nothing_is_committed_past_a_missing_offset_zero():
    assert _new_offset(Bookkeeping(committed=0, acked=[1, 2]), TP0) is None


def test_nothing_is_committed_while_the_partition_start_is_unknown():
    assert _new_offset(Bookkeeping(committed=None, acked=[0, 1]), TP0) is None


def test_a_contiguous_run_from_the_committed_offset_is_committed_up_to_the_first_hole():
    books = Bookkeeping(committed=10, acked=[10, 11, 12, 14])
    assert head_gap(books, TP0) is None
    assert _new_offset(books, TP0) == 13
    books._committed_offset[TP0] = 13
    assert _new_offset(books, TP0) is None  # 13 still missing


def test_once_the_missing_offset_is_redelivered_the_commit_moves_on():
    books = Bookkeeping(committed=10, acked=[11, 12])
    assert _new_offset(books, TP0) is None
    books._acked[TP0].append(10)
    books._acked_index[TP0].add(10)
    assert _new_offset(books, TP0) == 13


def test_the_guards_are_installed_on_every_app():
    from faust.transport.consumer import Consumer

    from streams import faust_fixes
    from streams.app import make_app
    from streams.config import StreamsConfig

    app = make_app(StreamsConfig(web_port=0, app_id="test-guards"))
    assert Consumer._new_offset is faust_fixes._new_offset and Consumer._add_gap is faust_fixes._add_gap
    assert [t.__name__ for t in app._app_tasks] == ["redeliver_dropped"]


class FakeConsumer(Bookkeeping):
    """FAKE consumer: the bookkeeping plus assignment, first offsets and seeks."""

    def __init__(self, committed, acked, first=0):
        super().__init__(committed, acked)
        self.first, self.seeks = first, []

    def assignment(self):
        return {TP0}

    async def earliest_offsets(self, *tps):
        return {tp: self.first for tp in tps}

    async def seek(self, tp, offset):
        self.seeks.append((tp, offset))


async def test_a_gap_that_lasts_is_read_again_from_the_committed_offset():
    from streams.faust_fixes import redeliver

    consumer, stuck = FakeConsumer(committed=10, acked=[12, 13]), {}
    assert await redeliver(consumer, stuck, now=100.0, after_s=10) == []  # seen, not yet long enough
    assert await redeliver(consumer, stuck, now=109.0, after_s=10) == []
    assert await redeliver(consumer, stuck, now=110.0, after_s=10) == [TP0]
    assert consumer.seeks == [(TP0, 10)] and stuck == {}


async def test_a_gap_that_closes_by_itself_is_forgotten():
    from streams.faust_fixes import redeliver

    consumer, stuck = FakeConsumer(committed=10, acked=[11]), {}
    await redeliver(consumer, stuck, now=100.0, after_s=10)
    consumer._acked[TP0].append(10)
    await redeliver(consumer, stuck, now=105.0, after_s=10)
    assert stuck == {} and await redeliver(consumer, stuck, now=200.0, after_s=10) == []


async def test_a_partition_never_committed_starts_at_its_first_offset():
    from streams.faust_fixes import redeliver

    consumer = FakeConsumer(committed=None, acked=[5, 6], first=3)
    await redeliver(consumer, {}, now=0.0, after_s=10)
    assert consumer._committed_offset[TP0] == 3 and head_gap(consumer, TP0) == 3
