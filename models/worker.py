"""The generator worker: regeneration requests in micro-batches -> queries -> embeddings -> Feast + queries topic.

Run with ``interests generate worker``. At-least-once: offsets are committed only after the batch's features are in
the online store and on the queries topic, so a crash re-generates (idempotently overwrites) rather than loses.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, field

from feature_repo.config import FeatureStoreConfig
from feature_repo.store import open_store, push_rows
from models.config import GeneratorConfig
from models.embeddings import Embedder, make_embedder
from models.generators import QueryGenerator, UserContext, make_generator
from models.privacy import scrub
from schemas import AvroCodec, DecodeError, default_codec
from streams.agents import dlq_headers
from streams.config import StreamsConfig

log = logging.getLogger(__name__)


@dataclass
class WorkerStats:
    requests: int = 0
    superseded: int = 0  # older requests of a user replaced by a newer one in the same batch
    generated: int = 0
    invalid: int = 0  # users whose output held no valid query: nothing written
    dead_lettered: int = 0
    batches: int = 0
    latencies_ms: list = field(default_factory=list)


def latest_per_user(requests: list[dict]) -> tuple[list[dict], int]:
    """Keep the newest request of each user (by emit time, then arrival order). Returns (kept, dropped count)."""
    newest: dict[str, dict] = {}
    for request in requests:
        current = newest.get(request["user_id"])
        if current is None or request["emitted_at"] >= current["emitted_at"]:
            newest[request["user_id"]] = request
    return list(newest.values()), len(requests) - len(newest)


def _millis(value) -> int:
    return int(value.timestamp() * 1000) if hasattr(value, "timestamp") else int(value)


def to_context(request: dict) -> UserContext:
    history = [
        {**s, "domain": str(s["domain"]).lower(), "text": scrub(s["text"]), "ts": _millis(s["ts"])}
        for s in request["history"]
    ]
    return UserContext(request["user_id"], history, list(request["interest_vector"]))


def feature_rows(requests: list[dict], generations, embedder: Embedder, version: str) -> list[dict]:
    """Valid generations -> query-feature records (queries scrubbed again, embedded in one call)."""
    keep = [(r, [scrub(q) for q in g.queries], g.version or version) for r, g in zip(requests, generations)
            if g.queries]
    flat = [q for _, queries, _ in keep for q in queries]
    vectors = embedder.embed(flat) if flat else []
    rows, offset, now = [], 0, int(time.time() * 1000)
    for request, queries, made_by in keep:
        embeddings = [[float(x) for x in v] for v in vectors[offset:offset + len(queries)]]
        offset += len(queries)
        rows.append({
            "user_id": request["user_id"],
            "request_id": request["request_id"],
            "queries": queries,
            "query_embeddings": embeddings,
            "interest_vector": [float(x) for x in request["interest_vector"]],
            "model_version": made_by,
            "generated_at": now,
            "last_event_at": _millis(request["last_event_at"]),
            "freshness_ms": max(now - _millis(request["emitted_at"]), 0),
        })
    return rows


class GeneratorWorker:
    def __init__(self, streams: StreamsConfig, gen: GeneratorConfig, feast: FeatureStoreConfig,
                 generator: QueryGenerator | None = None, embedder: Embedder | None = None,
                 codec: AvroCodec | None = None):
        from kafka import KafkaConsumer, KafkaProducer

        self.streams, self.gen = streams, gen
        self.codec = codec or default_codec()
        self.generator = generator or make_generator(gen)
        self.embedder = embedder or make_embedder(gen.embedder)
        self.store = open_store(feast, apply=True)
        self.stats = WorkerStats()
        self._stop = threading.Event()
        self.consumer = KafkaConsumer(
            streams.regen_topic,
            bootstrap_servers=streams.bootstrap_servers,
            group_id=gen.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=gen.batch_size,
            # generation of one batch may take a while on CPU; the heartbeat thread keeps the membership alive
            max_poll_interval_ms=600_000,
        )
        self.producer = KafkaProducer(bootstrap_servers=streams.bootstrap_servers, acks="all", linger_ms=5)

    def stop(self, *_args) -> None:
        self._stop.set()

    def run(self) -> None:
        """Poll until stopped (SIGTERM/SIGINT), one micro-batch at a time."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)
        log.info("generator worker: %s on %s, batches of up to %d within %d ms", self.generator.version,
                 self.streams.regen_topic, self.gen.batch_size, self.gen.batch_wait_ms)
        try:
            while not self._stop.is_set():
                polled = self.consumer.poll(timeout_ms=self.gen.batch_wait_ms, max_records=self.gen.batch_size)
                messages = [m for batch in polled.values() for m in batch]
                if messages:
                    self.handle(messages)
                    self.consumer.commit()
        finally:
            self.close()

    def handle(self, messages) -> list[dict]:
        """Process one batch of Kafka messages; returns the feature rows written."""
        started = time.monotonic()
        requests = []
        for message in messages:
            try:
                subject, record = self.codec.decode(message.value)
                if subject != "regen_request":
                    raise DecodeError("wrong_subject", f"{subject} on the regeneration topic")
                requests.append(record)
            except DecodeError as exc:
                self.stats.dead_lettered += 1
                log.warning("dead-lettered a regeneration request: %s", exc)
                self.producer.send(self.streams.dlq_topic, key=message.key, value=message.value,
                                   headers=dlq_headers(exc.reason, str(exc), message.topic, message.partition,
                                                       message.offset))
        self.stats.requests += len(requests)
        requests, dropped = latest_per_user(requests)
        self.stats.superseded += dropped
        rows = []
        if requests:
            generations = self.generator.generate([to_context(r) for r in requests])
            self.stats.invalid += sum(1 for g in generations if not g.queries)
            rows = feature_rows(requests, generations, self.embedder, self.generator.version)
            push_rows(self.store, rows)
            for row in rows:
                record = {k: v for k, v in row.items() if k != "freshness_ms"}
                self.producer.send(self.streams.queries_topic, key=row["user_id"].encode(),
                                   value=self.codec.encode("query_features", record))
            self.stats.generated += len(rows)
        self.producer.flush()
        self.stats.batches += 1
        elapsed = (time.monotonic() - started) * 1000
        self.stats.latencies_ms.append(elapsed)
        log.info("batch: %d requests (%d superseded), %d written, %d invalid, %.0f ms", len(requests) + dropped,
                 dropped, len(rows), len(requests) - len(rows), elapsed)
        return rows

    def close(self) -> None:
        try:
            self.consumer.close()
        finally:
            self.producer.close()
            self.generator.close()
