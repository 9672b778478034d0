"""streams.generator.worker without a broker: the batch processor and the worker loop with FAKE generators, a fake consumer,
producer and store push. Covers de-duplication, failure -> retry -> dead letter, late requests, the bounded queue,
commits, metrics and hot swaps between batches (models from a real registry of fake folders)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import namedtuple

import pytest

from feature_repo.config import FeatureStoreConfig
from models.config import GeneratorConfig
from models.embeddings import HashEmbedder
from models.generators.base import Generation, QueryGenerator
from models.registry import CurrentWatcher, Registry
from schemas import default_codec
from streams.config import StreamsConfig
from streams.generator.batch import BatchProcessor, percentile
from streams.generator.worker import GeneratorWorker, next_offsets

STREAMS = StreamsConfig()
CODEC = default_codec()
Message = namedtuple("Message", "topic partition offset key value")


def request(user, emitted_at=None, request_id=None, text=None):
    emitted_at = emitted_at if emitted_at is not None else int(time.time() * 1000)
    return {"request_id": request_id or f"{user}-{emitted_at}", "user_id": user, "reason": "DRIFT", "drift": 0.3,
            "last_event_at": emitted_at - 1000, "emitted_at": emitted_at, "interest_vector": [0.6, 0.8],
            "history": [{"domain": "CLICK", "kind": "click", "text": text or f"{user} reads tennis news",
                         "ts": emitted_at - 1000, "item_id": "a1", "platform": None}]}


def messages(*requests, partition=0, start=0):
    return [Message(STREAMS.regen_topic, partition, start + i, r["user_id"].encode(),
                    CODEC.encode("regen_request", r)) for i, r in enumerate(requests)]


class Scripted(QueryGenerator):
    """FAKE generator: one query naming its version per user; raises for the first ``fail`` calls."""

    def __init__(self, version="fake@v1", fail=0, wrong_length=False):
        self.version, self.fail, self.wrong_length = version, fail, wrong_length
        self.calls, self.closed = [], False

    def generate(self, contexts):
        self.calls.append([c.user_id for c in contexts])
        if self.fail:
            self.fail -= 1
            raise RuntimeError("CUDA out of memory")
        out = [Generation([f"{c.user_id} tennis by {self.version}"]) for c in contexts]
        return out[:-1] if self.wrong_length else out

    def close(self):
        self.closed = True


class FakeProducer:
    def __init__(self):
        self.sent, self.flushes, self.closed = [], 0, False

    def send(self, topic, key=None, value=None, headers=None):
        self.sent.append((topic, key, value, dict(headers or [])))

    def flush(self):
        self.flushes += 1

    def close(self):
        self.closed = True

    def on(self, topic):
        return [s for s in self.sent if s[0] == topic]


class FakeConsumer:
    """Hands out ``pending`` messages, at most ``max_records`` per poll; records polls and commits."""

    def __init__(self, pending=()):
        self.pending, self.polls, self.commits, self.closed = list(pending), [], [], False

    def poll(self, timeout_ms=0, max_records=None):
        self.polls.append(max_records)
        taken, self.pending = self.pending[:max_records], self.pending[max_records:]
        by_partition = {}
        for m in taken:
            by_partition.setdefault((m.topic, m.partition), []).append(m)
        return by_partition

    def commit(self, offsets):
        self.commits.append({(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()})

    def close(self):
        self.closed = True


def config(**overrides):
    return GeneratorConfig(**{"batch_size": 4, "batch_wait_ms": 0, "max_queue": 8, "stats_every": 1,
                              "request_timeout_s": 60.0, **overrides})


def processor(generator=None, gen=None):
    pushed, producer = [], FakeProducer()
    return BatchProcessor(generator or Scripted(), HashEmbedder(dim=8), pushed.append, producer, STREAMS,
                          gen or config()), pushed, producer


def worker(consumer, generator=None, gen=None, watcher=None):
    pushed = []
    w = GeneratorWorker(STREAMS, gen or config(), FeatureStoreConfig(), generator=generator or Scripted(),
                        embedder=HashEmbedder(dim=8), consumer=consumer, producer=FakeProducer(),
                        push=pushed.append, watcher=watcher)
    return w, pushed


# --- the batch processor ------------------------------------------------------------------------------------------

def test_newest_request_per_user_wins_and_one_push_per_batch():
    proc, pushed, producer = processor()
    rows = proc.process(messages(request("a", 100, "a-old"), request("b", 50), request("a", 300, "a-new")))
    assert sorted(r["user_id"] for r in rows) == ["a", "b"]
    assert {r["user_id"]: r["request_id"] for r in rows}["a"] == "a-new"
    assert len(pushed) == 1 and pushed[0] == rows
    assert proc.stats.requests == 3 and proc.stats.superseded == 1 and proc.stats.generated == 2
    records = [CODEC.decode(v)[1] for _, _, v, _ in producer.on(STREAMS.queries_topic)]
    assert sorted(r["user_id"] for r in records) == ["a", "b"] and all("freshness_ms" not in r for r in records)
    assert producer.flushes == 1


def test_undecodable_request_is_dead_lettered_and_the_rest_generated():
    proc, pushed, producer = processor()
    bad = Message(STREAMS.regen_topic, 2, 17, b"x", b"not avro")
    rows = proc.process([bad, *messages(request("a"))])
    assert [r["user_id"] for r in rows] == ["a"]
    [(topic, key, value, headers)] = producer.on(STREAMS.dlq_topic)
    assert value == b"not avro" and headers["dlq.reason"] == b"bad_header" and headers["dlq.offset"] == b"17"
    assert proc.stats.dead_lettered == 1 and proc.stats.requests == 1


def test_a_failing_generator_is_retried_once_and_nothing_is_lost():
    generator = Scripted(fail=1)
    proc, pushed, producer = processor(generator)
    rows = proc.process(messages(request("a"), request("b")))
    assert len(generator.calls) == 2 and [r["user_id"] for r in rows] == ["a", "b"]
    assert proc.stats.generation_failures == 1 and proc.stats.failed_batches == 0
    assert not producer.on(STREAMS.dlq_topic)


def test_a_batch_that_fails_twice_goes_to_the_dead_letter_topic():
    generator = Scripted(fail=2)
    proc, pushed, producer = processor(generator)
    batch = messages(request("a", 100), request("b", 100), request("a", 200), partition=3, start=40)
    assert proc.process(batch) == []
    assert len(generator.calls) == 2 and pushed == [] and not producer.on(STREAMS.queries_topic)
    dead = producer.on(STREAMS.dlq_topic)
    assert [h["dlq.reason"] for *_, h in dead] == [b"generation_failed"] * 2  # the kept (newest) requests
    assert {v for _, _, v, _ in dead} == {batch[1].value, batch[2].value}  # original bytes
    assert {h["dlq.offset"] for *_, h in dead} == {b"41", b"42"} and all(h["dlq.partition"] == b"3" for *_, h in dead)
    assert b"CUDA out of memory" in dead[0][3]["dlq.detail"]
    assert proc.stats.failed_batches == 1 and proc.stats.dead_lettered == 2 and proc.stats.generation_failures == 2


def test_a_wrong_number_of_generations_counts_as_a_failure():
    proc, _, producer = processor(Scripted(wrong_length=True))
    assert proc.process(messages(request("a"), request("b"))) == []
    assert len(producer.on(STREAMS.dlq_topic)) == 2


def test_late_requests_are_generated_and_counted():
    now = int(time.time() * 1000)
    proc, _, _ = processor(gen=config(request_timeout_s=30))
    rows = proc.process(messages(request("old", now - 120_000), request("new", now - 1_000)))
    assert sorted(r["user_id"] for r in rows) == ["new", "old"]
    assert proc.stats.late == 1


def test_rows_name_the_version_that_started_the_batch_even_if_swapped_meanwhile():
    proc, _, _ = processor()

    class SwapsMidBatch(Scripted):
        def generate(self, contexts):
            proc.swap(Scripted("fake@v2"))  # a swap arriving while this batch is generated
            return super().generate(contexts)

    proc.swap(SwapsMidBatch("fake@v1"))
    first = proc.process(messages(request("a")))
    second = proc.process(messages(request("b")))
    assert [r["model_version"] for r in first] == ["fake@v1"]
    assert [r["model_version"] for r in second] == ["fake@v2"]
    assert first[0]["queries"] == ["a tennis by fake@v1"]


# --- the worker loop ----------------------------------------------------------------------------------------------

def test_the_queue_stays_bounded_and_batches_are_cut_from_it():
    consumer = FakeConsumer(messages(*[request(f"u{i}") for i in range(20)]))
    w, pushed = worker(consumer, gen=config(batch_size=3, max_queue=5))
    for _ in range(10):
        w.step()
        assert len(w.queue) <= 5
    assert all(0 < n <= 5 for n in consumer.polls)
    assert sum(len(rows) for rows in pushed) == 20 and [len(rows) for rows in pushed][:6] == [3] * 6


def test_each_batch_commits_only_its_own_offsets():
    consumer = FakeConsumer(messages(*[request(f"u{i}") for i in range(6)], partition=1, start=100))
    w, _ = worker(consumer, gen=config(batch_size=4, max_queue=8))
    w.step()
    assert consumer.commits == [{(STREAMS.regen_topic, 1): 104}]  # 2 more are queued, not committed
    assert len(w.queue) == 2
    w.step()
    assert consumer.commits[-1] == {(STREAMS.regen_topic, 1): 106}


def test_a_dead_lettered_batch_is_committed():
    consumer = FakeConsumer(messages(request("a"), request("b")))
    w, pushed = worker(consumer, generator=Scripted(fail=5))
    w.step()
    assert pushed == [] and consumer.commits == [{(STREAMS.regen_topic, 0): 2}]
    assert len(w.producer.on(STREAMS.dlq_topic)) == 2


def test_a_partial_batch_waits_for_batch_wait_ms():
    consumer = FakeConsumer(messages(request("a")))
    w, pushed = worker(consumer, gen=config(batch_wait_ms=60_000))
    assert w.step() == [] and len(w.queue) == 1 and consumer.commits == []
    w.queue[0].received -= 61  # as if it had waited a minute
    assert [r["user_id"] for r in w.step()] == ["a"]


def test_revoked_partitions_leave_the_queue():
    consumer = FakeConsumer(messages(request("a"), partition=0) + messages(request("b"), partition=1))
    w, _ = worker(consumer, gen=config(batch_wait_ms=60_000))
    w.step()
    TP = namedtuple("TP", "topic partition")
    w.drop_partitions([TP(STREAMS.regen_topic, 0)])
    assert [p.message.partition for p in w.queue] == [1]


def test_stats_expose_counters_queue_and_latency_percentiles(caplog):
    consumer = FakeConsumer(messages(*[request(f"u{i}") for i in range(6)], request("u0", 1)))
    w, _ = worker(consumer, gen=config(batch_size=4, max_queue=8, stats_every=2))
    with caplog.at_level(logging.INFO, logger="streams.generator.worker"):
        w.step()
        stats = w.stats()
        assert stats["queue"] == 3 and stats["max_queue"] == 8 and stats["batches"] == 1
        w.step()
    stats = w.stats()
    for key in ("queue", "batch_ms_p50", "batch_ms_p99", "requests", "generated", "invalid", "late", "reloads",
                "dead_lettered", "superseded", "version", "answered"):
        assert key in stats
    assert stats["requests"] == 7 and stats["generated"] == 7 and stats["version"] == "fake@v1"
    assert stats["answered"] == {"fake@v1": 7} and stats["late"] == 1  # u0's second request is stamped 1970
    assert 0 < stats["batch_ms_p50"] <= stats["batch_ms_p99"]
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("worker stats:")]
    assert len(logged) == 1 and json.loads(logged[0].split(": ", 1)[1])["batches"] == 2  # every 2nd batch


def test_percentile_is_nearest_rank():
    assert percentile([], 50) == 0.0
    assert percentile([5.0], 99) == 5.0
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0 and percentile(values, 99) == 99.0 and percentile(values, 100) == 100.0


def test_next_offsets_per_partition():
    batch = messages(request("a"), request("b"), partition=0, start=5) + messages(request("c"), partition=2)
    assert next_offsets(batch) == {(STREAMS.regen_topic, 0): 7, (STREAMS.regen_topic, 2): 1}


def test_a_queue_smaller_than_a_batch_is_refused():
    with pytest.raises(ValueError, match="max_queue"):
        worker(FakeConsumer(), gen=config(batch_size=8, max_queue=4))


def test_close_closes_everything():
    generator = Scripted()
    w, _ = worker(FakeConsumer(), generator=generator)
    w.close()
    assert w.consumer.closed and w.producer.closed and generator.closed


# --- hot swap -----------------------------------------------------------------------------------------------------

@pytest.fixture
def registry(tmp_path):
    registry = Registry(tmp_path / "registry")
    src = tmp_path / "fake-model"
    src.mkdir()
    (src / "config.json").write_text("{}")  # a FAKE model folder: the fake build below never loads it
    for version in ("v1", "v2"):
        registry.publish(src, "fake", version)
    registry.set_current("fake", "v1")
    return registry


def test_hot_swap_happens_between_batches_and_every_request_is_answered_once(registry):
    built = []

    def build(version):
        built.append(version.ref)
        return Scripted(version.ref)

    watcher = CurrentWatcher(registry, "fake", build, "fake@v1", every_s=0, background=False)
    consumer = FakeConsumer(messages(*[request(f"u{i}") for i in range(12)]))
    old = Scripted("fake@v1")
    w, pushed = worker(consumer, generator=old, watcher=watcher)
    w.step()
    registry.set_current("fake", "v2")
    w.step()
    w.step()
    versions = [[r["model_version"] for r in rows] for rows in pushed]
    assert versions == [["fake@v1"] * 4, ["fake@v2"] * 4, ["fake@v2"] * 4]
    users = [r["user_id"] for rows in pushed for r in rows]
    assert sorted(users) == sorted(f"u{i}" for i in range(12))  # none dropped, none twice
    stats = w.stats()
    assert stats["reloads"] == 1 and stats["version"] == "fake@v2" and built == ["fake@v2"]
    assert stats["answered"] == {"fake@v1": 4, "fake@v2": 8}
    assert old.closed


def test_the_old_version_serves_while_the_new_one_loads_in_the_background(registry):
    release = threading.Event()

    def slow_build(version):
        release.wait(10)
        return Scripted(version.ref)

    watcher = CurrentWatcher(registry, "fake", slow_build, "fake@v1", every_s=0)
    consumer = FakeConsumer(messages(*[request(f"u{i}") for i in range(12)]))
    w, pushed = worker(consumer, generator=Scripted("fake@v1"), watcher=watcher)
    registry.set_current("fake", "v2")
    w.step()  # starts loading v2 and serves this batch with v1
    w.step()
    assert [r["model_version"] for rows in pushed for r in rows] == ["fake@v1"] * 8
    release.set()
    watcher.wait(10)
    w.step()
    assert [r["model_version"] for r in pushed[-1]] == ["fake@v2"] * 4 and w.stats()["reloads"] == 1


def test_a_version_that_fails_to_load_leaves_the_old_one_serving(registry):
    def broken(version):
        raise OSError("no weights")

    watcher = CurrentWatcher(registry, "fake", broken, "fake@v1", every_s=0, background=False)
    w, pushed = worker(FakeConsumer(messages(request("a"))), generator=Scripted("fake@v1"), watcher=watcher)
    registry.set_current("fake", "v2")
    w.step()
    assert [r["model_version"] for r in pushed[0]] == ["fake@v1"] and w.stats()["reloads"] == 0


# --- outputs that stay invalid: previous features kept, marked stale --------------------------------------------

class Invalid(QueryGenerator):
    """FAKE generator whose output stays invalid (no valid query, as after a failed sampled retry) for ``bad``
    users; the others get one query."""

    def __init__(self, bad, version="fake@v2"):
        self.bad, self.version = set(bad), version

    def generate(self, contexts):
        return [Generation([], raw="As an AI I cannot", error="no valid query") if c.user_id in self.bad
                else Generation([f"{c.user_id} tennis by {self.version}"]) for c in contexts]


class Store:
    """FAKE online store: push writes rows as read_features would return them; read_previous reads them back."""

    def __init__(self, fail_reads=False):
        import datetime as dt

        self.dt, self.rows, self.reads, self.pushes, self.fail_reads = dt, {}, [], [], fail_reads

    def push(self, rows):
        self.pushes.append(rows)
        ts = lambda ms: None if ms is None else self.dt.datetime.fromtimestamp(ms / 1000, tz=self.dt.timezone.utc)
        for r in rows:
            self.rows[r["user_id"]] = {**r, "generated_at": ts(r["generated_at"]),
                                       "last_event_at": ts(r["last_event_at"]), "stale_since": ts(r["stale_since"])}

    def read(self, user_ids):
        if self.fail_reads:
            raise ConnectionError("online store unreachable")
        self.reads.append(list(user_ids))
        return [self.rows.get(u, {"user_id": u, "queries": None}) for u in user_ids]


def stale_worker(consumer, generator, store, fallback=None, gen=None):
    return GeneratorWorker(STREAMS, gen or config(), FeatureStoreConfig(), generator=generator,
                           embedder=HashEmbedder(dim=8), consumer=consumer, producer=FakeProducer(),
                           push=store.push, read_previous=store.read, fallback=fallback)


def test_an_invalid_output_keeps_the_previous_features_marked_stale():
    store = Store()
    first = processor(Scripted("fake@v1"))[0]
    first.push = store.push
    [fresh] = first.process(messages(request("a", 1_000, "a-1")))  # the user's previous features
    assert fresh["stale"] is False and fresh["stale_since"] is None

    consumer = FakeConsumer(messages(request("a", 2_000, "a-2"), request("b", 2_000, "b-2"), start=10))
    w = stale_worker(consumer, Invalid({"a"}), store)
    rows = w.step()
    assert store.reads == [["a"]]  # one lookup, for the user whose output stayed invalid
    by_user = {r["user_id"]: r for r in rows}
    stale = by_user["a"]
    assert stale["stale"] is True and stale["request_id"] == "a-2"
    assert stale["queries"] == fresh["queries"] == ["a tennis by fake@v1"]  # nothing of the invalid output
    assert stale["model_version"] == "fake@v1"  # the version that made the kept queries, not the failing one
    assert stale["query_embeddings"] == fresh["query_embeddings"]
    assert stale["generated_at"] == fresh["generated_at"]  # when the kept queries were made
    assert stale["stale_since"] >= fresh["generated_at"]
    assert by_user["b"]["stale"] is False and by_user["b"]["model_version"] == "fake@v2"
    assert store.pushes[-1] == rows  # one push for the batch, stale row included
    stats = w.stats()
    assert (stats["invalid"], stats["stale"], stats["fallback"], stats["unserved"]) == (1, 1, 0, 0)
    assert stats["generated"] == 1 and stats["answered"] == {"fake@v2": 2}
    records = [CODEC.decode(v)[1] for _, _, v, _ in w.producer.on(STREAMS.queries_topic)]
    assert {r["user_id"]: r["stale"] for r in records} == {"a": True, "b": False}
    assert next(r for r in records if r["user_id"] == "a")["model_version"] == "fake@v1"
    assert consumer.commits == [{(STREAMS.regen_topic, 0): 12}]  # committed once the outcome was written


def test_an_invalid_output_of_a_new_user_writes_nothing_and_is_counted():
    store = Store()
    consumer = FakeConsumer(messages(request("new")))
    w = stale_worker(consumer, Invalid({"new"}), store)
    assert w.step() == []
    assert store.pushes == [] and not w.producer.on(STREAMS.queries_topic) and not w.producer.on(STREAMS.dlq_topic)
    stats = w.stats()
    assert (stats["invalid"], stats["stale"], stats["unserved"], stats["generated"]) == (1, 0, 1, 0)
    assert consumer.commits == [{(STREAMS.regen_topic, 0): 1}]  # decided (nothing to write): not redelivered


def test_a_new_user_gets_the_configured_fallback_instead():
    from models.generators.keyphrase import KeyphraseGenerator

    store = Store()
    w = stale_worker(FakeConsumer(messages(request("new", text="Wimbledon final: Alcaraz beats Djokovic"))),
                     Invalid({"new"}), store, fallback=KeyphraseGenerator(3))
    [row] = w.step()
    assert row["model_version"] == KeyphraseGenerator(3).version and row["queries"] and row["stale"] is False
    assert w.stats()["fallback"] == 1 and w.stats()["invalid"] == 1 and w.stats()["generated"] == 1


def test_a_failed_lookup_commits_nothing_so_the_requests_are_redelivered():
    store = Store(fail_reads=True)
    consumer = FakeConsumer(messages(request("a"), request("b")))
    w = stale_worker(consumer, Invalid({"a"}), store)
    with pytest.raises(ConnectionError):
        w.step()
    assert consumer.commits == [] and store.pushes == [] and not w.producer.on(STREAMS.queries_topic)
    assert w.stats()["generated"] == 0 and w.stats()["invalid"] == 0  # nothing counted for an undecided batch


def test_stale_rows_stay_stale_since_the_first_failure():
    store = Store()
    first = processor(Scripted("fake@v1"))[0]
    first.push = store.push
    first.process(messages(request("a", 1_000)))
    w = stale_worker(FakeConsumer(messages(request("a", 2_000), request("a", 3_000), partition=0)),
                     Invalid({"a"}), store, gen=config(batch_size=1))
    [once] = w.step()
    [twice] = w.step()
    assert once["stale"] and twice["stale"] and twice["stale_since"] == once["stale_since"]
    assert twice["queries"] == once["queries"] == ["a tennis by fake@v1"]
    assert w.stats()["stale"] == 2


# --- best-of-N from the configuration, per registry version --------------------------------------------------------

def test_best_of_n_is_served_for_the_registry_s_current_version_and_after_a_reload(registry, monkeypatch):
    import models.generators.transformers_backend as tb
    import models.student as student
    from models.bestofn import BestOfN
    from models.served import generator_from_config

    built = []

    class Sampler(Scripted):
        """FAKE sampling backend standing in for TransformersGenerator(model_dir, cfg, n, temperature)."""

        def __init__(self, model_dir, cfg, n=1, temperature=0.8):
            super().__init__(f"fake@{model_dir.name}")
            self.n = n
            built.append((model_dir, n, temperature))

    monkeypatch.setattr(tb, "TransformersGenerator", Sampler)
    monkeypatch.setattr(student, "ensure_student", lambda path: path)
    gen = config(registry_dir=registry.root, model_name="fake", best_of_n=8, sample_temperature=0.6,
                 embedder="hash", fallback="", fill="", select="")
    embedder = HashEmbedder(dim=8)
    generator, watcher = generator_from_config(gen, embedder)
    assert isinstance(generator, BestOfN) and generator.embedder is embedder
    assert generator.version == "fake@v1+best-of-8"
    assert built == [(registry.load_path(registry.get("fake", "v1")), 8, 0.6)]
    registry.set_current("fake", "v2")
    watcher.every_s = 0
    watcher.poll()
    watcher.wait(10)
    ready = watcher.poll()
    assert ready is not None and isinstance(ready[1], BestOfN) and ready[1].version == "fake@v2+best-of-8"
    assert built[-1] == (registry.load_path(registry.get("fake", "v2")), 8, 0.6)


class FlakyConsumer(FakeConsumer):
    """Raises ``errors`` out of the first polls (as kafka-python does while the broker restarts), then serves."""

    def __init__(self, pending, errors):
        super().__init__(pending)
        self.errors = list(errors)

    def poll(self, timeout_ms=0, max_records=None):
        if self.errors:
            raise self.errors.pop(0)
        return super().poll(timeout_ms, max_records)


def test_the_worker_waits_out_a_broker_that_is_away(monkeypatch):
    from kafka.errors import KafkaConnectionError, NodeNotReadyError

    consumer = FlakyConsumer(messages(request("a", 100), request("b", 50)),
                             [KafkaConnectionError("111 ECONNREFUSED"), NodeNotReadyError("1")])
    w, pushed = worker(consumer)
    monkeypatch.setattr(w._stop, "wait", lambda pause: None)  # no real back-off sleep in a unit test
    for _ in range(4):
        w.step()
    assert sorted(r["user_id"] for batch in pushed for r in batch) == ["a", "b"]  # nothing lost, nothing raised
    assert w._poll_failures == 0 and consumer.commits


def test_a_poll_error_that_is_not_the_broker_being_away_is_raised():
    consumer = FlakyConsumer([], [ValueError("a bug")])
    w, _ = worker(consumer)
    with pytest.raises(ValueError, match="a bug"):
        w.step()
