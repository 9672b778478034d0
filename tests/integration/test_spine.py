"""End to end on the real parts: Apache Kafka (local KRaft broker), the Faust worker and the generator worker as
processes, the real student model (SmolLM2-135M-Instruct) and the real Feast store (SQLite)."""

from __future__ import annotations

import json
import time
from collections import defaultdict

import numpy as np
import pytest

from feature_repo.config import FeatureStoreConfig
from feature_repo.store import open_store
from schemas import default_codec
from streams.demo import SAMPLE, Services, wait_for_features
from streams.replay import replay
from tests.conftest import click, search

pytestmark = [pytest.mark.integration, pytest.mark.llm]


@pytest.fixture(scope="module")
def spine(tmp_path_factory):
    state = tmp_path_factory.mktemp("spine")
    services = Services(state, backend="smollm2")
    try:
        services.start_broker()
        services.start_worker("stream-worker", "stream", "worker")
        services.start_worker("generator-worker", "generate", "worker")
        services.wait_ready()
        yield services
    finally:
        services.stop()


def bad_events(codec) -> dict[bytes, str]:
    """Malformed events and the dead-letter reason each must get."""
    good_header = codec.encode("click_event", click(user="bad"))
    return {
        b"\x00\x01 not avro at all": "bad_header",
        b"\xc3\x01" + b"\xff" * 8 + good_header[10:]: "unknown_schema",
        good_header[:14]: "bad_body",
        codec.encode("search_event", search(user="bad", query="x" * 5000)): "oversized_text",
        codec.encode("click_event", click(user="bad", title="   ")): "missing_field",
        codec.encode("click_event", click(user="bad", ts=631152000000)): "out_of_range_ts",  # 1990
    }


def consume_all(cfg, topic: str, expect: int, timeout: float = 60.0) -> list:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topic, bootstrap_servers=cfg.bootstrap_servers, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=2000)
    messages, deadline = [], time.monotonic() + timeout
    try:
        while len(messages) < expect and time.monotonic() < deadline:
            messages.extend(consumer)
    finally:
        consumer.close()
    return messages


def sample_by_user() -> dict[str, list[dict]]:
    events = defaultdict(list)
    for line in SAMPLE.read_text().splitlines():
        row = json.loads(line)
        events[row["user_id"]].append(row)
    return events


def test_replayed_users_get_features_and_bad_events_are_dead_lettered(spine):
    from kafka import KafkaProducer

    codec = default_codec()
    cfg = spine.cfg
    bad = bad_events(codec)
    producer = KafkaProducer(bootstrap_servers=cfg.bootstrap_servers, acks="all")
    topics = list(cfg.event_topics.values())
    for i, value in enumerate(bad):  # bad events first, spread over topics: good ones must still flow after them
        producer.send(topics[i % len(topics)], key=b"bad", value=value)
    producer.flush()
    producer.close()

    summary = replay(SAMPLE, cfg, progress=False)
    events = sample_by_user()
    assert summary.total == sum(len(v) for v in events.values()) and not summary.skipped

    store = open_store(FeatureStoreConfig(data_dir=spine.state_dir / "feast"), apply=True)
    users = sorted(events)
    found = wait_for_features(store, users, timeout=900, services=spine)
    assert sorted(found) == users, f"no features for {sorted(set(users) - set(found))}"

    by_model = defaultdict(int)
    for user, row in found.items():
        queries = row["queries"]
        assert 1 <= len(queries) <= 5 and all(isinstance(q, str) and q.strip() for q in queries)
        embeddings = np.asarray(row["query_embeddings"], dtype=np.float32)
        assert embeddings.shape == (len(queries), 384)
        np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-3)
        vector = np.asarray(row["interest_vector"], dtype=np.float32)
        assert vector.shape == (384,) and abs(np.linalg.norm(vector) - 1.0) < 1e-3
        stamps = [e["ts"] for e in events[user]]
        assert min(stamps) <= row["last_event_at"].timestamp() * 1000 <= max(stamps) + 1
        assert abs(row["generated_at"].timestamp() * 1000 - time.time() * 1000) < 3_600_000
        assert not any("@" in q or "7946" in q for q in queries), queries  # personal data never in a feature
        by_model[row["model_version"]] += 1
    # the registry's current student (the packaged trained version on a fresh registry) or the key-phrase fallback
    llm = sum(n for model, n in by_model.items() if model.startswith("smollm2-135m-instruct@"))
    assert set(by_model) - {"keyphrase@1"} <= {m for m in by_model if m.startswith("smollm2-135m-instruct@")}
    assert llm >= 0.5 * len(users), dict(by_model)

    # every bad event is in the dead-letter topic with its reason, original bytes kept
    dead = consume_all(cfg, cfg.dlq_topic, expect=len(bad))
    got = {m.value: dict(m.headers)["dlq.reason"].decode() for m in dead}
    assert got == bad

    # the queries topic carries Avro query-feature records; the newest per user matches what Feast serves
    records = [codec.decode(m.value) for m in consume_all(cfg, cfg.queries_topic, expect=len(users))]
    newest = {}
    for subject, record in records:
        assert subject == "query_features"
        newest[record["user_id"]] = record
    assert set(newest) == set(users)
    for user in users:
        assert newest[user]["queries"] == found[user]["queries"] or newest[user]["generated_at"] > found[user][
            "generated_at"]
