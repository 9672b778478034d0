"""One micro-batch of the generator worker, from Kafka messages to written features, with no Kafka consumer in it
(tested with fakes): decode, apply feature deletions in partition order, keep the newest request per user,
generate, settle outputs that stay invalid (``models/stale.py``), embed, and write through ``streams/generator/sink.py``.
``streams/generator/worker.py`` polls, batches and commits.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from common.deadletter import dlq_headers
from models.activity import activity
from models.config import GeneratorConfig
from models.embeddings import Embedder
from models.generators import QueryGenerator, UserContext
from models.generators.base import Generation
from models.privacy import scrub
from models.stale import ReadPrevious, settle
from schemas import AvroCodec, DecodeError, default_codec
from streams.config import StreamsConfig
from streams.generator.sink import Sink, SinkError, Writes, write_until_done

log = logging.getLogger(__name__)
LATENCY_WINDOW = 1000  # batches kept for the latency percentiles


@dataclass
class WorkerStats:
    requests: int = 0  # decoded regeneration requests
    superseded: int = 0  # older requests of a user replaced by a newer one in the same batch
    generated: int = 0  # feature rows of newly generated queries written (the model's or the fallback's)
    invalid: int = 0  # users the model left without a valid query after its retry (= fallback + stale + unserved)
    fallback: int = 0  # ... written with the fallback's queries
    stale: int = 0  # ... whose previous features were written again, marked stale
    unserved: int = 0  # ... with nothing written (no previous features and no valid fallback)
    late: int = 0  # requests older than request_timeout_s when their batch started (still generated)
    dead_lettered: int = 0  # undecodable requests plus requests of batches whose generation failed twice
    generation_failures: int = 0  # generator calls that raised (each failed batch counts 1 or 2)
    failed_batches: int = 0  # batches dead-lettered after the retry
    reloads: int = 0  # hot swaps to a new model version
    deleted: int = 0  # users whose online features a feature deletion removed
    cancelled: int = 0  # requests dropped because a deletion of their user followed them in the same batch
    write_failures: int = 0  # failed attempts to write a batch (each retried; the batch is committed only once written)
    batches: int = 0
    answered: dict = field(default_factory=dict)  # model version -> requests it generated for (rows or invalid)
    latencies_ms: deque = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))

    def as_dict(self, queue: int = 0, version: str = "") -> dict:
        lat = sorted(self.latencies_ms)
        return {"version": version, "queue": queue, "batches": self.batches, "requests": self.requests,
                "superseded": self.superseded, "generated": self.generated, "invalid": self.invalid,
                "fallback": self.fallback, "stale": self.stale, "unserved": self.unserved,
                "late": self.late, "dead_lettered": self.dead_lettered,
                "generation_failures": self.generation_failures, "failed_batches": self.failed_batches,
                "reloads": self.reloads, "deleted": self.deleted, "cancelled": self.cancelled,
                "write_failures": self.write_failures, "answered": dict(self.answered),
                "batch_ms_p50": round(percentile(lat, 50), 1), "batch_ms_p99": round(percentile(lat, 99), 1)}


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(int(-(-q * len(sorted_values) // 100)), 1)  # ceil(q/100 * n), at least 1
    return float(sorted_values[min(rank, len(sorted_values)) - 1])


def latest_per_user(requests: list[dict]) -> tuple[list[dict], int]:
    """Keep the newest request of each user (by emit time, then arrival order). Returns (kept, dropped count)."""
    newest: dict[str, dict] = {}
    for request in requests:
        current = newest.get(request["user_id"])
        if current is None or request["emitted_at"] >= current["emitted_at"]:
            newest[request["user_id"]] = request
    return list(newest.values()), len(requests) - len(newest)


def after_deletions(entries: list[tuple[str, dict]]) -> tuple[list[dict], list[str], int]:
    """``entries``: (subject, record) in partition order. A deletion drops the requests of its user read before it
    in the batch. Returns (requests left, users whose features to delete, requests dropped)."""
    requests: list[dict] = []
    deleted: list[str] = []
    cancelled = 0
    for subject, record in entries:
        if subject == "regen_request":
            requests.append(record)
            continue
        user = record["user_id"]
        cancelled += sum(1 for r in requests if r["user_id"] == user)
        requests = [r for r in requests if r["user_id"] != user]
        if user not in deleted:
            deleted.append(user)
    return requests, deleted, cancelled


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
            "stale": False,
            "stale_since": None,
            **activity(request["history"]),
        })
    return rows


class BatchProcessor:
    """One micro-batch from messages to written features, with no Kafka consumer in it (tested with fakes).

    ``push(rows)`` writes the batch's feature rows to the online store in one call; ``producer`` needs only
    ``send(topic, key=, value=, headers=)`` and ``flush()`` (a ``kafka.KafkaProducer`` or a fake). The generator
    that starts a batch answers all of it: :meth:`swap` takes effect at the next batch. ``read_previous(user_ids)``
    reads users' current online features (for outputs that stay invalid; None: no store, every user counts as new)
    and ``fallback`` serves users without features to keep (``models/stale.py``). ``delete(user_ids)`` removes
    users' online features (feature deletions); writes go through :class:`streams.generator.sink.Sink`.
    """

    def __init__(self, generator: QueryGenerator, embedder: Embedder, push: Callable[[list[dict]], Any], producer,
                 streams: StreamsConfig, gen: GeneratorConfig, codec: AvroCodec | None = None,
                 stats: WorkerStats | None = None, read_previous: ReadPrevious | None = None,
                 fallback: QueryGenerator | None = None, delete: Callable[[list[str]], Any] | None = None):
        self.generator, self.embedder, self.push, self.producer = generator, embedder, push, producer
        self.read_previous, self.fallback = read_previous, fallback
        self.streams, self.gen = streams, gen
        self.codec = codec or default_codec()
        self.stats = stats if stats is not None else WorkerStats()
        self.delete = delete

    def swap(self, generator: QueryGenerator) -> QueryGenerator:
        """Serve ``generator`` from the next batch on; returns the one it replaces."""
        old, self.generator = self.generator, generator
        return old

    def process(self, messages: list, should_stop: Callable[[], bool] | None = None,
                wait: Callable[[float], Any] = time.sleep) -> list[dict]:
        """Process one batch of Kafka messages (``key``, ``value``, ``topic``, ``partition``, ``offset``); returns
        the feature rows written. A failed write is retried (waiting with ``wait``) until it succeeds while
        ``should_stop()`` is false; :class:`streams.generator.sink.SinkError` is raised when stopping first, or at
        once without ``should_stop`` (then nothing may be committed)."""
        started = time.monotonic()
        generator = self.generator  # one version answers the whole batch, even if a swap is pending
        writes = Writes()
        entries, source = self._decode(messages, writes)
        requests, writes.deletions, cancelled = after_deletions(entries)
        self.stats.requests += sum(1 for subject, _ in entries if subject == "regen_request")
        kept, dropped = latest_per_user(requests)
        self.stats.superseded += dropped
        late = self._count_late(kept)
        settled = self._answer(generator, kept, source, writes) if kept else None

        def failed(exc: SinkError) -> None:
            self.stats.write_failures += 1

        write_until_done(Sink(self.push, self.delete, self.producer), writes, should_stop, on_failure=failed,
                         sleep=wait)
        if settled is not None:
            self.stats.answered[generator.version] = self.stats.answered.get(generator.version, 0) + len(kept)
            self._count(settled, generated=len(writes.rows) - len(settled.stale_rows))
        self.stats.deleted += len(writes.deletions)
        self.stats.cancelled += cancelled
        self.stats.dead_lettered += sum(1 for r in writes.records if r[0] == self.streams.dlq_topic)
        self.stats.batches += 1
        elapsed = (time.monotonic() - started) * 1000
        self.stats.latencies_ms.append(elapsed)
        rows = writes.rows
        log.info("batch: %d requests (%d superseded, %d late, %d cancelled by a deletion), %d written (%d stale), "
                 "%d without queries, %d users' features deleted, %s, %.0f ms", len(requests) + cancelled, dropped,
                 late, cancelled, len(rows), sum(1 for r in rows if r.get("stale")), len(kept) - len(rows),
                 len(writes.deletions), generator.version, elapsed)
        return rows

    def _decode(self, messages: list, writes: Writes) -> tuple[list[tuple[str, dict]], dict[int, Any]]:
        """``(entries, source)``: the decoded (subject, record) pairs in order and each record's message (by the
        record's id); undecodable records and other subjects go to ``writes`` as dead letters."""
        entries, source = [], {}
        for message in messages:
            try:
                subject, record = self.codec.decode(message.value)
                if subject not in ("regen_request", "feature_deletion"):
                    raise DecodeError("wrong_subject", f"{subject} on the regeneration topic")
            except DecodeError as exc:
                log.warning("dead-lettered a regeneration request: %s", exc)
                writes.records.append(self._dead_letter(message, exc.reason, str(exc)))
                continue
            entries.append((subject, record))
            source[id(record)] = message
        return entries, source

    def _count_late(self, kept: list[dict]) -> int:
        """Requests older than ``request_timeout_s`` at batch start (counted and logged; still answered)."""
        now_ms = time.time() * 1000
        late = sum(1 for r in kept if now_ms - _millis(r["emitted_at"]) > self.gen.request_timeout_s * 1000)
        if late:
            self.stats.late += late
            log.warning("%d of %d requests older than %.0f s at batch start", late, len(kept),
                        self.gen.request_timeout_s)
        return late

    def _answer(self, generator: QueryGenerator, kept: list[dict], source: dict[int, Any], writes: Writes):
        """Generate for ``kept`` and put the feature rows and query records in ``writes``; returns the settled
        outputs, or None when generation failed twice (the requests are dead-lettered)."""
        contexts = [to_context(r) for r in kept]
        generations, error = self._generate(generator, contexts)
        if generations is None:
            self.stats.failed_batches += 1
            log.error("generation failed twice for a batch of %d requests (%s): dead-lettering them", len(kept), error)
            detail = f"{generator.version}: {error}"
            writes.records += [self._dead_letter(source[id(r)], "generation_failed", detail) for r in kept]
            return None
        # outputs still invalid: previous features kept (stale), the fallback, or nothing; never invalid ones.
        # A user deleted in this batch has no previous features to keep.
        settled = settle(kept, contexts, generations, generator.version,
                         self._previous_except(set(writes.deletions)), self.fallback)
        writes.rows = feature_rows(kept, settled.generations, self.embedder, generator.version) + settled.stale_rows
        for row in writes.rows:
            record = {k: v for k, v in row.items() if k != "freshness_ms"}
            writes.records.append((self.streams.queries_topic, row["user_id"].encode(),
                                   self.codec.encode("query_features", record), None))
        return settled

    def _previous_except(self, deleted: set[str]) -> ReadPrevious | None:
        """``read_previous`` that answers "no features" for users whose deletion is in this batch."""
        if self.read_previous is None or not deleted:
            return self.read_previous

        def read(user_ids: list[str]) -> list[dict]:
            rows = self.read_previous(user_ids)
            return [{"user_id": u} if u in deleted else row for u, row in zip(user_ids, rows)]

        return read

    def _count(self, settled, generated: int) -> None:
        self.stats.generated += generated
        self.stats.invalid += settled.invalid
        self.stats.fallback += settled.fell_back
        self.stats.stale += settled.stale
        self.stats.unserved += settled.unserved

    def _generate(self, generator: QueryGenerator, contexts: list[UserContext]
                  ) -> tuple[list[Generation] | None, str]:
        """The generator's output, asking twice if it raises; (None, the error) when both attempts raise."""
        error = ""
        for attempt in (1, 2):
            try:
                generations = generator.generate(contexts)
                if len(generations) != len(contexts):
                    raise ValueError(f"{len(generations)} generations for {len(contexts)} users")
                return generations, ""
            except Exception as exc:  # any failure of the model: retried once, then dead-lettered, never lost
                self.stats.generation_failures += 1
                error = f"{type(exc).__name__}: {exc}"
                log.warning("generation attempt %d of 2 with %s failed: %s", attempt, generator.version, error)
        return None, error

    def _dead_letter(self, message, reason: str, detail: str) -> tuple:
        return (self.streams.dlq_topic, message.key, message.value,
                dlq_headers(reason, detail, message.topic, message.partition, message.offset))
