"""Shared helpers of the integration tests: the real services (local Kafka broker, Faust worker and generator worker
as processes) on fresh state and free ports, reading topics and Faust changelogs from outside the workers, waiting
until the pipeline has settled, and the expected per-user records computed from the events with the pure logic."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from feature_repo.config import FeatureStoreConfig
from feature_repo.store import open_store
from models.embeddings import HashEmbedder
from schemas import default_codec
from streams import packing
from streams import user_state
from streams.config import StreamsConfig
from streams.demo import SAMPLE, Services
from streams.events import Limits, decode_inbound
from streams.replay import to_message

# Quick to start and to fail over: the key-phrase generator (no LLM), the hashing embedder (a FAKE: no model
# weights; the history logic under test does not care what the vectors mean), short consumer session timeouts so a
# killed worker's partitions move on in seconds, not a minute.
FAST_ENV = {
    "INTERESTS_SESSION_TIMEOUT_S": "10",
    "INTERESTS_GEN_SESSION_TIMEOUT_S": "10",
    "INTERESTS_GEN_BATCH_SIZE": "16",
    "INTERESTS_GEN_BATCH_WAIT_MS": "200",
    "INTERESTS_GEN_STATS_EVERY": "1",
}
STREAM, GENERATOR = "stream-worker", "generator-worker"


def fast_services(state_dir: Path, **env) -> Services:
    services = Services(state_dir, backend="keyphrase", embedder="hash")
    services.env.update({**FAST_ENV, **env})
    services.cfg = StreamsConfig.from_env(services.env)
    return services


def start_all(services: Services) -> None:
    services.start_broker()
    services.start_worker(STREAM, "stream", "worker")
    services.start_worker(GENERATOR, "generate", "worker")
    services.wait_ready()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Broker and both workers for one test module (tests use their own users)."""
    services = fast_services(tmp_path_factory.mktemp("stack"))
    try:
        start_all(services)
        yield services
    finally:
        services.stop()


def store_of(services: Services):
    return open_store(FeatureStoreConfig(data_dir=services.state_dir / "feast"), apply=True)


# --- events -------------------------------------------------------------------------------------------------------

def sample_copies(folder: Path, prefix: str, copies: int) -> tuple[Path, list[dict]]:
    """The shipped sample events ``copies`` times over, each copy with its own users and event ids (same texts and
    times), in the sample's order per copy, copies interleaved. Returns the file and its rows."""
    base = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
    rows = []
    for row in base:
        for copy in range(copies):
            rows.append({**row, "user_id": f"{prefix}{copy}-{row['user_id']}",
                         "event_id": f"{prefix}{copy}-{row['event_id']}"})
    path = folder / f"{prefix}events.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path, rows


def expected_records(rows: list[dict], cfg: StreamsConfig) -> dict[str, dict]:
    """Each user's record as if every event had been processed exactly once, in event-time order, with the same
    fake embedder as the worker: the reference a run with faults must match."""
    codec, rules, embedder = default_codec(), user_state.Rules.from_config(cfg), HashEmbedder()
    limits = Limits(cfg.max_text_chars, cfg.max_future_skew_s, cfg.min_event_time_ms)
    signals = [decode_inbound(codec, to_message(codec, row)[2], limits) for row in rows]
    signals.sort(key=lambda s: (s.ts, s.event_id))
    vectors = embedder.embed([s.text for s in signals])
    records: dict[str, dict] = {}
    for signal, vector in zip(signals, vectors):
        user = records.setdefault(signal.user_id, user_state.new_user())
        if user_state.admission(user, signal, rules) is None:
            user_state.add(user, signal, vector, rules)
    return records


def assert_records_match(actual: dict[str, dict], expected: dict[str, dict]) -> None:
    """Histories equal exactly; interest vectors equal up to float rounding; the same number of signals folded in."""
    assert sorted(actual) == sorted(expected), sorted(set(actual) ^ set(expected))
    for user, want in expected.items():
        got = actual[user]
        assert got["history"] == want["history"], user
        assert got["interest"]["events"] == want["interest"]["events"], user
        np.testing.assert_allclose(got["interest"]["vector"], want["interest"]["vector"], rtol=1e-4, atol=1e-5,
                                   err_msg=user)
        assert got["interest"]["updated_ts"] == want["interest"]["updated_ts"], user


# --- reading Kafka from outside the workers -------------------------------------------------------------------------

