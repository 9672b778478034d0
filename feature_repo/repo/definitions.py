"""Feast objects, top-down: Entity, Source, FeatureView, FeatureService. `feast apply` in this folder or
``feature_repo.store.open_store(apply=True)`` registers them."""

from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource, PushSource, ValueType
from feast.types import Array, Bool, Float32, Int64, String, UnixTimestamp

# A user of the news product; every feature here is per user.
user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.STRING,
              description="A reader, keyed by the id the event streams carry.")

# The offline store: every row the generator worker writes online is also appended here, one Parquet file per batch
# in this folder (relative to the repository path: the store's data folder, INTERESTS_FEAST_DATA_DIR). Training sets
# read it point-in-time correct with `get_historical_features`.
# The event timestamp is `written_at` (when the row was written), not `generated_at`: a stale re-push keeps the
# original `generated_at`, and online stores that skip writes not newer than the stored row (Redis) would otherwise
# drop it.
OFFLINE_PATH = "offline/user_interest_queries"
_offline = FileSource(
    name="user_interest_queries_log",
    path=OFFLINE_PATH,
    timestamp_field="written_at",
)

# The generator worker pushes every fresh query list here.
interest_queries_push = PushSource(name="user_interest_queries_push", batch_source=_offline)

# One row per user: the latest generated queries and what they were made from.
user_interest_queries = FeatureView(
    name="user_interest_queries",
    entities=[user],
    ttl=timedelta(days=30),
    schema=[
        Field(name="queries", dtype=Array(String), description="Interest-driven search queries, best first."),
        Field(name="query_embeddings", dtype=Array(Array(Float32)),
              description="all-MiniLM-L6-v2 embedding of each query (unit length), same order as queries."),
        Field(name="interest_vector", dtype=Array(Float32),
              description="Recency-decayed interest vector the queries were generated for (unit length)."),
        Field(name="model_version", dtype=String, description="Generator that made the queries (name@version)."),
        Field(name="generated_at", dtype=UnixTimestamp, description="When the queries were generated."),
        Field(name="last_event_at", dtype=UnixTimestamp, description="Event time of the newest signal used."),
        Field(name="freshness_ms", dtype=Int64,
              description="Milliseconds from the regeneration request to the features being written."),
        Field(name="stale", dtype=Bool,
              description="True when the latest regeneration's output stayed invalid and these are the previous "
                          "features, kept (queries, embeddings, version and generated_at unchanged)."),
        Field(name="stale_since", dtype=UnixTimestamp,
              description="When the features first became stale (the first failed regeneration); empty when fresh."),
        # One field, not five: the SQLite online store keeps a table row per (user, feature), so every field is a
        # row more in each lookup. The store's read path unpacks it into the five named values.
        Field(name="activity", dtype=Array(Float32),
              description="The history the queries were made from (models/activity.py), for rankers: [signals, "
                          "click share, search share, social share, browse share]; empty in rows written before it."),
    ],
    source=interest_queries_push,
    online=True,
    description="Latest interest queries per user, written by the generator worker.",
)

# What rankers read, versioned: a new feature set gets a new service, the old one keeps serving.
interest_features_v1 = FeatureService(
    name="interest_features_v1",
    features=[user_interest_queries],
    description="Interest queries, their embeddings and the interest vector, for rankers and the recall path.",
)
