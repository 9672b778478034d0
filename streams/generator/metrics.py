"""Prometheus metrics of the generator worker (names start with ``interests_generator_``).

Counters and gauges are read at scrape time from the worker's own ``stats()`` (``streams/generator/worker.py``'s
``WorkerStats``: one source of truth for requests, regenerations done, dead letters, queue length and batch latency
percentiles). Histograms of freshness are observed where features are written: :meth:`GeneratorMetrics.observing`
wraps the Feast push, so "written" means the online store call returned and a ranker can read the row.

- feature freshness: written time - ``last_event_at`` (the event time of the newest signal the queries were made
  from): the end-to-end freshness, event to feature visible in Feast;
- request latency: written time - the regeneration request's emit time (queue wait + generation + embed + push).
"""

from __future__ import annotations

import time
from typing import Any, Callable

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.process_collector import ProcessCollector

from common.prometheus import FRESHNESS_BUCKETS, serve

PREFIX = "interests_generator"
COUNTERS = {
    "requests": "Regeneration requests decoded.",
    "superseded": "Older requests of a user replaced by a newer one in the same batch.",
    "generated": "Regenerations done: feature rows of newly generated queries written (the model's or fallback's).",
    "invalid": "Users the model left without a valid query after its retry (= fallback + stale + unserved).",
    "fallback": "... of them written with the fallback's queries.",
    "stale": "... of them whose previous features were written again, marked stale.",
    "unserved": "... of them with nothing written (no previous features, no valid fallback).",
    "late": "Requests older than the request timeout when their batch started (still generated).",
    "dead_lettered": "Requests sent to the dead-letter topic (undecodable, or their batch failed twice).",
    "generation_failures": "Generator calls that raised.",
    "failed_batches": "Batches dead-lettered after the retry.",
    "reloads": "Hot swaps to a new model version.",
    "batches": "Micro-batches processed.",
    "answered": "Requests answered, by model version.",
}
GAUGES = {
    "queue": "Requests waiting in the worker's in-memory queue.",
    "max_queue": "Capacity of the queue (polling pauses when it is full).",
    "batch_ms_p50": "Median batch latency (generate + embed + write) over the last 1000 batches, milliseconds.",
    "batch_ms_p99": "99th percentile batch latency over the last 1000 batches, milliseconds.",
}


class StatsCollector:
    """Exports ``stats() -> dict`` at scrape time: ``<prefix>_<key>_total`` counters for ``counters`` (a dict value
    becomes one labelled series per key) and ``<prefix>_<key>`` gauges for ``gauges``."""

    def __init__(self, stats: Callable[[], dict], prefix: str = PREFIX, counters: dict[str, str] = COUNTERS,
                 gauges: dict[str, str] = GAUGES):
        self.stats, self.prefix, self.counters, self.gauges = stats, prefix, counters, gauges

    def collect(self):
        try:
            values = self.stats()
        except RuntimeError:  # a deque changed while it was read: this scrape goes without the worker's numbers
            return
        for key, doc in self.counters.items():
            value = values.get(key, 0)
            if isinstance(value, dict):
                family = CounterMetricFamily(f"{self.prefix}_{key}", doc, labels=["version"])
                for label, n in sorted(value.items()):
                    family.add_metric([str(label)], float(n))
            else:
                family = CounterMetricFamily(f"{self.prefix}_{key}", doc, value=float(value))
            yield family
        for key, doc in self.gauges.items():
            yield GaugeMetricFamily(f"{self.prefix}_{key}", doc, value=float(values.get(key, 0)))


class GeneratorMetrics:
    """The generator worker's registry: its stats (once :meth:`watch` is called), write-time histograms, process."""

    def __init__(self, registry: CollectorRegistry | None = None, process: bool = True):
        self.registry = r = registry if registry is not None else CollectorRegistry()
        if process:
            ProcessCollector(registry=r)
        self.feature_freshness = Histogram(
            f"{PREFIX}_feature_freshness_seconds",
            "Event time of the newest signal used to the feature row being readable in the online store.",
            buckets=FRESHNESS_BUCKETS, registry=r)
        self.request_latency = Histogram(
            f"{PREFIX}_request_to_feature_seconds",
            "Regeneration request emitted to its feature row written (queue + generation + embed + push).",
            buckets=FRESHNESS_BUCKETS, registry=r)
        self.push_seconds = Histogram(f"{PREFIX}_push_seconds", "One batched write to the online store.",
                                      buckets=FRESHNESS_BUCKETS, registry=r)

    def watch(self, stats: Callable[[], dict]) -> None:
        """Export a worker's ``stats()`` (counters and gauges) from now on."""
        self.registry.register(StatsCollector(stats))

    def written(self, rows: list[dict], now: float | None = None) -> None:
        """Rows (query-feature records with ``last_event_at``, ``generated_at``, ``freshness_ms``) are readable."""
        now = time.time() if now is None else now
        for row in rows:
            self.feature_freshness.observe(max(now - _seconds(row["last_event_at"]), 0.0))
            emitted = _seconds(row["generated_at"]) - row.get("freshness_ms", 0) / 1000.0
            self.request_latency.observe(max(now - emitted, 0.0))

    def observing(self, push: Callable[[list[dict]], Any]) -> Callable[[list[dict]], Any]:
        """``push`` that also times itself and observes the freshness of what it wrote."""

        def push_and_observe(rows: list[dict]):
            started = time.perf_counter()
            result = push(rows)
            self.push_seconds.observe(time.perf_counter() - started)
            self.written(rows)
            return result

        return push_and_observe

    def serve(self, port: int, host: str = "0.0.0.0"):
        return serve(self.registry, port, host)


def _seconds(value) -> float:
    return value.timestamp() if hasattr(value, "timestamp") else float(value) / 1000.0