def end_offsets(cfg: StreamsConfig, topic: str) -> dict[int, int]:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=cfg.bootstrap_servers)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return {tp.partition: offset for tp, offset in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()


def read_topic(cfg: StreamsConfig, topic: str, timeout: float = 120.0) -> list:
    """Every message on ``topic`` up to its end offsets as they were when called."""
    from kafka import KafkaConsumer, TopicPartition

    ends = end_offsets(cfg, topic)
    consumer = KafkaConsumer(bootstrap_servers=cfg.bootstrap_servers, enable_auto_commit=False,
                             auto_offset_reset="earliest", max_partition_fetch_bytes=4 * 1024 * 1024)
    partitions = [TopicPartition(topic, p) for p in ends]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    messages, deadline = [], time.monotonic() + timeout
    try:
        while any(consumer.position(tp) < ends[tp.partition] for tp in partitions):
            if time.monotonic() > deadline:
                raise AssertionError(f"could not read {topic} to its end within {timeout:.0f} s")
            for records in consumer.poll(timeout_ms=1000).values():
                messages.extend(r for r in records if r.offset < ends[r.partition])
    finally:
        consumer.close()
    return messages


def read_table(cfg: StreamsConfig, table: str) -> dict[str, object]:
    """A Faust table as the worker would restore it: the newest value of each key on its changelog topic."""
    values: dict[str, object] = {}
    for message in read_topic(cfg, f"{cfg.app_id}-{table}-changelog"):
        key = message.key.decode()
        if message.value is None:
            values.pop(key, None)
        elif table == "users":  # MessagePack bytes of the user record (streams/packing.py)
            values[key] = packing.unpack_user(message.value)
        else:
            values[key] = json.loads(message.value)
    return values


def lag(cfg: StreamsConfig, group: str, topics: list[str]) -> int:
    """Messages on ``topics`` that ``group`` has not committed yet."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=cfg.bootstrap_servers)
    try:
        committed = {(tp.topic, tp.partition): meta.offset
                     for tp, meta in (admin.list_group_offsets(group).get(group) or {}).items()}
    finally:
        admin.close()
    behind = 0
    for topic in topics:
        for partition, end in end_offsets(cfg, topic).items():
            behind += max(end - max(committed.get((topic, partition), 0), 0), 0)
    return behind


def wait_settled(services: Services, timeout: float = 240.0) -> None:
    """Until both workers have committed everything on their input topics, twice in a row a second apart."""
    cfg = services.cfg
    stream_topics = cfg.stream_inputs
    deadline, quiet = time.monotonic() + timeout, 0
    while quiet < 2:
        services.check_alive()
        pending = lag(cfg, cfg.app_id, stream_topics) + lag(cfg, "interests-generator", [cfg.regen_topic])
        quiet = quiet + 1 if pending == 0 else 0
        if time.monotonic() > deadline:
            raise AssertionError(f"{pending} messages still unprocessed after {timeout:.0f} s")
        time.sleep(1.0)


def wait_until(predicate, timeout: float, services: Services | None = None, poll: float = 0.5, what: str = ""):
    deadline = time.monotonic() + timeout
    while True:
        if services is not None:
            services.check_alive()
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or predicate}")
        time.sleep(poll)


def by_user(rows: list[dict]) -> dict[str, list[dict]]:
    out = defaultdict(list)
    for row in rows:
        out[row["user_id"]].append(row)
    return out


class StoreLock:
    """Makes the SQLite online store unavailable: an exclusive lock, so every write (and read) of the workers fails
    with 'database is locked' once its busy timeout (5 s) runs out, until :meth:`release`."""

    def __init__(self, services: Services):
        import sqlite3

        self.conn = sqlite3.connect(services.state_dir / "feast" / "online_store.db", isolation_level=None,
                                    timeout=30)
        self.conn.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        if self.conn is not None:
            self.conn.execute("ROLLBACK")
            self.conn.close()
            self.conn = None


class Replayer:
    """``interests replay`` in a thread, so a fault can strike while events are still being sent."""

    def __init__(self, path: Path, cfg: StreamsConfig, rate: float):
        import threading

        from streams.replay import replay

        self.summary, self.error = None, None

        def run():
            try:
                self.summary = replay(path, cfg, rate=rate, progress=False)
            except BaseException as exc:  # noqa: BLE001 - re-raised in join()
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def running(self) -> bool:
        return self.thread.is_alive()

    def join(self, timeout: float = 300.0):
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise AssertionError(f"replay still running after {timeout:.0f} s")
        if self.error is not None:
            raise self.error
        return self.summary


def generator_stats(services: Services) -> dict:
    """The generator worker's newest logged stats (it logs them after every batch with STATS_EVERY=1)."""
    lines = [line for line in (services.state_dir / f"{GENERATOR}.log").read_text(errors="replace").splitlines()
             if "worker stats: " in line]
    assert lines, "the generator worker logged no stats"
    return json.loads(lines[-1].split("worker stats: ", 1)[1])


def log_count(services: Services, name: str, text: str) -> int:
    return (services.state_dir / f"{name}.log").read_text(errors="replace").count(text)


def report_counts(name: str, counts: dict) -> None:
    """Print what a fault or flood test measured and, with ``INTERESTS_FAULT_REPORT=FILE``, merge it into that JSON
    file (the README's reliability numbers come from it)."""
    import os

    print(f"\n{name}: {json.dumps(counts)}")
    path = os.environ.get("INTERESTS_FAULT_REPORT")
    if path:
        report = json.loads(Path(path).read_text()) if Path(path).exists() else {}
        report[name] = counts
        Path(path).write_text(json.dumps(report, indent=2) + "\n")
