"""``interests health``: is the deployment working? Each check answers ok or not with a one-line reason.

Checks (``--only`` picks some; all but ``feature-server`` run by default):

- ``broker``: the brokers answer a metadata request and every topic of ``StreamsConfig.topic_partitions()`` exists;
- ``stream-group`` / ``generator-group``: the consumer group is ``Stable`` with at least one member, and its lag
  (end offset - committed offset, summed over its input topics) is reported, failing above ``--max-lag`` if given;
- ``stream-metrics`` / ``generator-metrics``: the worker's Prometheus endpoint answers with its metrics (the line
  shows history updates and dead letters, or the generator's queue, batch p99 and features written);
- ``store``: the Feast online store (SQLite or Redis) opens and answers a read;
- ``feature-server``: ``GET /health`` and one lookup through the HTTP feature server (``--feature-server URL``).

Exit status 0 when every selected check passed, 1 otherwise. Used by ``docker-compose.yml``'s health checks.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from streams import scrape
from streams.config import StreamsConfig

CHECKS = ("broker", "stream-group", "generator-group", "stream-metrics", "generator-metrics", "store",
          "feature-server")
DEFAULT_CHECKS = CHECKS[:-1]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


def unreachable(bootstrap: str, timeout: float = 2.0) -> str:
    """Why none of the bootstrap servers accepts a TCP connection ("" when one does). Checked first, because the
    Kafka client would retry for half a minute before it gives up."""
    errors = []
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=timeout):
                return ""
        except (OSError, ValueError) as exc:
            errors.append(f"{server}: {exc}")
    return "; ".join(errors)


def check_broker(cfg: StreamsConfig, timeout: float = 5.0) -> Check:
    from kafka import KafkaAdminClient

    why = unreachable(cfg.bootstrap_servers)
    if why:
        return Check("broker", False, f"not reachable ({why}): is Kafka running? (`interests kafka status`)")
    try:
        admin = KafkaAdminClient(bootstrap_servers=cfg.bootstrap_servers, request_timeout_ms=int(timeout * 1000))
        try:
            brokers = len(admin.describe_cluster().get("brokers", []))
            missing = sorted(set(cfg.topic_partitions()) - set(admin.list_topics()))
        finally:
            admin.close()
    except Exception as exc:  # any client error means the same thing here: not reachable
        return Check("broker", False, f"{cfg.bootstrap_servers} not reachable ({type(exc).__name__}: {exc})")
    if missing:
        return Check("broker", False, f"missing topics {', '.join(missing)}: run `interests kafka topics`")
    return Check("broker", True, f"{cfg.bootstrap_servers}: {brokers} broker(s), all topics present")


def group_lag(bootstrap: str, group: str, topics: list[str], timeout: float = 5.0) -> tuple[str, int, int]:
    """(state, members, lag) of a consumer group over ``topics``; a partition it never committed counts in full."""
    from kafka import KafkaAdminClient, KafkaConsumer
    from kafka.structs import TopicPartition

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000))
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000) + 1000)
    try:
        described = admin.describe_groups([group])[group]
        committed = admin.list_group_offsets(group).get(group, {})
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        ends = consumer.end_offsets(partitions) if partitions else {}
    finally:
        consumer.close()
        admin.close()
    lag = 0
    for tp, end in ends.items():
        meta = committed.get(tp)
        lag += max(end - (meta.offset if meta is not None and meta.offset >= 0 else 0), 0)
    state = described.get("group_state", described.get("state", "?"))
    return state, len(described.get("members") or []), lag


def check_group(name: str, bootstrap: str, group: str, topics: list[str], max_lag: int | None) -> Check:
    why = unreachable(bootstrap)
    if why:
        return Check(name, False, f"group {group} not readable: broker not reachable ({why})")
    try:
        state, members, lag = group_lag(bootstrap, group, topics)
    except Exception as exc:
        return Check(name, False, f"group {group} not readable ({type(exc).__name__}: {exc})")
    detail = f"group {group} {state}, {members} member(s), lag {lag}"
    if state != "Stable" or members == 0:
        return Check(name, False, detail + ": no worker is consuming")
    if max_lag is not None and lag > max_lag:
        return Check(name, False, detail + f" > {max_lag}")
    return Check(name, True, detail)


def check_metrics(name: str, url: str, expect: str) -> Check:
    try:
        samples = scrape.scrape(url)
    except scrape.ScrapeError as exc:
        return Check(name, False, str(exc))
    if not any(key[0].startswith(expect) for key in samples):
        return Check(name, False, f"{url} answers but has no {expect}* metrics: is it the right worker?")
    if expect.startswith("interests_generator"):
        queue = scrape.value(samples, "interests_generator_queue")
        room = scrape.value(samples, "interests_generator_max_queue")
        p99 = scrape.value(samples, "interests_generator_batch_ms_p99")
        written = scrape.value(samples, "interests_generator_generated_total")
        # a full queue is back-pressure (the worker is behind), not a failure: the group's lag tells how far
        return Check(name, True, f"{url}: queue {queue:.0f}/{room:.0f}, batch p99 {p99:.0f} ms, "
                                 f"{written:.0f} features written")
    updates = scrape.value(samples, "interests_stream_history_updates_total")
    dead = scrape.value(samples, "interests_stream_dead_lettered_total")
    return Check(name, True, f"{url}: {updates:.0f} history updates, {dead:.0f} dead-lettered")


def check_store(feast_cfg) -> Check:
    try:
        from feast.errors import FeatureServiceNotFoundException, FeatureViewNotFoundException

        from feature_repo.store import open_store, read_features

        read_features(open_store(feast_cfg), ["__health_probe__"])  # reads only: a health check changes nothing
    except (FeatureServiceNotFoundException, FeatureViewNotFoundException):
        return Check("store", False, f"no feature definitions in the registry at {feast_cfg.data_dir}: run "
                                     f"`interests features apply`")
    except Exception as exc:
        return Check("store", False, f"{feast_cfg.online_store} store not readable ({type(exc).__name__}: {exc})")
    where = feast_cfg.redis_connection if feast_cfg.online_store == "redis" else str(feast_cfg.data_dir)
    return Check("store", True, f"{feast_cfg.online_store} online store at {where} answers reads")


def check_feature_server(url: str) -> Check:
    from feature_repo.server import FeatureServerError, healthy, lookup

    if not healthy(url):
        return Check("feature-server", False, f"{url}/health did not answer 200")
    try:
        lookup(url, ["__health_probe__"])
    except (FeatureServerError, KeyError) as exc:
        return Check("feature-server", False, f"lookup failed: {exc}")
    return Check("feature-server", True, f"{url} answers health and lookups")


def run_checks(only: tuple[str, ...] = DEFAULT_CHECKS, *, streams: StreamsConfig | None = None, gen=None,
               feast=None, stream_metrics: str = "", generator_metrics: str = "", feature_server: str = "",
               max_lag: int | None = None) -> list[Check]:
    """Run the selected checks; metrics URLs default to the configured ports on 127.0.0.1."""
    from feature_repo.config import FeatureStoreConfig
    from models.config import GeneratorConfig

    unknown = set(only) - set(CHECKS)
    if unknown:
        raise ValueError(f"unknown checks {sorted(unknown)}: choose from {', '.join(CHECKS)}")
    cfg = streams or StreamsConfig.from_env()
    gen = gen or GeneratorConfig.from_env()
    if feature_server and "feature-server" not in only:
        only = (*only, "feature-server")
    results = []
    for name in only:
        if name == "broker":
            results.append(check_broker(cfg))
        elif name == "stream-group":
            results.append(check_group(name, cfg.bootstrap_servers, cfg.app_id, cfg.stream_inputs, max_lag))
        elif name == "generator-group":
            results.append(check_group(name, cfg.bootstrap_servers, gen.group_id, [cfg.regen_topic], max_lag))
        elif name == "stream-metrics":
            url = stream_metrics or f"http://127.0.0.1:{cfg.metrics_port}/metrics"
            results.append(check_metrics(name, url, "interests_stream_"))
        elif name == "generator-metrics":
            url = generator_metrics or f"http://127.0.0.1:{gen.metrics_port}/metrics"
            results.append(check_metrics(name, url, "interests_generator_"))
        elif name == "store":
            results.append(check_store(feast or FeatureStoreConfig.from_env()))
        elif name == "feature-server":
            if not feature_server:
                results.append(Check(name, False, "give the server's URL with --feature-server"))
            else:
                results.append(check_feature_server(feature_server))
    return results
