"""Scale-out on the real parts: two Faust workers in one consumer group and two generator workers (keyphrase
backend, FAKE hashing embedder: no model cost, deterministic) on the 4-partition topics, against one worker of each
on the same events. The groups split the partitions (every worker does some of the work, seen on its own metrics
endpoint) and the end state is the same: every user's history, interest vector and feature row.

Why the events are one domain per user: the ingest agent reads the four domain topics concurrently, so a user's
events from *different* topics can reach the by-user topic in a different order from run to run, and regeneration
decisions (cold start, drift) depend on that order. Within one topic partition Kafka keeps the order, so with one
domain per user and ``INTERESTS_BATCH_SIZE=1`` (a decision after every event) the decisions are deterministic and
the two runs must agree exactly. The same deployment then answers ``interests health`` and writes JSON log lines.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict

import numpy as np
import pytest

from feature_repo.config import FeatureStoreConfig
from feature_repo.store import open_store, read_features
from models.config import GeneratorConfig
from streams import scrape
from streams import packing
from streams.demo import SAMPLE, Services, free_ports, wait_for_features
from streams.health import run_checks
from streams.replay import replay

pytestmark = pytest.mark.integration


def one_domain_per_user(folder):
    """The sample's events, keeping for each user only the domain they use most (order kept)."""
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
    counts = defaultdict(Counter)
    for row in rows:
        counts[row["user_id"]][row["type"]] += 1
    main = {user: c.most_common(1)[0][0] for user, c in counts.items()}
    kept = [r for r in rows if r["type"] == main[r["user_id"]]]
    path = folder / "events.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in kept))
    return path, len(kept), sorted(main)


def group_members(bootstrap: str, group: str) -> int:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        described = admin.describe_groups([group])[group]
    except Exception:  # e.g. the group coordinator is not elected yet on a new broker
        return 0
    finally:
        admin.close()
    state = described.get("group_state", described.get("state"))
    return len(described.get("members") or []) if state == "Stable" else 0


def wait_members(services: Services, group: str, n: int, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while group_members(services.cfg.bootstrap_servers, group) < n:
        services.check_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"group {group} did not reach {n} members in {timeout:.0f} s")
        time.sleep(0.5)


class Deployment:
    """A broker, ``n`` stream workers and ``n`` generator workers, each worker with its own metrics port."""

    def __init__(self, folder, n: int, log_format: str = "text"):
        self.services = Services(folder, backend="keyphrase", embedder="hash")
        self.services.env.update({"INTERESTS_BATCH_SIZE": "1", "INTERESTS_LOG_FORMAT": log_format})
        self.folder, self.n = folder, n
        self.stream_urls, self.generator_urls = [], []

    def start(self) -> "Deployment":
        s = self.services
        s.start_broker()
        open_store(self.feast, apply=True)  # once, before two generator workers would both apply it
        gen_group = GeneratorConfig.from_env(s.env).group_id
        for i in range(self.n):
            stream_port, web, gen_port = free_ports(3)
            s.start_worker(f"stream-worker-{i}", "stream", "worker",
                           env={"INTERESTS_METRICS_PORT": str(stream_port), "INTERESTS_WEB_PORT": str(web),
                                "INTERESTS_STATE_DIR": str(self.folder / f"faust-{i}")})
            s.start_worker(f"generator-worker-{i}", "generate", "worker",
                           env={"INTERESTS_GEN_METRICS_PORT": str(gen_port)})
            self.stream_urls.append(f"http://127.0.0.1:{stream_port}/metrics")
            self.generator_urls.append(f"http://127.0.0.1:{gen_port}/metrics")
            wait_members(s, s.cfg.app_id, i + 1)
            wait_members(s, gen_group, i + 1)
        return self

    @property
    def feast(self) -> FeatureStoreConfig:
        return FeatureStoreConfig(data_dir=self.folder / "feast")

    def metric(self, urls, name: str) -> list[float]:
        return [scrape.value(scrape.scrape(u), name) for u in urls]

    def wait_quiet(self, events: int, timeout: float = 300.0) -> None:
        """Every event applied, every regeneration request answered, queues empty, twice in a row."""
        deadline, quiet = time.monotonic() + timeout, 0
        while quiet < 2:
            self.services.check_alive()
            if time.monotonic() > deadline:
                raise AssertionError("the workers did not settle")
            updates = sum(self.metric(self.stream_urls, "interests_stream_history_updates_total"))
            requested = sum(self.metric(self.stream_urls, "interests_stream_regenerations_requested_total"))
            answered = sum(self.metric(self.generator_urls, "interests_generator_requests_total"))
            queued = sum(self.metric(self.generator_urls, "interests_generator_queue"))
            quiet = quiet + 1 if (updates == events and answered == requested and not queued) else 0
            time.sleep(1.0)


