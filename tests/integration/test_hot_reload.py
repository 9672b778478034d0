"""Hot reload on the real parts: the local Kafka broker, the Faust worker and the generator worker as processes, the
real Feast store, and a temporary model registry holding two versions of a TINY RANDOMLY INITIALISED
LlamaForCausalLM saved with the student's real tokenizer (not the real student: its queries are nonsense, so most
users get the key-phrase fallback, which the rows then name). The registry's current pointer is switched from v1 to
v2 while the services run; every user must get features, every row must name a version that made it, and the
worker's own metrics must show both versions answering and every request answered exactly once.
"""

from __future__ import annotations

import json
import time

import pytest

from feature_repo.config import FeatureStoreConfig
from feature_repo.store import open_store
from models.config import GeneratorConfig
from models.registry import Registry
from schemas import default_codec
from streams.demo import SAMPLE, Services, wait_for_features
from streams.replay import replay
from tests.tiny_models import save_tiny_llama, student_tokenizer

pytestmark = pytest.mark.integration
NAME = "tiny-llama"
# the makers a row may name: a version, the fallback, or a version whose short list the key-phrase fill completed
ALLOWED = {f"{NAME}@v1", f"{NAME}@v2", "keyphrase@1", f"{NAME}@v1+keyphrase@1", f"{NAME}@v2+keyphrase@1"}


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """Two versions of a tiny random LlamaForCausalLM (different seeds) with the student's real tokenizer."""
    tokenizer = student_tokenizer()
    registry = Registry(tmp_path_factory.mktemp("registry"))
    for seed, version in ((0, "v1"), (1, "v2")):
        # tiny random LlamaForCausalLM, not the real student
        path = save_tiny_llama(tmp_path_factory.mktemp(f"tiny-{version}"), seed, tokenizer=tokenizer)
        registry.publish(path, NAME, version, {"training_run": f"test: tiny random model, seed {seed}"})
    registry.set_current(NAME, "v1")
    return registry


