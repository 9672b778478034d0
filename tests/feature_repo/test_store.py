"""feature_repo.store: deleting a user's online features from the real SQLite store, and the Redis path's keys."""

from __future__ import annotations

import time

import pytest

from feature_repo.config import FeatureStoreConfig
from feature_repo.store import FEATURES, delete_users, open_store, push_rows, read_features


def row(user: str) -> dict:
    now = int(time.time() * 1000)
    return {"user_id": user, "request_id": "r", "queries": [f"{user} news"], "query_embeddings": [[0.6, 0.8]],
            "interest_vector": [1.0, 0.0], "model_version": "m@1", "generated_at": now, "last_event_at": now,
            "freshness_ms": 5}


@pytest.fixture
def store(tmp_path):
    return open_store(FeatureStoreConfig(data_dir=tmp_path), apply=True)


def test_deleting_users_removes_their_features_and_only_theirs(store):
    push_rows(store, [row("alice"), row("bob")])
    removed = delete_users(store, ["alice", "nobody"])
    assert removed == len(FEATURES)  # one row per feature of the view
    alice, bob = read_features(store, ["alice", "bob"])
    assert alice["queries"] is None and alice["interest_vector"] is None
    assert bob["queries"] == ["bob news"]


def test_deleting_is_idempotent_and_works_before_anything_was_pushed(tmp_path):
    fresh = open_store(FeatureStoreConfig(data_dir=tmp_path / "fresh"), apply=True)
    assert delete_users(fresh, ["alice"]) == 0
    assert delete_users(fresh, []) == 0


def test_a_user_deleted_then_regenerated_has_the_new_features(store):
    push_rows(store, [row("alice")])
    delete_users(store, ["alice"])
    push_rows(store, [{**row("alice"), "queries": ["new life"]}])
    assert read_features(store, ["alice"])[0]["queries"] == ["new life"]


def test_the_redis_path_deletes_the_hash_feast_writes_for_the_user(monkeypatch, tmp_path):
    """FAKE Redis client: the keys must be the ones Feast's Redis store writes (no Redis server here)."""
    from feast.infra.online_stores.helpers import _redis_key

    from feature_repo import store as store_module

    deleted = []

    class FakeClient:
        def delete(self, *keys):
            deleted.extend(keys)
            return len(keys)

    cfg = FeatureStoreConfig(data_dir=tmp_path, online_store="redis")
    feast_store = store_module.FeatureStore(config=store_module.repo_config(cfg))
    online = feast_store._get_provider().online_store
    monkeypatch.setattr(online, "_get_client", lambda config: FakeClient())
    assert delete_users(feast_store, ["alice"]) == 1
    version = feast_store.config.entity_key_serialization_version
    assert deleted == [_redis_key("interests", store_module._entity_key("alice"), version)]
