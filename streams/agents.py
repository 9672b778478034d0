"""The Faust agents of the stream worker.

``ingest``: raw events of every domain and privacy records (consent choices, deletion requests) -> decode and
validate -> good ones re-keyed by user onto the by-user topic (the repartition step, so every user's events and
privacy records meet, in order, in one partition and one table partition), bad ones to the dead-letter topic with
the reason in the headers.

``track``: the by-user topic in micro-batches -> one embedding call per batch -> each user's record (history window,
interest vector, consent, deletion watermark; one changelog-backed table, ``streams/user_state.py``) updated in
arrival order (``streams/tracking.py``) -> feature deletions and regeneration requests to the generator, delivered
before the records are written, so a crash can repeat a request but never lose one.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import faust

from common.deadletter import dlq_headers

from models.embeddings import Embedder
from schemas import AvroCodec, default_codec
from streams import drift, history, packing, tracking, user_state
from streams.catalogue import Catalogue, SignalVectors
from streams.config import StreamsConfig
from streams.events import InvalidEvent, Limits, decode_inbound
from streams.metrics import StreamMetrics
from streams.record_cache import RecordCache

log = logging.getLogger(__name__)


@dataclass
class StreamParts:
    """Handles on what ``register`` attached to the app (the tests and the worker use them)."""

    app: faust.App
    sources: faust.TopicT
    by_user: faust.TopicT
    dlq: faust.TopicT
    regen: faust.TopicT
    users: faust.Table  # user id -> record (streams/user_state.py)
    outcomes: faust.Table  # what happened to each signal and privacy record, counted (tracking.BatchResult)
    dead_letters: faust.Table
    noise_filtered: faust.Table
    ingest: faust.types.AgentT | None  # None without the repartition hop
    track: faust.types.AgentT
    metrics: StreamMetrics | None = None
    vectors: SignalVectors | None = None  # counts the signals that took a catalogue vector and those embedded


def regen_record(user_id: str, decision: drift.Decision, state: dict, hist: dict, snapshot_items: int) -> dict:
    signals = history.snapshot(hist, snapshot_items)
    return {
        "request_id": uuid.uuid4().hex,
        "user_id": user_id,
        "reason": decision.reason,
        "drift": float(decision.drift),
        "last_event_at": int(signals[0]["ts"]) if signals else int(state["updated_ts"]),
        "emitted_at": int(time.time() * 1000),
        "interest_vector": drift.unit(state["vector"]).tolist(),
        "history": [
            {"domain": s["domain"].upper(), "kind": s["kind"], "text": s["text"], "ts": int(s["ts"]),
             "item_id": s.get("item_id"), "platform": s.get("platform")}
            for s in signals
        ],
    }


def deletion_record(user_id: str, reason: str, deleted_before: int) -> dict:
    return {"request_id": uuid.uuid4().hex, "user_id": user_id, "reason": reason,
            "deleted_before": int(deleted_before), "emitted_at": int(time.time() * 1000)}


async def delivered(pending: list) -> None:
    """Wait until the broker has acknowledged every send in ``pending`` (what ``topic.send`` returned)."""
    waiting = [p for p in pending if p is not None and hasattr(p, "__await__")]
    if waiting:
        await asyncio.gather(*waiting)


def topics(app: faust.App, cfg: StreamsConfig) -> tuple:
    """The stream's topics: ``(sources, by_user, dlq, regen)``."""
    return (app.topic(*cfg.ingest_topics, key_type=bytes, value_type=bytes),
            app.topic(cfg.by_user_topic, key_type=bytes, value_type=bytes, partitions=cfg.event_partitions),
            app.topic(cfg.dlq_topic, key_type=bytes, value_type=bytes, partitions=1),
            app.topic(cfg.regen_topic, key_type=bytes, value_type=bytes, partitions=cfg.regen_partitions))


def tables(app: faust.App, cfg: StreamsConfig) -> tuple:
    """The changelog-backed tables: ``(users, outcomes, dead_letters, noise_filtered)``.

    Keys are raw user-id bytes (key_type=bytes) and use_partitioner=True: the changelog partition of a user is
    chosen by the same murmur2 partitioner that placed the user on the by-user topic, so table and source
    partitions line up even though ``track`` handles a batch of events from several partitions at once."""
    table_args = dict(partitions=cfg.event_partitions, key_type=bytes, use_partitioner=True)
    return (app.Table("users", value_type=bytes, **table_args),  # MessagePack bytes (streams/packing.py)
            app.Table("outcomes", default=int, **table_args),
            app.Table("dead-letters", default=int, **table_args),
            app.Table("noise-filtered", default=int, **table_args))  # noise-filtered: per domain


