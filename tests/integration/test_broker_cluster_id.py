"""The local broker starts whatever random cluster id it draws, including one that begins with "-" (1 in 64)."""

from __future__ import annotations

import uuid

import pytest

from streams import broker as broker_module
from streams.broker import Broker
from streams.config import StreamsConfig
from streams.demo import free_port_pair

pytestmark = pytest.mark.integration


def test_a_cluster_id_starting_with_a_dash_is_not_read_as_an_option(tmp_path, monkeypatch):
    dash_first = uuid.UUID(bytes=b"\xf8" + bytes(15))  # urlsafe base64 of 0xF8.. begins with "-"
    monkeypatch.setattr(broker_module.uuid, "uuid4", lambda: dash_first)
    assert broker_module.base64.urlsafe_b64encode(dash_first.bytes).decode().startswith("-")
    broker = Broker.from_config(StreamsConfig(bootstrap_servers=f"127.0.0.1:{free_port_pair()}", state_dir=tmp_path))
    try:
        broker.start()
        assert broker.reachable()
        assert "cluster.id=-" in (broker.data_dir / "meta.properties").read_text()
    finally:
        broker.stop()