def split_sample(folder) -> tuple[list, list, list[str], list[str]]:
    """The sample events in two files by user (first half of the users, then the rest), order kept."""
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    users = list(dict.fromkeys(r["user_id"] for r in rows))
    first = set(users[: len(users) // 2])
    paths = []
    for part, keep in (("a", lambda u: u in first), ("b", lambda u: u not in first)):
        path = folder / f"events-{part}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows if keep(r["user_id"])))
        paths.append(path)
    return paths[0], paths[1], sorted(first), sorted(set(users) - first)


def wait_for_log(path, text: str, timeout: float, services: Services) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text(errors="replace"):
        services.check_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} not in {path} after {timeout:.0f} s")
        time.sleep(0.2)


def last_stats(log_text: str) -> dict:
    lines = [line for line in log_text.splitlines() if "worker stats: " in line]
    assert lines, "the generator worker logged no stats"
    return json.loads(lines[-1].split("worker stats: ", 1)[1])


def quiet_queries(services: Services, log, timeout: float = 60.0) -> list[dict]:
    """The records on the queries topic once the worker is idle: the queue empty and every row it reports
    written (fresh or stale) read back, twice in a row two seconds apart."""
    from kafka import KafkaConsumer

    codec = default_codec()
    consumer = KafkaConsumer(services.cfg.queries_topic, bootstrap_servers=services.cfg.bootstrap_servers,
                             auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=1000)
    records, settled, deadline = [], 0, time.monotonic() + timeout
    try:
        while settled < 2 and time.monotonic() < deadline:
            records.extend(codec.decode(m.value)[1] for m in consumer)
            stats = last_stats(log.read_text(errors="replace"))
            written = stats["generated"] + stats.get("stale", 0)  # fresh rows and stale re-writes
            settled = settled + 1 if stats["queue"] == 0 and written == len(records) else 0
            time.sleep(2)
    finally:
        consumer.close()
    return records


def committed_and_end_offsets(services: Services) -> tuple[dict, dict]:
    """The generator group's committed offsets and the end offsets of the request topic, per partition."""
    from kafka import KafkaConsumer, TopicPartition

    cfg = services.cfg
    partitions = [TopicPartition(cfg.regen_topic, p) for p in range(cfg.regen_partitions)]
    # a consumer in the worker's group that never subscribes: it only reads the group's commits
    consumer = KafkaConsumer(bootstrap_servers=cfg.bootstrap_servers, group_id=GeneratorConfig().group_id,
                             enable_auto_commit=False)
    try:
        committed = {tp.partition: consumer.committed(tp) or 0 for tp in partitions}
        ends = {tp.partition: offset for tp, offset in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()
    return committed, ends


def test_switching_the_current_version_hot_reloads_without_losing_requests(registry, tmp_path):
    events_a, events_b, users_a, users_b = split_sample(tmp_path)
    (tmp_path / "state").mkdir()
    services = Services(tmp_path / "state", backend="smollm2", embedder="hash")
    services.env.update({
        "INTERESTS_GEN_REGISTRY_DIR": str(registry.root), "INTERESTS_GEN_MODEL_NAME": NAME,
        "INTERESTS_GEN_RELOAD_CHECK_S": "0.5", "INTERESTS_GEN_MAX_NEW_TOKENS": "8", "INTERESTS_GEN_BATCH_SIZE": "4",
        "INTERESTS_GEN_BATCH_WAIT_MS": "200", "INTERESTS_GEN_STATS_EVERY": "1", "INTERESTS_GEN_FALLBACK": "keyphrase",
    })
    log = services.state_dir / "generator-worker.log"
    store = open_store(FeatureStoreConfig(data_dir=services.state_dir / "feast"), apply=True)
    try:
        services.start_broker()
        services.start_worker("stream-worker", "stream", "worker")
        services.start_worker("generator-worker", "generate", "worker")
        services.wait_ready()
        assert f"generator worker: {NAME}@v1" in log.read_text()

        replay(events_a, services.cfg, progress=False)
        found = wait_for_features(store, users_a, timeout=90, services=services)
        assert sorted(found) == users_a, f"no features for {sorted(set(users_a) - set(found))}"

        registry.set_current(NAME, "v2")  # while the services run: the worker loads v2 beside v1, then swaps
        wait_for_log(log, f"hot reload: now serving {NAME}@v2", timeout=30, services=services)
        replay(events_b, services.cfg, progress=False)
        users = sorted(users_a + users_b)
        found = wait_for_features(store, users, timeout=90, services=services)
        assert sorted(found) == users, f"no features for {sorted(set(users) - set(found))}"
        records = quiet_queries(services, log)
        committed, ends = committed_and_end_offsets(services)
    finally:
        services.stop()

    for row in found.values():
        assert row["queries"] and row["model_version"] in ALLOWED, row["model_version"]

    stats = last_stats(log.read_text(errors="replace"))
    assert stats["reloads"] == 1 and stats["version"] == f"{NAME}@v2"
    assert set(stats["answered"]) == {f"{NAME}@v1", f"{NAME}@v2"}, stats  # both versions answered requests
    assert all(n > 0 for n in stats["answered"].values())
    # every kept request was answered by exactly one version; none failed or was dropped
    assert sum(stats["answered"].values()) == stats["requests"] - stats["superseded"]
    assert stats["failed_batches"] == 0 and stats["dead_lettered"] == 0 and stats["queue"] == 0
    assert committed == ends and sum(ends.values()) == stats["requests"]  # every request read, its batch committed

    # outputs that stayed invalid (most, from a random model) got the fallback (new users) or kept their previous
    # features marked stale (the default INTERESTS_GEN_ON_INVALID=stale); none was left without features
    assert stats["invalid"] == stats["fallback"] + stats["stale"] + stats["unserved"] and stats["unserved"] == 0
    # each record on the queries topic names a version (or the fallback) that made it; one per written row
    assert len(records) == stats["generated"] + stats["stale"] and {r["user_id"] for r in records} == set(found)
    assert sum(1 for r in records if r["stale"]) == stats["stale"]
    assert {r["model_version"] for r in records} <= ALLOWED
