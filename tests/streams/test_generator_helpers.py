"""streams.generator.worker pure helpers: request de-duplication, request -> context, generations -> feature rows."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pytest

from models.embeddings import HashEmbedder
from models.generators.base import Generation
from streams.generator.batch import feature_rows, latest_per_user, to_context

UTC = dt.timezone.utc


def request(user="u1", emitted_at=1_000, request_id=None, history=None, last_event_at=900, vector=(0.5, 0.25)):
    return {"request_id": request_id or f"{user}-{emitted_at}", "user_id": user, "reason": "DRIFT", "drift": 0.3,
            "last_event_at": last_event_at, "emitted_at": emitted_at, "interest_vector": list(vector),
            "history": history if history is not None else [
                {"domain": "CLICK", "kind": "click", "text": "Fed holds rates", "ts": 900, "item_id": "a1",
                 "platform": None}]}


def test_latest_per_user_keeps_the_newest_emitted_request_and_counts_the_dropped():
    requests = [request("a", 100), request("b", 50), request("a", 300), request("a", 200)]
    kept, dropped = latest_per_user(requests)
    assert dropped == 2
    assert {r["user_id"]: r["emitted_at"] for r in kept} == {"a": 300, "b": 50}


def test_latest_per_user_prefers_the_later_arrival_on_equal_emit_time():
    kept, dropped = latest_per_user([request("a", 100, "first"), request("a", 100, "second")])
    assert [r["request_id"] for r in kept] == ["second"] and dropped == 1


def test_latest_per_user_of_nothing():
    assert latest_per_user([]) == ([], 0)


def test_latest_per_user_works_with_datetimes():
    old = request("a", dt.datetime(2026, 1, 1, tzinfo=UTC))
    new = request("a", dt.datetime(2026, 1, 2, tzinfo=UTC))
    kept, dropped = latest_per_user([new, old])
    assert kept == [new] and dropped == 1


def test_to_context_lower_cases_domains_and_keeps_user_and_vector():
    context = to_context(request("alice", vector=(1.0, 2.0)))
    assert context.user_id == "alice"
    assert context.interest_vector == [1.0, 2.0]
    assert [s["domain"] for s in context.history] == ["click"]
    assert context.history[0]["item_id"] == "a1" and context.history[0]["kind"] == "click"


def test_to_context_scrubs_text():
    history = [{"domain": "SEARCH", "kind": "search", "text": "email bob@example.com or 07700 900461", "ts": 5}]
    context = to_context(request(history=history))
    assert context.history[0]["text"] == "email [email] or [phone]"


def test_to_context_converts_datetime_ts_to_epoch_ms():
    when = dt.datetime(2026, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC)
    history = [{"domain": "BROWSE", "kind": "view", "text": "x", "ts": when},
               {"domain": "social", "kind": "like", "text": "y", "ts": 1234}]
    context = to_context(request(history=history))
    assert context.history[0]["ts"] == int(when.timestamp() * 1000) == 1772366400250
    assert context.history[1]["ts"] == 1234


def test_to_context_does_not_modify_the_request():
    original = request()
    to_context(original)
    assert original["history"][0]["domain"] == "CLICK"


def test_feature_rows_one_row_per_valid_generation_with_embeddings():
    embedder = HashEmbedder(dim=16)
    requests = [request("a"), request("b"), request("c")]
    generations = [Generation(["fed rates", "ecb rates"]), Generation([], error="invalid"),
                   Generation(["wimbledon final"])]
    rows = feature_rows(requests, generations, embedder, "smollm2@base")
    assert [r["user_id"] for r in rows] == ["a", "c"]
    assert rows[0]["queries"] == ["fed rates", "ecb rates"]
    assert len(rows[0]["query_embeddings"]) == 2 and len(rows[1]["query_embeddings"]) == 1
    for row in rows:
        assert all(len(v) == 16 and all(isinstance(x, float) for x in v) for v in row["query_embeddings"])
    expected = embedder.embed(["fed rates", "ecb rates", "wimbledon final"])
    assert np.allclose(rows[0]["query_embeddings"] + rows[1]["query_embeddings"], expected)


def test_feature_rows_model_version_from_generation_else_given():
    rows = feature_rows([request("a"), request("b")],
                        [Generation(["q one"]), Generation(["q two"], version="keyphrase@1")],
                        HashEmbedder(dim=8), "smollm2@base")
    assert [r["model_version"] for r in rows] == ["smollm2@base", "keyphrase@1"]


def test_feature_rows_scrub_queries():
    rows = feature_rows([request()], [Generation(["mail bob@example.com", "call 07700 900461"])],
                        HashEmbedder(dim=8), "v")
    assert rows[0]["queries"] == ["mail [email]", "call [phone]"]


def test_feature_rows_carry_request_fields_and_times():
    now = int(time.time() * 1000)
    req = request("a", emitted_at=now - 5_000, last_event_at=dt.datetime(2026, 1, 1, tzinfo=UTC),
                  vector=(0.1, 0.2))
    [row] = feature_rows([req], [Generation(["q one"])], HashEmbedder(dim=8), "v")
    assert row["request_id"] == req["request_id"]
    assert row["interest_vector"] == pytest.approx([0.1, 0.2])
    assert row["last_event_at"] == int(dt.datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)
    assert row["generated_at"] >= now
    assert 5_000 <= row["freshness_ms"] < 60_000


def test_feature_rows_carry_the_historys_activity():
    history = [{"domain": d, "kind": "k", "text": "t", "ts": 900, "item_id": None, "platform": None}
               for d in ("CLICK", "SEARCH", "SEARCH", "BROWSE")]
    [row] = feature_rows([request(history=history)], [Generation(["q one"])], HashEmbedder(dim=8), "v")
    assert row["history_length"] == 4
    assert (row["click_share"], row["search_share"], row["social_share"], row["browse_share"]) == (0.25, 0.5, 0, 0.25)


def test_freshness_is_never_negative_for_future_emit_times():
    future = int(time.time() * 1000) + 3_600_000
    [row] = feature_rows([request(emitted_at=future)], [Generation(["q one"])], HashEmbedder(dim=8), "v")
    assert row["freshness_ms"] == 0


def test_feature_rows_with_no_valid_generation_do_not_call_the_embedder():
    class Exploding(HashEmbedder):
        def embed(self, texts):
            raise AssertionError("embed called")

    assert feature_rows([request()], [Generation([])], Exploding(dim=8), "v") == []


def test_the_worker_wires_every_store_path_itself(monkeypatch, tmp_path):
    """Given only the store's config, the worker builds push, read and delete paths on one store (a worker without
    a delete path can never settle a batch holding a feature deletion)."""
    import streams.generator.worker as worker_module
    from feature_repo.config import FeatureStoreConfig
    from models.config import GeneratorConfig
    from streams.config import StreamsConfig
    from tests.streams.test_generator_worker import FakeConsumer, FakeProducer, Scripted

    store = object()
    monkeypatch.setattr(worker_module, "open_store", lambda feast, apply=True: store)
    feast = FeatureStoreConfig(data_dir=tmp_path)
    worker = worker_module.GeneratorWorker(StreamsConfig(), GeneratorConfig(), feast,
                                           generator=Scripted(), embedder=HashEmbedder(dim=8),
                                           consumer=FakeConsumer(), producer=FakeProducer())
    processor = worker.processor
    assert worker.store is store
    assert processor.read_previous is not None and processor.read_previous.args == (store,)
    for path in (processor.push, processor.delete):  # online and offline: the store and where its offline rows live
        assert path is not None and path.args == (store, feast)
