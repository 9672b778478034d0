"""The one configuration object of the stream side: broker, topics, history windows, interest vector and drift.

Every field can be set from the environment as ``INTERESTS_<FIELD NAME IN CAPITALS>`` (e.g.
``INTERESTS_BOOTSTRAP_SERVERS=127.0.0.1:9092``, ``INTERESTS_DRIFT_THRESHOLD=0.3``). Defaults run on a laptop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from common import settings
from common.settings import cache_dir

DOMAINS = ("click", "search", "social", "browse")


@dataclass(frozen=True)
class StreamsConfig:
    # --- Kafka --------------------------------------------------------------------------------------------------
    bootstrap_servers: str = "127.0.0.1:9092"  # the local broker listens here; its controller on port + 1
    state_dir: Path = field(default_factory=lambda: cache_dir() / "state")  # broker data, Faust data, logs
    topic_prefix: str = "interests"  # every topic name starts with it; names end in a version (.v1)
    event_partitions: int = 4  # partitions of the raw event topics and of the by-user repartition topic
    regen_partitions: int = 4  # partitions of the regeneration-request topic (scale generator workers up to it)
    app_id: str = "interests-stream"  # Faust app id: consumer group and prefix of changelog topics
    session_timeout_s: float = 60.0  # a worker silent this long (killed) loses its partitions to the others
    # --- validation ---------------------------------------------------------------------------------------------
    max_text_chars: int = 2000  # longer titles/queries/posts are dead-lettered as oversized
    max_future_skew_s: int = 24 * 3600  # events stamped further in the future than this are rejected
    min_event_time_ms: int = 946_684_800_000  # 2000-01-01: older timestamps are rejected as out of range
    # --- privacy (streams/consent.py) ------------------------------------------------------------------------------
    consent_default: str = "granted"  # domains without an explicit choice: "granted" (opt-out) or "denied" (opt-in)
    # --- history (per user, per domain, event-time window) -------------------------------------------------------
    history_max_items: int = 20  # newest N signals kept per domain
    history_max_age_s: int = 14 * 24 * 3600  # signals older than this (vs the user's newest event) are dropped
    # --- interest vector and drift -------------------------------------------------------------------------------
    half_life_s: float = 3 * 24 * 3600  # recency decay of the interest vector, in event time
    weight_click: float = 1.0
    weight_search: float = 1.0
    weight_social: float = 0.8
    weight_browse: float = 0.5
    cold_start_min_events: int = 3  # a new user gets a first generation after this many signals
    drift_threshold: float = 0.25  # cosine distance to the vector at the last generation that counts as drift
    cooldown_s: float = 3600.0  # at least this much event time between two generations of one user
    snapshot_items: int = 30  # signals carried by a regeneration request (newest first, across domains)
    # --- behaviour cleaning (the paper's lightweight classifier) -------------------------------------------------
    noise_model: str = ""  # path to a noise.joblib from `interests noise train`; empty turns the filter off
    noise_threshold: float = 0.5  # signals at or above this noise probability never enter a history
    # a folder with catalogue.parquet + article_embeddings.npy (the stream embedder's model): clicks and page views on
    # its articles take their precomputed vectors instead of being embedded (streams/catalogue.py); empty = embed all
    catalogue: str = ""
    # --- processing ----------------------------------------------------------------------------------------------
    # False (default): `track` reads the input topics directly, one Kafka hop and two records fewer per event; every
    # input must be keyed by user id and co-partitioned (as `interests replay` and the topic setup make them): an
    # event keyed otherwise is dead-lettered as not_keyed_by_user. True: `ingest` validates and re-keys every event
    # by user onto the by-user topic, which `track` reads (for producers that do not key by user)
    repartition: bool = False
    batch_size: int = 64  # events the tracking agent takes together (one embedding call, one write per user)
    batch_within_s: float = 0.2  # ... or whatever arrived within this time
    # users whose unpacked record the track agent keeps between batches (streams/record_cache.py; 0 = none): a
    # record is unpacked again only when the table holds other bytes than the agent last wrote. About 10 KB each
    record_cache_users: int = 20_000
    # commit the consumed offsets after this many acknowledged events (and at least every second, Faust's interval).
    # A crash redelivers at most this many per partition; the updates are idempotent, so that costs time, not data
    commit_every: int = 1000
    # free texts whose vectors the worker keeps (streams/catalogue.py: a popular search or page is embedded once while
    # it stays among the last N distinct texts; 0 = embed every text). 1.5 KB each at 384 dimensions
    text_cache: int = 20_000
    embedder: str = "minilm"  # "minilm" (all-MiniLM-L6-v2), "minilm-onnx" (the same, int8 ONNX) or "hash" (tests)
    # torch threads of the embedding model (0 = torch's default, one per core). One: the rest of the worker is one
    # Python thread, workers scale out as processes, and on a busy machine torch's threads wait on each other
    # (all-MiniLM-L6-v2 measured 142 vs 61 texts per CPU-second, 1 vs 2 threads, on the shared 2-core machine).
    torch_threads: int = 1
    web_port: int = 6066  # Faust's web server (health and stats); 0 disables it
    # --- observability (streams/metrics.py) ---------------------------------------------------------------------
    metrics_port: int = 9108  # Prometheus metrics at http://<metrics_host>:<port>/metrics; 0 disables the endpoint
    metrics_host: str = "0.0.0.0"  # address the metrics endpoint binds (scraped from other containers)

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}.{name}.v1"

    @property
    def event_topics(self) -> dict[str, str]:
        return {domain: self.topic(f"events.{domain}") for domain in DOMAINS}

    @property
    def by_user_topic(self) -> str:
        return self.topic("events.by-user")

    @property
    def dlq_topic(self) -> str:
        return self.topic("events.dlq")

    @property
    def privacy_topic(self) -> str:
        """Consent choices and deletion requests, keyed by user (re-keyed onto the by-user topic like events)."""
        return self.topic("privacy")

    @property
    def ingest_topics(self) -> list[str]:
        """What the ``ingest`` agent reads: every event topic and the privacy topic."""
        return [*self.event_topics.values(), self.privacy_topic]

    @property
    def stream_inputs(self) -> list[str]:
        """Every topic the stream app's consumer group reads (``ingest`` and ``track``): what its lag is over."""
        return [*self.ingest_topics, self.by_user_topic] if self.repartition else list(self.ingest_topics)

    @property
    def regen_topic(self) -> str:
        return self.topic("regen-requests")

    @property
    def queries_topic(self) -> str:
        return self.topic("queries")

    def topic_partitions(self) -> dict[str, int]:
        """Every topic the project creates explicitly, with its partition count."""
        topics = {t: self.event_partitions for t in self.event_topics.values()}
        topics[self.privacy_topic] = self.event_partitions
        topics[self.by_user_topic] = self.event_partitions
        topics[self.dlq_topic] = 1
        topics[self.regen_topic] = self.regen_partitions
        topics[self.queries_topic] = self.regen_partitions
        return topics

    @property
    def domain_weights(self) -> dict[str, float]:
        return {
            "click": self.weight_click,
            "search": self.weight_search,
            "social": self.weight_social,
            "browse": self.weight_browse,
        }

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "StreamsConfig":
        return settings.from_env(cls, env, overrides)
