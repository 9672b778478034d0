"""The generator worker's Prometheus metrics, with the FAKE generator, consumer, producer and push of
``test_worker.py``: counters and gauges come from the worker's own stats, freshness from what the push wrote."""

from __future__ import annotations

import time

from prometheus_client import generate_latest

from feature_repo.config import FeatureStoreConfig
from models.embeddings import HashEmbedder
from streams import scrape
from streams.generator.metrics import GeneratorMetrics
from streams.generator.worker import GeneratorWorker
from tests.streams.test_generator_worker import STREAMS, FakeConsumer, FakeProducer, Scripted, config, messages, request


def samples(metrics: GeneratorMetrics):
    return scrape.parse(generate_latest(metrics.registry).decode())


def make(pending, generator=None):
    metrics, pushed = GeneratorMetrics(process=False), []
    worker = GeneratorWorker(STREAMS, config(), FeatureStoreConfig(), generator=generator or Scripted(),
                             embedder=HashEmbedder(dim=8), consumer=FakeConsumer(pending), producer=FakeProducer(),
                             push=metrics.observing(pushed.append))
    metrics.watch(worker.stats)
    return worker, metrics, pushed


def test_counters_and_queue_follow_the_worker_stats():
    now = int(time.time() * 1000)
    pending = messages(*[request(f"u{i}", emitted_at=now - 3000) for i in range(6)])
    worker, metrics, pushed = make(pending)
    worker.step()  # polls all six (queue of 8), processes a batch of four
    s = samples(metrics)
    assert scrape.value(s, "interests_generator_requests_total") == 4
    assert scrape.value(s, "interests_generator_generated_total") == 4
    assert scrape.value(s, "interests_generator_batches_total") == 1
    assert scrape.value(s, "interests_generator_queue") == 2
    assert scrape.value(s, "interests_generator_max_queue") == 8
    assert scrape.value(s, "interests_generator_answered_total", version="fake@v1") == 4
    assert scrape.value(s, "interests_generator_batch_ms_p99") > 0
    worker.step()
    assert scrape.value(samples(metrics), "interests_generator_generated_total") == 6
    assert scrape.value(samples(metrics), "interests_generator_queue") == 0
    assert len(pushed) == 2


def test_failed_batches_and_dead_letters_are_counted():
    worker, metrics, _ = make(messages(request("u1"), request("u2")), generator=Scripted(fail=2))
    worker.step()
    s = samples(metrics)
    assert scrape.value(s, "interests_generator_generation_failures_total") == 2
    assert scrape.value(s, "interests_generator_failed_batches_total") == 1
    assert scrape.value(s, "interests_generator_dead_lettered_total") == 2
    assert scrape.value(s, "interests_generator_generated_total") == 0


def test_freshness_is_measured_from_the_newest_event_when_the_push_returns():
    now = int(time.time() * 1000)
    # the newest signal is 1 s before the request, which was emitted 3 s ago
    worker, metrics, _ = make(messages(request("u1", emitted_at=now - 3000)))
    worker.step()
    s = samples(metrics)
    freshness = scrape.buckets(s, "interests_generator_feature_freshness_seconds")
    latency = scrape.buckets(s, "interests_generator_request_to_feature_seconds")
    assert freshness[-1][1] == 1 and latency[-1][1] == 1
    assert 3.5 <= scrape.quantile(0.5, freshness) <= 10
    assert 2.5 <= scrape.quantile(0.5, latency) <= 5
    assert scrape.value(s, "interests_generator_push_seconds_count") == 1


def test_a_push_that_fails_observes_nothing_and_raises():
    metrics = GeneratorMetrics(process=False)

    def broken(rows):
        raise ConnectionError("redis is down")

    push = metrics.observing(broken)
    try:
        push([{"last_event_at": 0, "generated_at": 0}])
    except ConnectionError:
        pass
    else:
        raise AssertionError("the push error was swallowed")
    assert scrape.buckets(samples(metrics), "interests_generator_feature_freshness_seconds")[-1][1] == 0


def test_the_service_wires_an_observed_push_the_stale_policys_reader_and_the_delete_path(monkeypatch, tmp_path):
    from streams.generator import service

    real = service.GeneratorWorker

    def worker_without_kafka(streams, gen, feast, **kwargs):
        return real(streams, gen, feast, generator=Scripted(), embedder=HashEmbedder(dim=8),
                    consumer=FakeConsumer(), producer=FakeProducer(), **kwargs)

    monkeypatch.setattr(service, "GeneratorWorker", worker_without_kafka)
    worker, metrics = service.build(STREAMS, config(), FeatureStoreConfig(data_dir=tmp_path / "feast"),
                                    GeneratorMetrics(process=False))
    processor = worker.processor
    assert processor.push.__name__ == "push_and_observe"  # the store's push, observed for the freshness histograms
    assert processor.read_previous.func.__name__ == "read_features"  # previous features for the stale policy
    assert processor.delete.func.__name__ == "forget_users"  # online and offline rows (a deletion, a revocation)
    assert worker.store is not None and processor.read_previous.args == (worker.store,)
