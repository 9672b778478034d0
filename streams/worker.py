"""Runs the Faust stream worker: ``interests stream worker`` (or ``python -m streams.worker``)."""

from __future__ import annotations

import logging
from pathlib import Path

from common.prometheus import serve
from models.embeddings import make_embedder
from streams.agents import register
from streams.app import make_app
from streams.config import StreamsConfig
from streams.logs import log_format, logging_config
from streams.metrics import StreamMetrics

log = logging.getLogger(__name__)


def build(cfg: StreamsConfig, metrics: StreamMetrics | None = None):
    Path(cfg.state_dir).mkdir(parents=True, exist_ok=True)  # Faust makes only the last level of its data folder
    app = make_app(cfg)
    if cfg.torch_threads and cfg.embedder == "minilm":
        import torch

        torch.set_num_threads(cfg.torch_threads)
    embedder = make_embedder(cfg.embedder)
    noise_filter = None
    if cfg.noise_model:
        from models.noise import NoiseFilter

        noise_filter = NoiseFilter.load(Path(cfg.noise_model), embedder=embedder, threshold=cfg.noise_threshold)
        log.info("noise filter on: %s (threshold %.2f)", cfg.noise_model, cfg.noise_threshold)
    catalogue = None
    if cfg.catalogue:
        from streams.catalogue import Catalogue

        catalogue = Catalogue.load(cfg.catalogue)
        log.info("catalogue vectors for %d articles: %s", len(catalogue), cfg.catalogue)
    return register(app, cfg, embedder, noise_filter=noise_filter, metrics=metrics, catalogue=catalogue)


def run(cfg: StreamsConfig, loglevel: str = "info") -> None:
    """Blocks until the worker is stopped (SIGTERM or SIGINT)."""
    metrics = StreamMetrics()
    parts = build(cfg, metrics)
    if serve(metrics.registry, cfg.metrics_port, cfg.metrics_host):
        log.info("metrics on http://%s:%d/metrics", cfg.metrics_host, cfg.metrics_port)
    log.info("stream worker: %s on %s", cfg.app_id, cfg.bootstrap_servers)
    parts.app.main_argv = None
    from faust.worker import Worker

    # our logging configuration, not Faust's own handlers (so INTERESTS_LOG_FORMAT=json holds in the worker too)
    Worker(parts.app, loglevel=loglevel, quiet=True, redirect_stdouts=False,
           logging_config=logging_config(loglevel, log_format())).execute_from_commandline()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    run(StreamsConfig.from_env())
