"""feature_repo.offline against Feast's real file offline store: point-in-time reads, deletions, ranges, and the
worker's write path landing the same rows online and offline."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from feature_repo import offline
from feature_repo.config import FeatureStoreConfig
from feature_repo.store import forget_users, open_store, read_features, write_rows

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def row(user: str, queries: list[str], at: datetime) -> dict:
    ms = int(at.timestamp() * 1000)
    return {"user_id": user, "request_id": "r", "queries": queries, "query_embeddings": [[0.6, 0.8]] * len(queries),
            "interest_vector": [1.0, 0.0], "model_version": "m@1", "generated_at": ms, "last_event_at": ms - 500,
            "freshness_ms": 7}


@pytest.fixture
def cfg(tmp_path):
    return FeatureStoreConfig(data_dir=tmp_path / "feast")


def test_historical_features_are_the_ones_written_at_or_before_each_timestamp(cfg):
    store = open_store(cfg, apply=True)
    first, second = T0 + timedelta(hours=1), T0 + timedelta(hours=3)
    offline.append(cfg, [row("alice", ["ecb rate decision"], first), row("bob", ["arsenal injuries"], first)], first)
    offline.append(cfg, [row("alice", ["mars sample return", "nasa budget"], second)], second)
    entities = pd.DataFrame({
        "user_id": ["alice", "alice", "alice", "alice", "bob", "carol"],
        "event_timestamp": [T0, first + timedelta(minutes=30), second, second + timedelta(days=2),
                            second + timedelta(days=1), second],
    })
    got = offline.historical_features(store, cfg, entities)  # T0 is before any row: Feast alone drops that row
    assert got["user_id"].tolist() == entities["user_id"].tolist()  # the entity frame's order
    queries = [None if q is None else list(q) for q in got["queries"]]
    assert queries == [None, ["ecb rate decision"], ["mars sample return", "nasa budget"],
                       ["mars sample return", "nasa budget"], ["arsenal injuries"], None]
    assert got.loc[1, "model_version"] == "m@1" and int(got.loc[1, "freshness_ms"]) == 7


def test_files_written_before_the_activity_fields_are_read_with_them_empty(cfg):
    """Feast takes a folder's columns from its first file: an older file is brought up to date before a read."""
    import pyarrow.parquet as pq

    store = open_store(cfg, apply=True)
    first, second = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    old = offline.to_table([row("alice", ["ecb rate decision"], first)], first).drop_columns(["activity"])
    offline.folder(cfg).mkdir(parents=True, exist_ok=True)
    pq.write_table(old, offline.folder(cfg) / "part-0000000000000-old.parquet")  # sorts first
    offline.append(cfg, [{**row("bob", ["arsenal injuries"], second), "history_length": 9, "search_share": 0.5}],
                   second)
    got = offline.historical_features(store, cfg, pd.DataFrame({"user_id": ["alice", "bob"],
                                                                "event_timestamp": [second] * 2}))
    assert list(got.loc[0, "queries"]) == ["ecb rate decision"] and got.loc[0, "history_length"] is None
    assert got.loc[1, "history_length"] == 9 and got.loc[1, "search_share"] == 0.5  # unpacked, named
    assert got.loc[1, "click_share"] == 0.0 and "activity" not in got.columns
    assert offline.migrate(cfg) == 0  # done once
    assert "activity" in pq.read_schema(min(offline.folder(cfg).glob("part-*.parquet"))).names


def test_reading_an_empty_offline_store_says_what_writes_it(cfg):
    store = open_store(cfg, apply=True)
    with pytest.raises(offline.OfflineStoreEmpty, match="generator worker"):
        offline.historical_features(store, cfg, pd.DataFrame({"user_id": ["a"], "event_timestamp": [T0]}))
    with pytest.raises(ValueError, match="event_timestamp"):
        offline.historical_features(store, cfg, pd.DataFrame({"user_id": ["a"]}))


def test_rows_in_a_range_and_deleting_users_rewrites_only_their_files(cfg):
    times = [T0 + timedelta(hours=h) for h in range(3)]
    paths = [offline.append(cfg, [row("alice", [f"q{i}"], t), row(f"u{i}", [f"p{i}"], t)], t)
             for i, t in enumerate(times)]
    offline.append(cfg, [row("dora", ["only dora"], times[2])], times[2])
    assert offline.append(cfg, [], T0) is None
    in_range = offline.read_rows(cfg, since=times[1], until=times[2])
    assert sorted(in_range["user_id"]) == ["alice", "u1"]
    assert offline.delete_users(cfg, ["alice", "dora", "nobody"]) == 4
    left = offline.read_rows(cfg)
    assert sorted(left["user_id"]) == ["u0", "u1", "u2"]
    assert all(p.exists() for p in paths) and len(list(offline.folder(cfg).glob("part-*.parquet"))) == 3
    assert offline.delete_users(cfg, ["alice"]) == 0


def test_the_worker_write_lands_the_same_rows_online_and_offline_and_a_deletion_removes_both(cfg):
    store = open_store(cfg, apply=True)
    now = datetime.now(tz=timezone.utc)
    write_rows(store, cfg, [row("alice", ["tour de france stage"], now), row("bob", ["budget vote"], now)])
    logged = offline.read_rows(cfg)
    assert sorted(logged["user_id"]) == ["alice", "bob"]
    assert logged["written_at"].nunique() == 1
    alice = read_features(store, ["alice"])[0]
    assert alice["queries"] == ["tour de france stage"]
    forget_users(store, cfg, ["alice"])
    assert read_features(store, ["alice"])[0]["queries"] is None
    assert offline.read_rows(cfg)["user_id"].tolist() == ["bob"]


def test_the_offline_log_can_be_switched_off(tmp_path):
    cfg = FeatureStoreConfig(data_dir=tmp_path, offline_log=False)
    store = open_store(cfg, apply=True)
    write_rows(store, cfg, [row("alice", ["chess olympiad"], datetime.now(tz=timezone.utc))])
    assert read_features(store, ["alice"])[0]["queries"] == ["chess olympiad"]
    assert offline.read_rows(cfg).empty
