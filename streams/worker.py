"""Runs the Faust stream worker: ``interests stream worker`` (or ``python -m streams.worker``)."""

from __future__ import annotations

import logging
from pathlib import Path

from models.embeddings import make_embedder
from streams.agents import register
from streams.app import make_app
from streams.config import StreamsConfig

log = logging.getLogger(__name__)


def build(cfg: StreamsConfig):
    app = make_app(cfg)
    embedder = make_embedder(cfg.embedder)
    noise_filter = None
    if cfg.noise_model:
        from training.noise import NoiseFilter

        noise_filter = NoiseFilter.load(Path(cfg.noise_model), embedder=embedder, threshold=cfg.noise_threshold)
        log.info("noise filter on: %s (threshold %.2f)", cfg.noise_model, cfg.noise_threshold)
    return register(app, cfg, embedder, noise_filter=noise_filter)


def run(cfg: StreamsConfig, loglevel: str = "info") -> None:
    """Blocks until the worker is stopped (SIGTERM or SIGINT)."""
    parts = build(cfg)
    log.info("stream worker: %s on %s", cfg.app_id, cfg.bootstrap_servers)
    parts.app.main_argv = None
    from faust.worker import Worker

    Worker(parts.app, loglevel=loglevel, quiet=True, redirect_stdouts=False).execute_from_commandline()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    run(StreamsConfig.from_env())
