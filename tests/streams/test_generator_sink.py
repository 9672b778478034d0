"""streams.generator.sink and the generator's handling of failed writes and feature deletions, with FAKE store calls and a FAKE
producer: a failed write is retried, nothing is committed until it succeeds, deletions go before rows and drop the
requests they follow."""

from __future__ import annotations

import pytest

from streams.generator.batch import after_deletions
from streams.generator.sink import Backoff, Sink, SinkError, Writes, write_until_done
from tests.streams.test_generator_worker import (CODEC, STREAMS, FakeConsumer, FakeProducer, Message, config, messages,
                                      processor, request, worker)


class Flaky:
    """FAKE store call: raises ``fails`` times (like a locked SQLite file), then records its calls."""

    def __init__(self, fails=0, error=OSError("database is locked")):
        self.fails, self.error, self.calls = fails, error, []

    def __call__(self, arg):
        if self.fails:
            self.fails -= 1
            raise self.error
        self.calls.append(arg)


class FailedFuture:
    exception = TimeoutError("no broker")

    def failed(self):
        return True


def deletion(user, n=0):
    record = {"request_id": f"del-{user}-{n}", "user_id": user, "reason": "DELETION_REQUEST",
              "deleted_before": 1_790_000_000_000, "emitted_at": 1_790_000_000_000}
    return Message(STREAMS.regen_topic, 0, 100 + n, user.encode(), CODEC.encode("feature_deletion", record))


def test_store_failure_is_a_sink_error_naming_the_cause():
    sink = Sink(Flaky(fails=1), Flaky(), FakeProducer())
    with pytest.raises(SinkError, match="online store: OSError: database is locked"):
        sink.write(Writes(rows=[{"user_id": "a"}]))


def test_a_record_the_broker_did_not_acknowledge_is_a_sink_error():
    producer = FakeProducer()
    producer.send = lambda *a, **k: FailedFuture()
    with pytest.raises(SinkError, match="1 of 1 records not acknowledged"):
        Sink(Flaky(), Flaky(), producer).write(Writes(records=[("t", b"k", b"v", None)]))


def test_deletions_are_written_before_rows_and_records_after_both():
    order = []
    producer = FakeProducer()
    producer.send = lambda topic, **k: order.append(("send", topic))
    sink = Sink(lambda rows: order.append(("push", len(rows))), lambda users: order.append(("delete", users)),
                producer)
    sink.write(Writes(deletions=["a"], rows=[{"user_id": "a"}], records=[("q", b"a", b"v", None)]))
    assert order == [("delete", ["a"]), ("push", 1), ("send", "q")]


def test_write_until_done_retries_with_growing_waits_until_it_succeeds():
    push, waits, failures = Flaky(fails=3), [], []
    write_until_done(Sink(push, Flaky(), FakeProducer()), Writes(rows=[{"user_id": "a"}]), lambda: False,
                     Backoff(0.5, 1.5), failures.append, waits.append)
    assert waits == [0.5, 1.0, 1.5] and len(failures) == 3 and push.calls == [[{"user_id": "a"}]]


def test_write_until_done_gives_up_when_stopping():
    with pytest.raises(SinkError):
        write_until_done(Sink(Flaky(fails=99), Flaky(), FakeProducer()), Writes(rows=[{}]), lambda: True,
                         sleep=lambda s: None)


def test_a_deletion_cancels_the_requests_of_its_user_read_before_it_but_not_after():
    older, other, newer = request("a", 100), request("b", 100), request("a", 300)
    entries = [("regen_request", older), ("regen_request", other), ("feature_deletion", {"user_id": "a"}),
               ("regen_request", newer), ("feature_deletion", {"user_id": "c"})]
    assert after_deletions(entries) == ([other, newer], ["a", "c"], 1)


def test_processor_deletes_features_and_writes_only_requests_newer_than_the_deletion():
    deleted = Flaky()
    proc, pushed, producer = processor()
    proc.delete = deleted
    rows = proc.process([*messages(request("a", 100), request("b", 100)), deletion("a"),
                         *messages(request("c", 100), start=50)])
    assert deleted.calls == [["a"]]
    assert sorted(r["user_id"] for r in rows) == ["b", "c"]
    assert proc.stats.cancelled == 1 and proc.stats.deleted == 1


def test_worker_keeps_a_batch_it_cannot_write_uncommitted_and_writes_it_when_the_store_is_back():
    consumer = FakeConsumer(messages(request("a"), request("b")))
    w, pushed = worker(consumer, gen=config(batch_size=2))
    attempts = []

    def down_then_up(rows):
        attempts.append(len(rows))
        if len(attempts) < 3:
            assert consumer.commits == []  # nothing committed while the store is away
            raise OSError("database is locked")
        pushed.append(rows)

    w.processor.push = down_then_up
    w.processor.delete = Flaky()
    w._stop.wait = lambda seconds: False  # no real waiting between attempts
    rows = w.step()
    assert [r["user_id"] for r in rows] == ["a", "b"] and attempts == [2, 2, 2]
    assert consumer.commits == [{(STREAMS.regen_topic, 0): 2}]
    assert w.stats()["write_failures"] == 2 and w.stats()["generated"] == 2


def test_worker_stopping_while_the_store_is_down_commits_nothing():
    consumer = FakeConsumer(messages(request("a")))
    w, _ = worker(consumer, gen=config(batch_size=1))
    w.processor.push = Flaky(fails=99)
    w.processor.delete = Flaky()

    def stop_while_waiting(seconds):
        w.stop()
        return True

    w._stop.wait = stop_while_waiting
    assert w.step() == [] and consumer.commits == []


def test_features_deleted_in_a_batch_are_not_kept_stale_for_an_invalid_output_after_the_deletion():
    from tests.streams.test_generator_worker import Invalid, Scripted, Store, processor

    store = Store()
    first = processor(Scripted("fake@v1"))[0]
    first.push = store.push
    first.process(messages(request("a", 1_000, "a-1")))  # the user has features
    proc = processor(Invalid({"a"}))[0]
    proc.push, proc.read_previous, proc.delete = store.push, store.read, lambda users: [store.rows.pop(u, None)
                                                                                        for u in users]
    # the deletion, then a newer request whose output stays invalid: nothing of the deleted features comes back
    rows = proc.process([deletion("a"), *messages(request("a", 3_000, "a-3"), start=200)])
    assert rows == [] and "a" not in store.rows
    assert proc.stats.deleted == 1 and proc.stats.stale == 0


def test_a_worker_without_a_delete_path_fails_loudly_instead_of_retrying_forever():
    with pytest.raises(RuntimeError, match="no delete path"):
        Sink(Flaky(), None, FakeProducer()).write(Writes(deletions=["a"]))
