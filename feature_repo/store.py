"""Open the Feast store, apply the definitions, push feature rows, delete a user's rows, and read them as a ranker
does."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import weakref
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from feast import FeatureStore, RepoConfig
from feast.data_source import PushMode
from feast.type_map import NULL_TIMESTAMP_INT_VALUE, feast_value_type_to_python_type

from feature_repo import offline
from feature_repo.config import FeatureStoreConfig
from feature_repo.repo import definitions

log = logging.getLogger(__name__)
PUSH_SOURCE = definitions.interest_queries_push.name
FEATURE_SERVICE = definitions.interest_features_v1.name
VIEW = definitions.user_interest_queries.name
FEATURES = [f.name for f in definitions.user_interest_queries.schema]
# How long a store's feature view object is reused before it is read from the registry again (see feature_view).
VIEW_REFRESH_S = 60.0
_views: "weakref.WeakKeyDictionary[FeatureStore, tuple[float, object]]" = weakref.WeakKeyDictionary()
_views_lock = threading.Lock()


def repo_config(cfg: FeatureStoreConfig) -> RepoConfig:
    data = Path(cfg.data_dir)
    if cfg.online_store == "sqlite":
        online = {"type": "sqlite", "path": str(data / "online_store.db")}
    elif cfg.online_store == "redis":
        online = {"type": "redis", "connection_string": cfg.redis_connection}
    else:
        raise ValueError(f"online_store must be 'sqlite' or 'redis', not {cfg.online_store!r}")
    return RepoConfig(
        project=cfg.project,
        provider="local",
        registry=str(data / "registry.db"),
        online_store=online,
        offline_store={"type": "file"},
        entity_key_serialization_version=3,
        repo_path=data,  # the offline store's relative path (definitions.OFFLINE_PATH) lives under the data folder
    )


def open_store(cfg: FeatureStoreConfig, apply: bool = False) -> FeatureStore:
    """The store described by ``cfg``; ``apply=True`` registers the definitions first (idempotent)."""
    Path(cfg.data_dir).mkdir(parents=True, exist_ok=True)
    store = FeatureStore(config=repo_config(cfg))
    if apply:
        store.apply([definitions.user, definitions.interest_queries_push, definitions.user_interest_queries,
                     definitions.interest_features_v1])
    return store


def feature_view(store: FeatureStore, refresh_s: float = VIEW_REFRESH_S):
    """The registered query-feature view of ``store``, read from its registry at most once per ``refresh_s``
    seconds (``0``: every call).

    Why: ``store.get_feature_view`` rebuilds the view from its registry proto on every call, with a runtime type
    check of each field's arguments: about 7 ms, nine tenths of a one-user lookup (``python -m
    training.ranking_latency``). The view changes only when the definitions are applied again; a process that reads
    and writes rows picks up a new definition within ``refresh_s``."""
    now = time.monotonic()
    with _views_lock:
        hit = _views.get(store)
    if hit is None or now - hit[0] >= refresh_s:
        hit = (now, store.get_feature_view(VIEW))
        with _views_lock:
            _views[store] = hit
    return hit[1]


def to_frame(rows: list[dict], written_at: datetime | None = None) -> pd.DataFrame:
    """Query-feature records -> a push DataFrame (the columns of :func:`feature_repo.offline.record_columns`);
    ``written_at`` (the event timestamp Feast orders rows by) is the push time unless given."""
    columns = offline.record_columns(rows, written_at or datetime.now(tz=timezone.utc))
    return pd.DataFrame({**columns, "stale_since": pd.to_datetime(columns["stale_since"], utc=True)})


def online_rows(rows: list[dict], written_at: datetime | None = None) -> list[tuple]:
    """Query-feature records -> the ``(entity key, {feature: Value}, event time, created time)`` tuples an online
    store writes, built directly for this view's known types; the event time is ``written_at`` (default now), as in
    :func:`to_frame`.

    Why not ``store.push``: Feast infers the type of every float of a nested list (``Array(Array(Float32))``) one
    call at a time, about 14,000 calls per user here, which was three quarters of a generator batch on CPU (load
    benchmark profile). ``tests/feature_repo/test_online_rows.py`` pins these protos to Feast's own conversion.
    """
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.protos.feast.types.Value_pb2 import FloatList, RepeatedValue, StringList, Value

    event_time = (written_at or datetime.now(tz=timezone.utc)).astimezone(timezone.utc).replace(tzinfo=None)
    out = []
    for r in rows:
        since, activity = r.get("stale_since"), offline.pack_activity(r)
        key = EntityKey(join_keys=["user_id"], entity_values=[Value(string_val=r["user_id"])])
        values = {
            "queries": Value(string_list_val=StringList(val=list(r["queries"]))),
            "query_embeddings": Value(list_val=RepeatedValue(
                val=[Value(float_list_val=FloatList(val=e)) for e in r["query_embeddings"]])),
            "interest_vector": Value(float_list_val=FloatList(val=r["interest_vector"])),
            "model_version": Value(string_val=r["model_version"]),
            "generated_at": Value(unix_timestamp_val=int(r["generated_at"]) // 1000),
            "last_event_at": Value(unix_timestamp_val=int(r["last_event_at"]) // 1000),
            "freshness_ms": Value(int64_val=int(r.get("freshness_ms", 0))),
            "stale": Value(bool_val=bool(r.get("stale", False))),
            "stale_since": Value(unix_timestamp_val=int(since) // 1000 if since is not None
                                 else int(NULL_TIMESTAMP_INT_VALUE)),
            "activity": Value(float_list_val=FloatList(val=activity)) if activity is not None else Value(),
        }
        out.append((key, {name: values[name] for name in FEATURES}, event_time, None))
    return out


def push_rows(store: FeatureStore, rows: list[dict], written_at: datetime | None = None) -> None:
    """Write rows to the online store in one call (batching matters: one write per batch, not per user)."""
    if rows:
        view = feature_view(store)
        store._get_provider().online_write_batch(store.config, view, online_rows(rows, written_at), progress=None)


def write_rows(store: FeatureStore, cfg: FeatureStoreConfig, rows: list[dict]) -> None:
    """What the generator worker writes per batch: the rows online and, when ``cfg.offline_log``, the same rows with
    the same ``written_at`` appended to the offline store (offline first: a row served online is always in the
    training log; a failure between the two writes is retried as a whole)."""
    if not rows:
        return
    written_at = datetime.now(tz=timezone.utc)
    if cfg.offline_log:
        offline.append(cfg, rows, written_at)
    push_rows(store, rows, written_at)


def forget_users(store: FeatureStore, cfg: FeatureStoreConfig, user_ids: list[str]) -> int:
    """A deletion request: the users' online rows and their offline rows; returns the online rows or keys removed."""
    removed = delete_users(store, user_ids)
    offline.delete_users(cfg, user_ids)
    return removed


