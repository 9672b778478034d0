"""Feast's offline store for the query features: every row written online is appended here too, and training sets
are read back point-in-time correct.

The store is Feast's file offline store over a folder of Parquet files (``definitions.OFFLINE_PATH`` under the data
folder), one file per written batch: appending is one small file write, never a rewrite of what is there (Feast's
own ``write_to_offline_store`` rewrites the whole file on every call). Feast reads the folder as one table.

- :func:`append` writes a batch of query-feature records (the same records :func:`feature_repo.store.push_rows`
  writes online) stamped with the same ``written_at``.
- :func:`historical_features` is Feast's ``get_historical_features`` over the feature service: for every (user,
  timestamp) row of an entity frame, the features as they were at that time (the newest row written at or before
  it, within the view's TTL), None where there was none.
- :func:`delete_users` removes a user's rows from every file (a deletion request reaches the offline store too).
- :func:`read_rows` reads the rows written in a time range, for retraining jobs.

Delivery is at least once, like the online write: a batch written again after a failure appends its rows again with
a later ``written_at``, and a point-in-time read then returns the same features.
"""

from __future__ import annotations

import logging
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from feature_repo.config import FeatureStoreConfig
from feature_repo.repo import definitions

log = logging.getLogger(__name__)

_TS = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema([
    ("user_id", pa.string()),
    ("queries", pa.list_(pa.string())),
    ("query_embeddings", pa.list_(pa.list_(pa.float32()))),
    ("interest_vector", pa.list_(pa.float32())),
    ("model_version", pa.string()),
    ("generated_at", _TS),
    ("last_event_at", _TS),
    ("freshness_ms", pa.int64()),
    ("stale", pa.bool_()),
    ("stale_since", _TS),
    ("written_at", _TS),
    ("activity", pa.list_(pa.float32())),
])
# The record's activity values, in the order the view's `activity` field packs them (None when unknown)
ACTIVITY = ("history_length", "click_share", "search_share", "social_share", "browse_share")


class OfflineStoreEmpty(LookupError):
    """Nothing has been written to the offline store yet."""


def folder(cfg: FeatureStoreConfig) -> Path:
    return Path(cfg.data_dir) / definitions.OFFLINE_PATH


def _ms(value) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc)


def record_columns(rows: list[dict], written_at: datetime) -> dict[str, list]:
    """Query-feature records (the ``query_features`` Avro shape, plus ``freshness_ms``) -> the view's columns as
    Python lists, times as UTC datetimes (``stale`` defaults to False, ``stale_since`` and the activity fields to
    None), every row stamped ``written_at``: what the offline store and Feast's push path both write."""
    return {
        "user_id": [r["user_id"] for r in rows],
        "queries": [list(r["queries"]) for r in rows],
        "query_embeddings": [[list(map(float, e)) for e in r["query_embeddings"]] for r in rows],
        "interest_vector": [list(map(float, r["interest_vector"])) for r in rows],
        "model_version": [r["model_version"] for r in rows],
        "generated_at": [_ms(r["generated_at"]) for r in rows],
        "last_event_at": [_ms(r["last_event_at"]) for r in rows],
        "freshness_ms": [int(r.get("freshness_ms", 0)) for r in rows],
        "stale": [bool(r.get("stale", False)) for r in rows],
        "stale_since": [_ms(r.get("stale_since")) for r in rows],
        "written_at": [written_at.astimezone(timezone.utc)] * len(rows),
        "activity": [pack_activity(r) for r in rows],
    }


def pack_activity(record: dict) -> list[float] | None:
    """A record's activity values as the view's ``activity`` field (None when the record has none)."""
    if record.get("history_length") is None:
        return None
    return [float(record.get(name) or 0.0) for name in ACTIVITY]


def unpack_activity(row: dict) -> dict:
    """``row`` with its ``activity`` field replaced by the named values (None when empty)."""
    out = {k: v for k, v in row.items() if k != "activity"}
    packed = row.get("activity")
    values = list(packed) if packed is not None and len(packed) == len(ACTIVITY) else [None] * len(ACTIVITY)
    out.update(zip(ACTIVITY, values))
    if out["history_length"] is not None:
        out["history_length"] = int(out["history_length"])
    return out


def to_table(rows: list[dict], written_at: datetime) -> pa.Table:
    """Query-feature records -> an Arrow table of :data:`SCHEMA` (all rows stamped ``written_at``)."""
    return pa.table(record_columns(rows, written_at), schema=SCHEMA)


def append(cfg: FeatureStoreConfig, rows: list[dict], written_at: datetime | None = None) -> Path | None:
    """Append one batch as its own Parquet file; returns the file (None for an empty batch). The file appears
    whole: it is written under a temporary name and renamed."""
    if not rows:
        return None
    written_at = written_at or datetime.now(tz=timezone.utc)
    out = folder(cfg)
    out.mkdir(parents=True, exist_ok=True)
    stamp = int(written_at.timestamp() * 1000)
    path = out / f"part-{stamp:013d}-{uuid.uuid4().hex[:12]}.parquet"
    tmp = path.with_name("." + path.name + ".tmp")
    pq.write_table(to_table(rows, written_at), tmp)
    os.replace(tmp, path)
    return path