def register(app: faust.App, cfg: StreamsConfig, embedder: Embedder, codec: AvroCodec | None = None,
             noise_filter=None, metrics: StreamMetrics | None = None, catalogue: Catalogue | None = None
             ) -> StreamParts:
    """Attach topics, tables and agents to ``app``. ``noise_filter`` (a ``models.noise.NoiseFilter`` or anything
    with ``predict(signals, embeddings) -> [bool]``) drops noisy signals before they enter a history. ``metrics``
    (the worker's Prometheus metrics) is counted into; without it the counts go to an unserved registry.
    ``catalogue`` gives clicks and page views on its articles their precomputed vectors (streams/catalogue.py)."""
    codec = codec or default_codec()
    metrics = metrics if metrics is not None else StreamMetrics(process=False)
    limits = Limits(cfg.max_text_chars, cfg.max_future_skew_s, cfg.min_event_time_ms)
    policy = drift.DriftPolicy(cfg.half_life_s, cfg.cold_start_min_events, cfg.drift_threshold, cfg.cooldown_s)
    rules = user_state.Rules.from_config(cfg)
    signal_vectors = SignalVectors(embedder, catalogue, text_cache=cfg.text_cache)

    sources, by_user, dlq, regen = topics(app, cfg)
    users, outcomes, dead_letters, noise_filtered = tables(app, cfg)

    async def dead_letter(reason: str, detail: str, key, value, message) -> None:
        log.warning("dead-lettered an event from %s: %s", getattr(message, "topic", "?"), detail)
        await dlq.send(key=key, value=value if isinstance(value, bytes) else repr(value).encode(),
                       headers=dlq_headers(reason, detail, getattr(message, "topic", None),
                                           getattr(message, "partition", None), getattr(message, "offset", None)))
        dead_letters[reason.encode()] += 1
        metrics.dead_letter(reason)

    async def ingest(stream):
        async for event in stream.events():
            metrics.event_in(getattr(event.message, "topic", ""))
            try:
                item = decode_inbound(codec, event.value, limits)
            except InvalidEvent as exc:
                await dead_letter(exc.reason, str(exc), event.key, event.value, event.message)
                yield ("dead_letter", exc.reason)
                continue
            await by_user.send(key=item.user_id.encode(), value=event.value)
            metrics.forwarded.inc()
            yield ("forwarded", item.user_id)

    # With the repartition hop, `ingest` re-keys every good event by user onto the by-user topic and `track` reads
    # that; without it (inputs keyed by user and co-partitioned), `track` reads the input topics itself.
    ingest = app.agent(sources, name="ingest")(ingest) if cfg.repartition else None

    records = RecordCache(cfg.record_cache_users, packing.unpack_user)

    def loader():
        """A batch's reader of stored records: each user's record read once per batch (the admission check reads it
        per signal, the batch then copies it once; neither changes it), from the record cache while the table still
        holds the bytes the agent last wrote."""
        loaded: dict[str, dict | None] = {}

        def load(user_id: str) -> dict | None:
            if user_id not in loaded:
                loaded[user_id] = records.read(user_id, users.get(user_id.encode()))
            return loaded[user_id]
        return load

    @app.agent(by_user if cfg.repartition else sources, name="track")
    async def track(stream):
        async for events in stream.take_events(cfg.batch_size, within=cfg.batch_within_s):
            batch_started = time.perf_counter()
            hits, misses = records.hits, records.misses
            items = await decode_events(events, codec, limits, not cfg.repartition, metrics, dead_letter)
            load = loader()
            todo = tracking.candidates(items, load, rules)
            vectors = await embed_signals(todo, signal_vectors, noise_filter, noise_filtered, metrics) if todo else {}
            result = tracking.apply_batch(items, load, vectors, rules)
            await rebuild_revoked(result, signal_vectors, rules)
            tracking.settle_revocations(result)
            await send_regeneration(result, regen, codec, policy, cfg.snapshot_items, metrics)
            for user_id, user in result.users.items():
                packed = packing.pack_user(user)  # MessagePack bytes (streams/packing.py)
                users[user_id.encode()] = packed
                records.wrote(user_id, packed, user)  # `user` is not changed after this
            metrics.record_cache(records.hits - hits, records.misses - misses)
            for outcome, count in result.outcomes.items():
                outcomes[outcome.encode()] += count
            if result.outcomes["duplicate"]:
                metrics.duplicates.inc(result.outcomes["duplicate"])
            metrics.updated([s.ts for s in vectors])
            metrics.batch_seconds.observe(time.perf_counter() - batch_started)
            yield result.outcomes["added"]

    return StreamParts(app, sources, by_user, dlq, regen, users, outcomes, dead_letters, noise_filtered, ingest,
                       track, metrics, signal_vectors)


