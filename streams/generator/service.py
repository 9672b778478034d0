"""The generator worker as a service (``interests generate worker``): the Feast store, the Prometheus endpoint and
the worker, wired together. The worker itself (``streams/generator/worker.py``) knows nothing of Prometheus."""

from __future__ import annotations

import logging

from feature_repo.config import FeatureStoreConfig
from models.config import GeneratorConfig
from streams.config import StreamsConfig
from streams.generator.metrics import GeneratorMetrics
from streams.generator.worker import GeneratorWorker

log = logging.getLogger(__name__)


def build(streams: StreamsConfig, gen: GeneratorConfig, feast: FeatureStoreConfig,
          metrics: GeneratorMetrics | None = None) -> tuple[GeneratorWorker, GeneratorMetrics]:
    metrics = metrics or GeneratorMetrics()
    worker = GeneratorWorker(streams, gen, feast, observe_push=metrics.observing)
    metrics.watch(worker.stats)
    return worker, metrics


def run(streams: StreamsConfig, gen: GeneratorConfig, feast: FeatureStoreConfig) -> None:
    """Blocks until SIGTERM/SIGINT."""
    worker, metrics = build(streams, gen, feast)
    if metrics.serve(gen.metrics_port, gen.metrics_host):
        log.info("metrics on http://%s:%d/metrics", gen.metrics_host, gen.metrics_port)
    worker.run()