def _files(cfg: FeatureStoreConfig) -> list[Path]:
    out = folder(cfg)
    return sorted(out.glob("part-*.parquet")) if out.exists() else []


def migrate(cfg: FeatureStoreConfig) -> int:
    """Rewrite the files written before a column of :data:`SCHEMA` existed (the activity fields) with that column
    empty, so that Feast, which takes the columns of a folder's first file, reads every file alike; returns the files
    rewritten. Idempotent and atomic per file (temporary name, then rename)."""
    names = set(SCHEMA.names)
    rewritten = 0
    for path in _files(cfg):
        if names <= set(pq.read_schema(path).names):
            continue
        table = pq.read_table(path, schema=SCHEMA)  # the missing columns read as nulls
        tmp = path.with_name("." + path.name + ".tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, path)
        rewritten += 1
    if rewritten:
        log.info("offline store %s: %d files written before the current columns rewritten with them empty",
                 folder(cfg), rewritten)
    return rewritten


def historical_features(store, cfg: FeatureStoreConfig, entity_df: pd.DataFrame) -> pd.DataFrame:
    """``entity_df`` (columns ``user_id`` and ``event_timestamp``, UTC) joined with the feature service's features
    as they were at each row's timestamp. Rows come back in ``entity_df``'s order. Files of an older schema are
    brought up to date first (:func:`migrate`)."""
    missing = {"user_id", "event_timestamp"} - set(entity_df.columns)
    if missing:
        raise ValueError(f"the entity frame needs the columns user_id and event_timestamp (missing: {sorted(missing)})")
    if not _files(cfg):
        raise OfflineStoreEmpty(f"the offline store {folder(cfg)} has no rows yet: the generator worker writes them "
                                f"(INTERESTS_FEAST_OFFLINE_LOG=1), or `interests features backfill`")
    migrate(cfg)
    frame = entity_df.reset_index(drop=True).copy()
    frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"], utc=True)
    frame["_row"] = range(len(frame))
    service = store.get_feature_service(definitions.interest_features_v1.name)
    out = store.get_historical_features(entity_df=frame, features=service).to_df()
    # Feast's file (dask) store drops an entity row whose user has rows only *after* its timestamp instead of
    # returning it without features; joined back on the row number, it gets None like a user never written.
    features = [c for c in out.columns if c not in frame.columns]
    joined = frame.merge(out[["_row", *features]].drop_duplicates("_row"), on="_row", how="left")
    joined = joined.astype({c: object for c in features})
    joined = joined.where(joined.notna(), None).sort_values("_row").drop(columns="_row").reset_index(drop=True)
    out = pd.DataFrame([unpack_activity(r) for r in joined.to_dict("records")],
                       columns=[*(c for c in joined.columns if c != "activity"), *ACTIVITY])
    for name in ACTIVITY:  # None, not NaN, where a row has none (as every other feature)
        out[name] = out[name].astype(object).where(out[name].notna(), None)
    return out


def read_rows(cfg: FeatureStoreConfig, since: datetime | None = None, until: datetime | None = None) -> pd.DataFrame:
    """Every row written in ``[since, until)`` (all when not given), oldest first."""
    files = _files(cfg)
    if not files:
        return SCHEMA.empty_table().to_pandas()
    frame = pq.ParquetDataset([str(f) for f in files], schema=SCHEMA).read().to_pandas()
    if since is not None:
        frame = frame[frame["written_at"] >= pd.Timestamp(since)]
    if until is not None:
        frame = frame[frame["written_at"] < pd.Timestamp(until)]
    return frame.sort_values("written_at", kind="stable").reset_index(drop=True)


def delete_users(cfg: FeatureStoreConfig, user_ids: list[str]) -> int:
    """Remove every offline row of these users (rewriting only the files that hold some); returns the rows removed.
    Idempotent."""
    if not user_ids:
        return 0
    gone = pa.array(sorted(set(user_ids)), type=pa.string())
    removed = 0
    for path in _files(cfg):
        table = pq.read_table(path, schema=SCHEMA)
        hit = pc.is_in(table["user_id"], value_set=gone)
        n = int(pc.sum(hit).as_py() or 0)
        if not n:
            continue
        kept = table.filter(pc.invert(hit))
        removed += n
        if kept.num_rows:
            tmp = path.with_name("." + path.name + ".tmp")
            pq.write_table(kept, tmp)
            os.replace(tmp, path)
        else:
            path.unlink()
    if removed:
        log.info("deleted %d offline feature rows of %d users", removed, len(user_ids))
    return removed