def push_rows_through_feast(store: FeatureStore, rows: list[dict]) -> None:
    """The same write through Feast's push API (slower; kept as the reference the fast path is checked against)."""
    if rows:
        store.push(PUSH_SOURCE, to_frame(rows), to=PushMode.ONLINE)


def _entity_key(user_id: str):
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.protos.feast.types.Value_pb2 import Value

    return EntityKey(join_keys=[definitions.user.join_key], entity_values=[Value(string_val=user_id)])


def delete_users(store: FeatureStore, user_ids: list[str]) -> int:
    """Delete every online feature row of these users (a deletion request); returns the rows (SQLite) or keys
    (Redis) removed. Idempotent.

    Feast 0.67's SDK has no per-entity delete (``RedisOnlineStore.delete_entity_values`` drops every entity of a
    join key, ``teardown`` the whole view), so this removes the rows under the exact keys Feast writes them with:
    SQLite rows of the view's table whose ``entity_key`` is the user's serialised entity key; the Redis hash of the
    user's entity key in this project (all its feature views). A read afterwards returns no features for them.
    """
    from feast.infra.key_encoding_utils import serialize_entity_key

    if not user_ids:
        return 0
    config = store.config
    version = config.entity_key_serialization_version
    kind = config.online_store.type
    if kind == "sqlite":
        from feast.infra.online_stores.helpers import compute_table_id

        versioning = getattr(config.registry, "enable_online_feature_view_versioning", False)
        table = compute_table_id(config.project, definitions.user_interest_queries, versioning)
        keys = [(serialize_entity_key(_entity_key(u), entity_key_serialization_version=version),) for u in user_ids]
        with closing(sqlite3.connect(config.online_store.path, timeout=5.0)) as conn, conn:
            try:
                return conn.executemany(f'DELETE FROM "{table}" WHERE entity_key = ?', keys).rowcount
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):  # nothing was ever pushed
                    return 0
                raise
    if kind == "redis":
        from feast.infra.online_stores.helpers import _redis_key

        client = store._get_provider().online_store._get_client(config.online_store)
        return int(client.delete(*[_redis_key(config.project, _entity_key(u), version) for u in user_ids]))
    raise ValueError(f"deleting users is not implemented for the {kind!r} online store")


