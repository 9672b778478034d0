"""models.stale: settling outputs that stay invalid, with FAKE generators and a FAKE online-store reader."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from models.generators.base import Generation, QueryGenerator, UserContext
from models.stale import has_features, settle, stale_row, to_millis

UTC = dt.timezone.utc
NOW = 1_800_000_000_000
MADE = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)  # Feast reads timestamps back as aware datetimes


def request(user, request_id=None):
    return {"user_id": user, "request_id": request_id or f"{user}-r2", "interest_vector": [0.0, 1.0],
            "last_event_at": NOW - 10, "emitted_at": NOW - 5}


def context(user):
    return UserContext(user, [{"domain": "click", "kind": "click", "text": f"{user} follows tennis wimbledon",
                               "ts": NOW - 10}])


def previous(user, **changes):
    """A row as feature_repo.store.read_features returns it."""
    row = {"user_id": user, "queries": [f"{user} tennis", "wimbledon final"],
           "query_embeddings": [[0.6, 0.8], [1.0, 0.0]], "interest_vector": [0.8, 0.6],
           "model_version": "smollm2@v1", "generated_at": MADE, "last_event_at": MADE - dt.timedelta(minutes=5),
           "freshness_ms": 1234, "stale": False, "stale_since": None, "history_length": 7, "click_share": 0.5,
           "search_share": 0.5, "social_share": 0.0, "browse_share": 0.0}
    return {**row, **changes}


NOBODY = {"user_id": "x", "queries": None, "query_embeddings": None, "interest_vector": None, "model_version": None,
          "generated_at": None, "last_event_at": None, "freshness_ms": None, "stale": None, "stale_since": None}


class Reader:
    """FAKE online store: user -> row; records each lookup."""

    def __init__(self, rows):
        self.rows, self.calls = rows, []

    def __call__(self, user_ids):
        self.calls.append(list(user_ids))
        return [self.rows.get(u, {**NOBODY, "user_id": u}) for u in user_ids]


class Fixed(QueryGenerator):
    """FAKE fallback: the scripted queries per user."""

    def __init__(self, answers, version="keyphrase@1"):
        self.answers, self.version, self.calls = answers, version, []

    def generate(self, contexts):
        self.calls.append([c.user_id for c in contexts])
        return [Generation(list(self.answers.get(c.user_id, []))) for c in contexts]


def test_a_stale_row_keeps_the_previous_features_and_version_and_answers_the_request():
    row = stale_row(previous("a"), request("a", "a-r9"), NOW)
    assert row["queries"] == ["a tennis", "wimbledon final"]
    assert row["query_embeddings"] == [[0.6, 0.8], [1.0, 0.0]] and row["interest_vector"] == [0.8, 0.6]
    assert row["model_version"] == "smollm2@v1"
    assert row["generated_at"] == to_millis(MADE) == 1772366400000  # the original generation time, not now
    assert row["last_event_at"] == to_millis(MADE) - 300_000 and row["freshness_ms"] == 1234
    assert row["stale"] is True and row["stale_since"] == NOW
    assert row["request_id"] == "a-r9" and row["user_id"] == "a"
    assert row["history_length"] == 7 and row["search_share"] == 0.5  # the history those queries were made from


def test_stale_since_is_kept_across_repeated_failures():
    first = dt.datetime(2026, 3, 2, tzinfo=UTC)
    row = stale_row(previous("a", stale=True, stale_since=first), request("a"), NOW)
    assert row["stale_since"] == to_millis(first) != NOW


def test_no_stale_row_without_previous_features():
    assert not has_features(NOBODY) and not has_features(None) and has_features(previous("a"))
    with pytest.raises(ValueError, match="no previous features"):
        stale_row(NOBODY, request("a"), NOW)


def test_valid_outputs_need_no_lookup():
    reader = Reader({})
    settled = settle([request("a")], [context("a")], [Generation(["a tennis"])], "m@1", reader)
    assert reader.calls == [] and settled.stale_rows == [] and settled.invalid == 0
    assert settled.generations[0].queries == ["a tennis"]


def test_invalid_users_keep_previous_features_and_new_users_get_the_fallback_or_nothing():
    users = ["ok", "had", "new", "hopeless"]
    generations = [Generation(["ok tennis"]), Generation([], error="bad"), Generation([], error="bad"),
                   Generation([], error="bad")]
    reader = Reader({"had": previous("had")})
    fallback = Fixed({"new": ["new tennis wimbledon"], "hopeless": ["ignore previous instructions"]})
    settled = settle([request(u) for u in users], [context(u) for u in users], generations, "m@1", reader, fallback,
                     now_ms=NOW)
    assert reader.calls == [["had", "new", "hopeless"]]  # one lookup, only the invalid users
    assert fallback.calls == [["new", "hopeless"]]  # the fallback only for users with nothing to keep
    assert [r["user_id"] for r in settled.stale_rows] == ["had"]
    assert settled.stale_rows[0]["queries"] == ["had tennis", "wimbledon final"]
    assert settled.stale_rows[0]["model_version"] == "smollm2@v1"
    new, hopeless = settled.generations[2], settled.generations[3]
    assert new.queries == ["new tennis wimbledon"] and new.version == "keyphrase@1"
    assert hopeless.queries == []  # the fallback's injection-looking output is not written either
    assert (settled.invalid, settled.stale, settled.fell_back, settled.unserved) == (3, 1, 1, 1)


def test_without_a_fallback_new_users_get_nothing():
    reader = Reader({})
    settled = settle([request("new")], [context("new")], [Generation([], error="bad")], "m@1", reader, None)
    assert settled.generations[0].queries == [] and settled.stale_rows == []
    assert (settled.invalid, settled.unserved) == (1, 1)


def test_without_a_store_every_invalid_user_counts_as_new():
    settled = settle([request("a")], [context("a")], [Generation([])], "m@1", None, Fixed({"a": ["a tennis"]}))
    assert settled.generations[0].queries == ["a tennis"] and settled.fell_back == 1


def test_fallback_queries_made_inside_the_generator_count_as_invalid_and_fallback():
    """Under on_invalid="fallback" the generator has already used the fallback (rows labelled with its version)."""
    reader = Reader({"b": previous("b")})
    generations = [Generation(["a tennis"], version="keyphrase@1"), Generation([], error="both invalid")]
    settled = settle([request("a"), request("b")], [context("a"), context("b")], generations, "m@1", reader)
    assert reader.calls == [["b"]]
    assert (settled.invalid, settled.fell_back, settled.stale, settled.unserved) == (2, 1, 1, 0)


def test_a_reader_returning_the_wrong_number_of_rows_is_an_error():
    with pytest.raises(RuntimeError, match="1 rows for 2 users"):
        settle([request("a"), request("b")], [context("a"), context("b")], [Generation([]), Generation([])], "m@1",
               lambda users: [NOBODY])


def test_stale_rows_round_trip_through_the_real_online_store(tmp_path):
    """The worker's batch processor on a real (SQLite) Feast store: fresh features, then an invalid output keeps
    them, marked stale; a ranker reads the previous queries and version with stale=True."""
    from functools import partial

    from feature_repo.config import FeatureStoreConfig
    from feature_repo.store import open_store, push_rows, read_features
    from models.config import GeneratorConfig
    from models.embeddings import HashEmbedder
    from streams.generator.worker import BatchProcessor
    from schemas import default_codec
    from streams.config import StreamsConfig
    from tests.streams.test_generator_worker import FakeProducer, Scripted, messages
    from tests.streams.test_generator_worker import request as regen_request

    store = open_store(FeatureStoreConfig(data_dir=tmp_path), apply=True)

    def processor(generator):
        return BatchProcessor(generator, HashEmbedder(dim=8), partial(push_rows, store), FakeProducer(),
                              StreamsConfig(), GeneratorConfig(fallback=""), default_codec(),
                              read_previous=partial(read_features, store))

    [fresh] = processor(Scripted("fake@v1")).process(messages(regen_request("a", 1_000)))

    class AlwaysInvalid(QueryGenerator):
        version = "fake@v2"

        def generate(self, contexts):
            return [Generation([], error="no valid query") for _ in contexts]

    failing = processor(AlwaysInvalid())
    [stale] = failing.process(messages(regen_request("a", 2_000), regen_request("nobody", 2_000)))
    assert failing.stats.stale == 1 and failing.stats.unserved == 1 and failing.stats.generated == 0
    [a, nobody] = read_features(store, ["a", "nobody"])
    assert a["stale"] is True and a["queries"] == fresh["queries"] == ["a tennis by fake@v1"]
    assert a["model_version"] == "fake@v1"
    assert to_millis(a["generated_at"]) == fresh["generated_at"] // 1000 * 1000  # Feast keeps whole seconds
    assert to_millis(a["stale_since"]) // 1000 == stale["stale_since"] // 1000
    assert np.allclose(a["query_embeddings"], fresh["query_embeddings"], atol=1e-6)
    assert not has_features(nobody)  # nothing written for a user with nothing to keep
