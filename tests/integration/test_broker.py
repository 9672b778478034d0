"""The project's own broker command on the real Apache Kafka: start (with topics), status, stop."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from streams.config import StreamsConfig
from streams.demo import free_port_pair

pytestmark = pytest.mark.integration


def interests(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "interests_cli", *args], env=env, capture_output=True, text=True,
                          timeout=180)


def test_kafka_start_creates_topics_and_stop_ends_the_broker(tmp_path):
    from kafka import KafkaAdminClient

    port = free_port_pair()
    env = {**os.environ, "INTERESTS_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}", "INTERESTS_STATE_DIR": str(tmp_path)}
    cfg = StreamsConfig.from_env(env)
    try:
        started = interests(env, "kafka", "start")
        assert started.returncode == 0, started.stderr
        assert interests(env, "kafka", "status").returncode == 0
        admin = KafkaAdminClient(bootstrap_servers=cfg.bootstrap_servers)
        try:
            described = admin.describe_topics(list(cfg.topic_partitions()))
            partitions = {t.get("topic", t.get("name")): len(t["partitions"]) for t in described}
        finally:
            admin.close()
        assert partitions == cfg.topic_partitions()
        assert (tmp_path / "kafka" / "logs" / "server.log").stat().st_size > 0
        again = interests(env, "kafka", "topics")  # idempotent
        assert again.returncode == 0 and "exists" in again.stdout
    finally:
        stopped = interests(env, "kafka", "stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert interests(env, "kafka", "status").returncode == 1
