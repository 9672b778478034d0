"""The Redis online store against a real redis-server: what the generator pushes is what a ranker reads."""

from __future__ import annotations

import numpy as np
import pytest

from feature_repo.store import open_store, push_rows, read_features
from tests.feature_repo.rows import feature_row

pytestmark = pytest.mark.integration


def test_pushed_rows_are_read_back_from_redis(redis_store_cfg, redis_server_addr):
    import redis

    store = open_store(redis_store_cfg, apply=True)
    rows = [feature_row("alice", ["arsenal title race", "saka injury news"], seed=1),
            feature_row("bob", ["ecb interest rates"], seed=2)]
    push_rows(store, rows)

    host, port = redis_server_addr.split(":")
    assert redis.Redis(host=host, port=int(port)).dbsize() >= 2  # the rows are in Redis, not in a SQLite file
    assert not (redis_store_cfg.data_dir / "online_store.db").exists()

    got = {r["user_id"]: r for r in read_features(store, ["alice", "bob", "nobody"])}
    for row in rows:
        read = got[row["user_id"]]
        assert read["queries"] == row["queries"]
        np.testing.assert_allclose(np.asarray(read["query_embeddings"]), np.asarray(row["query_embeddings"]),
                                   rtol=1e-6)
        np.testing.assert_allclose(read["interest_vector"], row["interest_vector"], rtol=1e-6)
        assert read["model_version"] == row["model_version"]
        assert int(read["generated_at"].timestamp()) == row["generated_at"] // 1000  # Feast keeps whole seconds
        assert read["freshness_ms"] == 900
    assert got["nobody"]["queries"] is None


def test_a_newer_push_overwrites_a_users_features(redis_store_cfg):
    store = open_store(redis_store_cfg, apply=True)
    push_rows(store, [feature_row("carol", ["old interest"], seed=3, generated_at=1_700_000_000_000)])
    push_rows(store, [feature_row("carol", ["new interest", "another"], seed=4, generated_at=1_700_000_060_000)])
    (row,) = read_features(store, ["carol"])
    assert row["queries"] == ["new interest", "another"] and row["model_version"] == "test@4"


def test_a_second_store_object_on_the_same_redis_sees_the_rows(redis_store_cfg):
    """The generator worker writes and the feature server reads through separate store objects (and processes)."""
    writer = open_store(redis_store_cfg, apply=True)
    push_rows(writer, [feature_row("dave", ["tennis open final"], seed=5)])
    reader = open_store(redis_store_cfg)
    assert read_features(reader, ["dave"])[0]["queries"] == ["tennis open final"]
