"""``interests health`` without a broker: failures are fast and say what to do; live endpoints and a store pass."""

from __future__ import annotations

import time

import pytest

from common.prometheus import serve
from feature_repo.config import FeatureStoreConfig
from feature_repo.store import open_store
from streams.config import StreamsConfig
from streams.demo import free_ports
from streams.generator.metrics import GeneratorMetrics
from streams.health import check_metrics, check_store, run_checks
from streams.metrics import StreamMetrics


def closed_port_cfg() -> StreamsConfig:
    (port,) = free_ports(1)
    return StreamsConfig(bootstrap_servers=f"127.0.0.1:{port}")


def test_an_unreachable_broker_fails_fast_with_what_to_do():
    started = time.monotonic()
    checks = run_checks(("broker", "stream-group", "generator-group"), streams=closed_port_cfg())
    assert time.monotonic() - started < 10
    assert [c.ok for c in checks] == [False, False, False]
    assert "interests kafka status" in checks[0].detail and "refused" in checks[0].detail


def test_metrics_checks_pass_on_live_endpoints_and_fail_on_the_wrong_worker():
    stream, generator = StreamMetrics(), GeneratorMetrics()
    generator.watch(lambda: {"queue": 3, "max_queue": 256, "batch_ms_p99": 120.0, "generated": 7})
    stream.updated([int(time.time() * 1000)])
    s_port, g_port = free_ports(2)
    servers = [serve(stream.registry, s_port, "127.0.0.1"), serve(generator.registry, g_port, "127.0.0.1")]
    try:
        s_url, g_url = f"http://127.0.0.1:{s_port}/metrics", f"http://127.0.0.1:{g_port}/metrics"
        ok = check_metrics("stream-metrics", s_url, "interests_stream_")
        assert ok.ok and "1 history updates" in ok.detail
        gen = check_metrics("generator-metrics", g_url, "interests_generator_")
        assert gen.ok and "queue 3/256" in gen.detail and "7 features written" in gen.detail
        wrong = check_metrics("generator-metrics", s_url, "interests_generator_")
        assert not wrong.ok and "right worker" in wrong.detail
    finally:
        for server in servers:
            server.shutdown()
    assert not check_metrics("stream-metrics", s_url, "interests_stream_").ok  # nothing listens any more


def test_a_port_in_use_does_not_stop_the_worker_but_gives_no_endpoint():
    (port,) = free_ports(1)
    first = serve(StreamMetrics().registry, port, "127.0.0.1")
    try:
        assert serve(StreamMetrics().registry, port, "127.0.0.1") is None
    finally:
        first.shutdown()


def test_store_check_needs_the_definitions_and_then_reads(tmp_path):
    cfg = FeatureStoreConfig(data_dir=tmp_path / "feast")
    missing = check_store(cfg)
    assert not missing.ok and "interests features apply" in missing.detail
    open_store(cfg, apply=True)
    assert check_store(cfg).ok


def test_feature_server_check_needs_a_url_and_unknown_checks_are_refused():
    (check,) = run_checks(("feature-server",), streams=closed_port_cfg())
    assert not check.ok and "--feature-server" in check.detail
    with pytest.raises(ValueError, match="unknown checks"):
        run_checks(("disk",))


def test_cli_exits_1_when_a_check_fails(monkeypatch, capsys):
    from interests_cli import main

    monkeypatch.setenv("INTERESTS_BOOTSTRAP_SERVERS", closed_port_cfg().bootstrap_servers)
    assert main(["health", "--only", "broker"]) == 1
    assert capsys.readouterr().out.startswith("FAIL broker:")


@pytest.mark.parametrize("repartition", [False, True])
def test_the_stream_groups_lag_covers_every_topic_the_stream_reads(monkeypatch, repartition):
    import streams.health as health

    seen = {}

    def fake_group(name, bootstrap, group, topics, max_lag):
        seen[name] = list(topics)
        return health.Check(name, True, "")

    monkeypatch.setattr(health, "check_group", fake_group)
    cfg = StreamsConfig(repartition=repartition)
    run_checks(("stream-group", "generator-group"), streams=cfg)
    # a consent or deletion backlog on the privacy topic is lag too; so is the by-user topic behind the hop
    hop = {cfg.by_user_topic} if repartition else set()
    assert set(seen["stream-group"]) == {*cfg.event_topics.values(), cfg.privacy_topic, *hop}
    assert seen["stream-group"] == cfg.stream_inputs and set(cfg.ingest_topics) <= set(cfg.stream_inputs)
    assert seen["generator-group"] == [cfg.regen_topic]
