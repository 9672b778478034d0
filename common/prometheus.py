"""The Prometheus side both workers share: in-memory metric values, the histogram buckets, the /metrics endpoint."""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, start_http_server, values

log = logging.getLogger(__name__)

# Importing Feast (its feast.metrics module) sets PROMETHEUS_MULTIPROC_DIR, which puts prometheus_client in
# multi-process mode for the whole process and its children: every metric of one name then shares one slot in a
# memory-mapped file, so two registries in one process count into each other (seen in the tests), and files pile up
# in a temporary folder. Each of our processes serves its own registry, so metric values stay in memory.
values.ValueClass = values.MutexValue
# seconds; fine at the low end (the < 1 s goal) and wide enough for a replay of old events
FRESHNESS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0,
                     30.0, 60.0, 300.0, 3600.0, 86400.0)
BATCH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def serve(registry: CollectorRegistry, port: int, host: str = "0.0.0.0"):
    """Serve ``registry`` at ``http://host:port/metrics`` from a daemon thread; returns the server, or None when
    ``port`` is 0 or cannot be bound (logged as an error: the worker goes on without an endpoint, and
    ``interests health`` reports it missing)."""
    if not port:
        return None
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        log.error("metrics endpoint not started on %s:%d (%s): set another port", host, port, exc)
        return None
    return server