def changelog(cfg, table: str) -> dict[bytes, dict]:
    """The newest value per key of a Faust table's changelog topic."""
    from kafka import KafkaConsumer

    topic = f"{cfg.app_id}-{table}-changelog"
    consumer = KafkaConsumer(topic, bootstrap_servers=cfg.bootstrap_servers, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=3000)
    latest = {}
    try:
        for message in consumer:
            value = message.value
            latest[message.key] = None if value is None else value if table == "users" else json.loads(value)
    finally:
        consumer.close()
    return latest


def end_state(deployment: Deployment, users: list[str]) -> dict:
    cfg = deployment.services.cfg
    store = open_store(deployment.feast)
    features = {r["user_id"]: r for r in read_features(store, users)}
    records = {k: packing.unpack_user(v) for k, v in changelog(cfg, "users").items()
               if v is not None}  # streams/user_state.py, stored as MessagePack bytes (streams/packing.py)
    return {"histories": {k: v["history"] for k, v in records.items()},
            "interests": {k: v["interest"] for k, v in records.items()},
            "features": features}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scale")
    events, n_events, users = one_domain_per_user(folder)
    out = {"users": users}
    for n in (1, 2):
        deployment = Deployment(tmp_path_factory.mktemp(f"run{n}"), n, log_format="json" if n == 2 else "text")
        try:
            deployment.start()
            summary = replay(events, deployment.services.cfg, progress=False)
            assert summary.total == n_events and not summary.skipped
            found = wait_for_features(open_store(deployment.feast), users, timeout=300,
                                      services=deployment.services)
            assert sorted(found) == users, f"no features for {sorted(set(users) - set(found))}"
            deployment.wait_quiet(n_events)
            out[n] = {"state": end_state(deployment, users),
                      "updates": deployment.metric(deployment.stream_urls, "interests_stream_history_updates_total"),
                      "generated": deployment.metric(deployment.generator_urls,
                                                     "interests_generator_generated_total"),
                      "health": run_checks(streams=deployment.services.cfg,
                                           gen=GeneratorConfig.from_env(deployment.services.env),
                                           feast=deployment.feast, stream_metrics=deployment.stream_urls[-1],
                                           generator_metrics=deployment.generator_urls[-1]),
                      "logs": {name: (deployment.folder / f"{name}.log").read_text()
                               for name in ("stream-worker-1", "generator-worker-1") if n == 2}}
        finally:
            deployment.services.stop()
    return out


def test_two_workers_split_the_partitions_and_each_does_part_of_the_work(runs):
    assert all(u > 0 for u in runs[2]["updates"]), f"a stream worker got no events: {runs[2]['updates']}"
    assert all(g > 0 for g in runs[2]["generated"]), f"a generator worker wrote nothing: {runs[2]['generated']}"
    assert sum(runs[2]["updates"]) == sum(runs[1]["updates"])


def test_two_workers_end_in_the_same_histories_vectors_and_features_as_one(runs):
    one, two = runs[1]["state"], runs[2]["state"]
    assert one["histories"] == two["histories"]
    assert set(one["interests"]) == set(two["interests"])
    for key, state in one["interests"].items():
        other = two["interests"][key]
        assert {k: v for k, v in state.items() if "vector" not in k} == \
               {k: v for k, v in other.items() if "vector" not in k}
        for name in ("vector", "generated_vector"):
            np.testing.assert_allclose(np.asarray([] if state[name] is None else state[name]),
                                       np.asarray([] if other[name] is None else other[name]), rtol=1e-5)
    for user in runs["users"]:
        a, b = one["features"][user], two["features"][user]
        assert (a["queries"], a["model_version"], a["last_event_at"]) == \
               (b["queries"], b["model_version"], b["last_event_at"]), user
        np.testing.assert_allclose(a["query_embeddings"], b["query_embeddings"], rtol=1e-6)
        np.testing.assert_allclose(a["interest_vector"], b["interest_vector"], rtol=1e-5)


def test_health_check_passes_on_a_running_deployment(runs):
    for n in (1, 2):
        failed = [c.line() for c in runs[n]["health"] if not c.ok]
        assert not failed, failed
        assert {c.name for c in runs[n]["health"]} >= {"broker", "stream-group", "generator-group", "store"}


def test_workers_write_json_log_lines_when_asked(runs):
    for name, text in runs[2]["logs"].items():
        lines = [line for line in text.splitlines() if line.strip()]
        assert lines, f"{name} logged nothing"
        records, plain = [], []
        for line in lines:
            try:
                records.append(json.loads(line))
            except ValueError:
                plain.append(line)
        assert not plain, f"{name} wrote lines that are not JSON: {plain[:5]}"
        assert all({"ts", "level", "logger", "msg"} <= set(r) for r in records)
