"""The Faust application object, and nothing else: agents, topics and tables are attached in ``streams.agents``;
``streams.faust_fixes`` guards its delivery."""

from __future__ import annotations

from pathlib import Path

import faust

from streams import faust_fixes
from streams.config import StreamsConfig


def make_app(cfg: StreamsConfig, broker: str | None = None) -> faust.App:
    """A Faust app on the configured broker. Tables live in memory and are rebuilt from their changelog topics on
    restart (no RocksDB needed). ``broker`` overrides the configured one."""
    app = faust.App(
        cfg.app_id,
        broker=broker or f"kafka://{cfg.bootstrap_servers}",
        store="memory://",
        datadir=str(Path(cfg.state_dir) / "faust"),
        topic_partitions=cfg.event_partitions,
        topic_replication_factor=1,
        # messages are Avro single-object bytes, decoded by our own codec
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=cfg.web_port > 0,
        web_port=cfg.web_port or 6066,
        web_bind="127.0.0.1",
        producer_acks=-1,
        # Table changelog records are whole per-user states (KBs each): aiokafka's 16 KB default batch held about two
        # of them per request. Bigger batches and a few ms of linger cut the socket writes by 40 % in the profile
        # (26k -> 16k for 20k events); see the load benchmark in the README.
        producer_max_batch_size=1024 * 1024,
        producer_max_request_size=8 * 1024 * 1024,
        producer_linger_ms=5,
        broker_commit_every=cfg.commit_every,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        table_standby_replicas=0,
        # a killed worker's partitions move to a live one (or to its restarted self) after this long
        broker_session_timeout=cfg.session_timeout_s,
        broker_heartbeat_interval=min(3.0, cfg.session_timeout_s / 3),
    )
    faust_fixes.install(app)  # at-least-once across partition hand-overs (see the module)
    return app