async def embed_signals(todo: list, vectors: SignalVectors, noise_filter, noise_filtered, metrics: StreamMetrics
                        ) -> dict:
    """The vectors of the batch's new signals (the catalogue's for known articles, one model call for the rest, off
    the event loop so heartbeats and fetches go on), without those the noise filter flags (counted per domain)."""
    loop = asyncio.get_running_loop()
    before = vectors.from_catalogue, vectors.from_cache, vectors.embedded
    with metrics.embed_seconds.time():
        embedded = await loop.run_in_executor(None, vectors.embed, todo)
    metrics.vector_sources(vectors.from_catalogue - before[0], vectors.from_cache - before[1],
                           vectors.embedded - before[2])
    flags = [False] * len(todo)
    if noise_filter is not None:
        flags = noise_filter.predict([s.as_dict() for s in todo], embedded)
        for signal in (s for s, noisy in zip(todo, flags) if noisy):
            noise_filtered[signal.domain.encode()] += 1
            metrics.noise_filtered.labels(signal.domain).inc()
            log.debug("noise filter dropped %s %s of %s", signal.domain, signal.event_id, signal.user_id)
    return {s: v for s, v, noisy in zip(todo, embedded, flags) if not noisy}


async def rebuild_revoked(result: tracking.BatchResult, vectors: SignalVectors, rules: user_state.Rules) -> None:
    """Consent withdrawn: each such user's interest vector again, from what the user still allows."""
    loop = asyncio.get_running_loop()
    for user_id in result.revoked:
        kept = user_state.kept_signals(result.users[user_id])
        embedded = await loop.run_in_executor(None, vectors.embed, kept) if kept else []
        user_state.rebuild_interest(result.users[user_id], embedded, rules)


async def send_regeneration(result: tracking.BatchResult, regen, codec: AvroCodec, policy: drift.DriftPolicy,
                            snapshot_items: int, metrics: StreamMetrics) -> None:
    """Feature deletions first, then regeneration requests (same topic, keyed by user: the generator sees them in
    this order); each group acknowledged by the broker before the next step (and before the records are saved)."""
    pending = []
    for user_id, reason, before in result.deletions:
        record = deletion_record(user_id, reason, before)
        pending.append(await regen.send(key=user_id.encode(), value=codec.encode("feature_deletion", record)))
        log.info("feature deletion sent for %s (%s)", user_id, reason)
    await delivered(pending)
    pending = []
    for user_id, user in result.users.items():
        decision = tracking.decide(user, policy, user_id in result.revoked)
        if decision.regenerate:
            record = regen_record(user_id, decision, user["interest"], user["history"], snapshot_items)
            pending.append(await regen.send(key=user_id.encode(), value=codec.encode("regen_request", record)))
            drift.mark_generated(user["interest"])
            metrics.regeneration(decision.reason)
            log.info("regeneration requested for %s (%s, drift %.3f)", user_id, decision.reason, decision.drift)
    await delivered(pending)


async def decode_events(events: list, codec: AvroCodec, limits: Limits, direct: bool, metrics: StreamMetrics,
                        dead_letter) -> list:
    """The batch's valid inbound items, in order; the others dead-lettered with their reason. ``direct`` (no
    repartition hop): the events come from the input topics, are counted in, and must be keyed by their user."""
    items = []
    if direct:  # counted per topic and batch (a labelled counter's lookup per event was visible in the profile)
        for topic, n in Counter(getattr(event.message, "topic", "") for event in events).items():
            metrics.event_in(topic, n)
    for event in events:
        try:
            item = decode_inbound(codec, event.value, limits)
            if direct and event.key != item.user_id.encode():
                # the user's record lives in the partition of its user id: another key would split it
                raise InvalidEvent("not_keyed_by_user", f"key {event.key!r} is not the user id {item.user_id!r} "
                                                        f"(INTERESTS_REPARTITION=1 re-keys)")
            items.append(item)
        except InvalidEvent as exc:  # with the hop, only if a producer writes to the by-user topic itself
            await dead_letter(exc.reason, str(exc), event.key, event.value, event.message)
    return items
