"""Prometheus metrics of the Faust stream worker: the definitions, and the HTTP endpoint that serves them.

The agents only call the methods here (``streams/agents.py``); ``interests stream worker`` serves them on
``INTERESTS_METRICS_PORT`` (default 9108, 0 turns the endpoint off) at ``/metrics``. Each worker process owns one
:class:`StreamMetrics` with its own registry, so tests build as many as they like without clashing.

Freshness here is stream-side: seconds from an event's own time (its ``ts`` field, event time) to the moment its
signal is in the user's history and interest vector. It is meaningful when producers stamp events near real time;
a replay of old events reports their age.
"""

from __future__ import annotations

import logging
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.process_collector import ProcessCollector

from common.prometheus import BATCH_BUCKETS, FRESHNESS_BUCKETS

log = logging.getLogger(__name__)

class StreamMetrics:
    """Counters, histograms and gauges of one stream worker process (names start with ``interests_stream_``)."""

    def __init__(self, registry: CollectorRegistry | None = None, process: bool = True):
        self.registry = r = registry if registry is not None else CollectorRegistry()
        if process:
            ProcessCollector(registry=r)  # process_resident_memory_bytes, process_cpu_seconds_total, ...
        self.events_in = Counter("interests_stream_events_in", "Raw events read by the ingest agent.", ["topic"],
                                 registry=r)
        self.forwarded = Counter("interests_stream_events_forwarded",
                                 "Valid events re-keyed by user onto the by-user topic.", registry=r)
        self.dead_lettered = Counter("interests_stream_dead_lettered",
                                     "Events sent to the dead-letter topic, by reason.", ["reason"], registry=r)
        self.history_updates = Counter("interests_stream_history_updates",
                                       "Signals added to a user's history and interest vector.", registry=r)
        self.duplicates = Counter("interests_stream_duplicates", "Redelivered events ignored by event id.",
                                  registry=r)
        self.noise_filtered = Counter("interests_stream_noise_filtered",
                                      "Signals dropped by the noise classifier, by domain.", ["domain"], registry=r)
        self.regen_requested = Counter("interests_stream_regenerations_requested",
                                       "Regeneration requests sent to the generator, by reason.", ["reason"],
                                       registry=r)
        self.batch_seconds = Histogram("interests_stream_batch_seconds",
                                       "Time the track agent spends on one micro-batch.", buckets=BATCH_BUCKETS,
                                       registry=r)
        self.embed_seconds = Histogram("interests_stream_embed_seconds", "Time of one batched embedding call.",
                                       buckets=BATCH_BUCKETS, registry=r)
        self.freshness = Histogram("interests_stream_update_freshness_seconds",
                                   "Event time to the signal being in the user's history (stream-side freshness).",
                                   buckets=FRESHNESS_BUCKETS, registry=r)
        self.record_reads = Counter("interests_stream_record_reads",
                                    "User records read by the track agent: from the record cache (hit) or unpacked "
                                    "from the table (miss).", ["result"], registry=r)
        self.vectors = Counter("interests_stream_signal_vectors",
                               "Where new signals' vectors came from: the article catalogue, the text cache (or a "
                               "repeat within the batch), or the embedding model (distinct texts).", ["source"],
                               registry=r)
        self.last_update = Gauge("interests_stream_last_update_timestamp_seconds",
                                 "Wall-clock time of the last history update (0 before the first).", registry=r)

    # --- what the agents call -----------------------------------------------------------------------------------
    def event_in(self, topic: str, n: int = 1) -> None:
        self.events_in.labels(topic or "?").inc(n)

    def dead_letter(self, reason: str) -> None:
        self.dead_lettered.labels(reason).inc()

    def updated(self, event_times_ms: list[int], now: float | None = None) -> None:
        """Signals (their event times, epoch ms) are now in their users' histories."""
        now = time.time() if now is None else now
        for ts in event_times_ms:
            self.freshness.observe(max(now - ts / 1000.0, 0.0))
        self.history_updates.inc(len(event_times_ms))
        self.last_update.set(now)

    def record_cache(self, hits: int, misses: int) -> None:
        """A batch's reads of user records: ``hits`` served by the record cache, ``misses`` unpacked."""
        if hits:
            self.record_reads.labels("hit").inc(hits)
        if misses:
            self.record_reads.labels("miss").inc(misses)

    def vector_sources(self, catalogue: int, cache: int, embedded: int) -> None:
        for source, n in (("catalogue", catalogue), ("cache", cache), ("embedded", embedded)):
            if n:
                self.vectors.labels(source).inc(n)

    def regeneration(self, reason: str) -> None:
        self.regen_requested.labels(reason).inc()