# Scalar kinds Feast's conversion returns as the proto's own attribute.
_PLAIN_KINDS = frozenset({"string_val", "int64_val", "int32_val", "bool_val", "double_val", "float_val"})
# The features a ranker reads as numpy arrays with read_features(..., arrays=True).
ARRAY_FEATURES = ("interest_vector", "query_embeddings")


def _python(value, arrays: bool = False):
    """One feature ``Value`` proto of this view as Python, the way Feast's ``get_online_features`` returns it (pinned
    by ``tests/feature_repo/test_online_rows.py``); the nested float lists without a call per float, and with
    ``arrays`` as float32 numpy arrays (a list of float lists as one 2-D array)."""
    kind = value.WhichOneof("val")
    if kind is None:
        return None
    if kind in _PLAIN_KINDS:
        return getattr(value, kind)
    if kind == "unix_timestamp_val":
        seconds = value.unix_timestamp_val
        return None if seconds == NULL_TIMESTAMP_INT_VALUE else datetime.fromtimestamp(seconds, tz=timezone.utc)
    if kind == "list_val":
        items = value.list_val.val
        if arrays and all(v.WhichOneof("val") == "float_list_val" for v in items):
            vectors = [float_array(v.float_list_val) for v in items]
            return np.stack(vectors) if vectors else np.zeros((0, 0), np.float32)
        return [_python(v, arrays) for v in items]
    if kind == "float_list_val":
        return float_array(value.float_list_val) if arrays else float_values(value.float_list_val)
    if kind in ("double_list_val", "string_list_val"):
        return list(getattr(value, kind).val)
    return feast_value_type_to_python_type(value)


def float_array(message) -> np.ndarray:
    """A ``FloatList`` proto's values as a float32 numpy array, read from its wire bytes in one ``numpy.frombuffer``:
    a packed repeated float (field 1, wire type 2) is the tag byte 0x0A, the byte length as a varint, then
    little-endian float32s. Anything else (an unpacked encoding) is read value by value."""
    data = message.SerializeToString()
    if not data:
        return np.zeros(0, np.float32)
    size, shift, at = 0, 0, 1
    while at < len(data):
        byte = data[at]
        size |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if byte < 0x80:
            break
    if data[0] != 0x0A or at + size != len(data) or size % 4:
        return np.asarray(list(message.val), dtype=np.float32)
    return np.frombuffer(data, dtype="<f4", count=size // 4, offset=at).copy()


def float_values(message) -> list[float]:
    """A ``FloatList`` proto's values as Python floats (:func:`float_array`, then one ``tolist``): half the cost of
    ``list(message.val)``, which converts one float per call (384 per embedding)."""
    return float_array(message).tolist()


def read_features(store: FeatureStore, user_ids: list[str], arrays: bool = False) -> list[dict]:
    """What a ranker reads: every feature of the feature service for each user, in one read of the online store
    (the packed ``activity`` as its five named values). Users without features get None values. With ``arrays``,
    the :data:`ARRAY_FEATURES` come as float32 numpy arrays (``query_embeddings`` as one [queries, dim] array), as a
    ranker uses them, instead of lists of Python floats (making 2,300 Python floats per user is a third of a
    100-user read).

    Why not ``store.get_online_features``: it resolves the service, builds a response proto and converts every float
    of the nested embeddings one call at a time. Here the view comes from :func:`feature_view` (not rebuilt per
    read) and the embeddings' floats from :func:`float_array` (``python -m training.ranking_latency --lookups-only``
    times it). :func:`read_features_through_feast` is that call, kept as the reference this one is tested
    against."""
    view = feature_view(store)
    # a copy: the Redis store appends its timestamp column to the list it is given
    found = store._get_provider().online_read(store.config, view, [_entity_key(u) for u in user_ids], list(FEATURES))
    as_array = {name: arrays and name in ARRAY_FEATURES for name in FEATURES}
    rows = []
    for user, (_, values) in zip(user_ids, found):
        values = values or {}
        rows.append(offline.unpack_activity({"user_id": user, **{
            name: _python(values[name], as_array[name]) if name in values else None for name in FEATURES}}))
    return rows


def read_features_through_feast(store: FeatureStore, user_ids: list[str]) -> list[dict]:
    """The same read through Feast's ``get_online_features`` on the versioned feature service (slower)."""
    service = store.get_feature_service(FEATURE_SERVICE)
    response = store.get_online_features(features=service, entity_rows=[{"user_id": u} for u in user_ids])
    columns = response.to_dict()
    return [offline.unpack_activity({name: columns[name][i] for name in columns}) for i in range(len(user_ids))]
