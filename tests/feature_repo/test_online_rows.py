"""The generator's direct online write builds the same protos Feast's push conversion builds (so the rows read the
same), only faster; the one deliberate difference is float32 instead of float64 for the query embeddings, which is
the view's declared type and loses nothing (the embeddings are float32 numbers)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import numpy as np
import pyarrow as pa
import pytest
from feast.utils import _convert_arrow_to_proto

from feature_repo.repo import definitions
from feature_repo.config import FeatureStoreConfig
from feature_repo.offline import ACTIVITY
from feature_repo.store import (ARRAY_FEATURES, feature_view, float_array, float_values, online_rows, open_store,
                                 push_rows, push_rows_through_feast, read_features, read_features_through_feast,
                                 to_frame)
from tests.feature_repo.rows import feature_row


WRITTEN_AT = datetime(2026, 11, 25, 12, 0, 0, 123000, tzinfo=timezone.utc)


def feast_rows(rows):
    table = pa.Table.from_pandas(to_frame(rows, written_at=WRITTEN_AT))
    return _convert_arrow_to_proto(table, definitions.user_interest_queries, {"user_id": definitions.user.value_type})


def test_online_rows_match_feasts_own_conversion():
    rows = [feature_row("alice", ["arsenal title race", "saka injury news"], seed=1),
            {**feature_row("bob", ["ecb interest rates"], seed=2), "stale": True, "stale_since": 1_795_000_000_500},
            {**feature_row("carol", ["ecb interest rates"], seed=3), **dict.fromkeys(ACTIVITY)}]  # written before v3
    ours_all, theirs_all = online_rows(rows, written_at=WRITTEN_AT), feast_rows(rows)
    assert len(ours_all) == len(theirs_all) == 3
    for (key, values, ts, created), (f_key, f_values, f_ts, f_created) in zip(ours_all, theirs_all):
        assert key == f_key and created == f_created
        assert ts == f_ts
        assert set(values) == set(f_values)
        for name in values:
            if name == "query_embeddings":
                ours = [list(v.float_list_val.val) for v in values[name].list_val.val]
                theirs = [list(v.double_list_val.val) for v in f_values[name].list_val.val]
                np.testing.assert_array_equal(np.float32(ours), np.float32(theirs))
            else:
                assert values[name] == f_values[name], name


def test_direct_write_reads_back_like_a_feast_push_and_is_faster(tmp_path):
    fast = open_store(FeatureStoreConfig(data_dir=tmp_path / "fast"), apply=True)
    slow = open_store(FeatureStoreConfig(data_dir=tmp_path / "slow"), apply=True)
    rows = [feature_row(f"u{i}", [f"query {i} {j}" for j in range(5)], seed=i) for i in range(32)]
    push_rows(fast, rows[:1])  # warm both paths (registry caches, table creation)
    push_rows_through_feast(slow, rows[:1])
    started = time.perf_counter()
    push_rows(fast, rows)
    direct = time.perf_counter() - started
    started = time.perf_counter()
    push_rows_through_feast(slow, rows)
    through_feast = time.perf_counter() - started
    users = [r["user_id"] for r in rows]
    for a, b in zip(read_features(fast, users), read_features(slow, users)):
        assert a["queries"] == b["queries"] and a["model_version"] == b["model_version"]
        assert a["generated_at"] == b["generated_at"] and a["freshness_ms"] == b["freshness_ms"]
        assert a["stale"] == b["stale"] is False and a["stale_since"] == b["stale_since"]
        np.testing.assert_array_equal(np.float32(a["query_embeddings"]), np.float32(b["query_embeddings"]))
        np.testing.assert_array_equal(np.float32(a["interest_vector"]), np.float32(b["interest_vector"]))
    assert direct < through_feast, (direct, through_feast)


@pytest.fixture(params=["sqlite", "redis"])
def any_store(request, tmp_path):
    if request.param == "redis":
        return open_store(request.getfixturevalue("redis_store_cfg"), apply=True)
    return open_store(FeatureStoreConfig(data_dir=tmp_path / "feast"), apply=True)


def test_the_direct_read_returns_what_feasts_get_online_features_returns(any_store):
    rows = [feature_row("alice", ["arsenal title race", "saka injury news"], seed=1),
            {**feature_row("bob", ["ecb interest rates"], seed=2), "stale": True, "stale_since": 1_795_000_000_500,
             **dict.fromkeys(ACTIVITY)}]
    push_rows(any_store, rows)
    old = datetime.now(tz=timezone.utc) - timedelta(days=45)  # older than the view's TTL
    push_rows(any_store, [feature_row("carol", ["old news"], seed=3)], written_at=old)
    users = ["alice", "ghost", "bob", "carol", "alice"]
    ours, theirs = read_features(any_store, users), read_features_through_feast(any_store, users)
    assert [r["user_id"] for r in ours] == users
    for a, b in zip(ours, theirs):
        assert set(a) == set(b)
        for name in a:
            assert a[name] == b[name], (a["user_id"], name)
            assert type(a[name]) is type(b[name]), (a["user_id"], name)
    assert ours[0]["queries"] == ["arsenal title race", "saka injury news"] and ours[1]["queries"] is None
    assert ours[0]["history_length"] == 11 and ours[0]["search_share"] == 0.25 and ours[2]["history_length"] is None


def test_the_read_as_arrays_holds_the_same_numbers_as_float32_arrays(any_store):
    rows = [feature_row("alice", ["arsenal title race", "saka injury news"], seed=1),
            feature_row("bob", ["ecb interest rates"], seed=2)]
    push_rows(any_store, rows)
    users = ["alice", "ghost", "bob"]
    lists, arrays = read_features(any_store, users), read_features(any_store, users, arrays=True)
    for a, b in zip(lists, arrays):
        assert set(a) == set(b)
        for name in a:
            if name in ARRAY_FEATURES and a[name] is not None:
                assert isinstance(b[name], np.ndarray) and b[name].dtype == np.float32 and b[name].flags.writeable
                np.testing.assert_array_equal(b[name], np.float32(a[name]))
            else:
                assert a[name] == b[name] and type(a[name]) is type(b[name]), (a["user_id"], name)
    assert arrays[0]["query_embeddings"].shape == (2, len(arrays[0]["interest_vector"]))
    assert arrays[1]["query_embeddings"] is None and arrays[2]["query_embeddings"].shape[0] == 1


@pytest.mark.parametrize("values", [[], [0.5], [1.0, -2.25, 3.5e-8],
                                    np.linspace(-1, 1, 384, dtype=np.float32).tolist()])
def test_float_values_reads_a_float_list_from_its_wire_bytes_like_the_proto(values):
    from feast.protos.feast.types.Value_pb2 import FloatList

    message = FloatList(val=values)
    assert float_values(message) == list(message.val)
    assert all(type(x) is float for x in float_values(message))
    array = float_array(message)
    assert array.dtype == np.float32 and array.tolist() == list(message.val)


def test_float_values_falls_back_on_bytes_it_does_not_expect():
    from feast.protos.feast.types.Value_pb2 import FloatList

    class Unpacked:  # a message whose wire bytes are not one packed field: read through the proto's list
        val = FloatList(val=[1.5, 2.5]).val

        def SerializeToString(self):
            return b"\x0d\x00\x00\xc0\x3f\x0d\x00\x00\x20\x40"  # field 1 as two unpacked fixed32 values

    assert float_values(Unpacked()) == [1.5, 2.5]
    assert float_array(Unpacked()).dtype == np.float32 and float_array(Unpacked()).tolist() == [1.5, 2.5]


def test_the_feature_view_is_read_from_the_registry_once_per_refresh(tmp_path, monkeypatch):
    store = open_store(FeatureStoreConfig(data_dir=tmp_path / "feast"), apply=True)
    calls = []
    real = store.get_feature_view
    monkeypatch.setattr(store, "get_feature_view", lambda name: calls.append(name) or real(name))
    push_rows(store, [feature_row("alice", ["arsenal title race"], seed=1)])
    first = feature_view(store)
    assert read_features(store, ["alice"])[0]["queries"] == ["arsenal title race"]
    assert feature_view(store) is first and calls == ["user_interest_queries"]
    again = feature_view(store, refresh_s=0)  # a refresh reads the registry again
    assert again is not first and again.name == first.name and len(calls) == 2
    other = open_store(FeatureStoreConfig(data_dir=tmp_path / "feast"))  # each store keeps its own
    assert feature_view(other) is not again
