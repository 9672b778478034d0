"""The Faust agents under ``agent.test_context()`` (memory broker, memory tables, a FAKE hashing embedder)."""

from __future__ import annotations

import pytest
from faust.types import TP

from models.embeddings import HashEmbedder
from schemas import default_codec
from streams.agents import register
from streams.app import make_app
from streams import packing
from streams.config import StreamsConfig
from tests.conftest import NOW_MS, click, search, social


def stored(parts, user: bytes) -> dict:
    """A user's record as the table holds it (MessagePack bytes), read back."""
    return packing.unpack_user(parts.users[user])


@pytest.fixture
def parts(tmp_path):
    cfg = StreamsConfig(state_dir=tmp_path, batch_size=1, batch_within_s=0.01, cold_start_min_events=3,
                        web_port=0, app_id="test-stream", repartition=True)  # the hop; the direct path has its test
    app = make_app(cfg)  # nothing connects under test_context: no broker is needed
    app.finalize()
    app.flow_control.resume()
    parts = register(app, cfg, HashEmbedder())
    # Tables pick changelog partitions with the producer's partitioner (use_partitioner=True); no producer runs
    # under test_context, so stand in for its partition choice. Changelog writes are only buffered.
    app.producer.key_partition = lambda topic, key: TP(topic, 0)
    # the output topics are what these tests observe: capture what the agents send to them
    parts.sent = {"by_user": [], "dlq": [], "regen": []}
    for name in parts.sent:
        async def capture(*args, _name=name, **kwargs):
            parts.sent[_name].append(kwargs)

        setattr(getattr(parts, name), "send", capture)
    return parts


def test_ingest_reads_the_topics_health_measures_lag_over(parts):
    cfg = StreamsConfig(repartition=True)
    assert set(parts.sources.topics) == set(cfg.ingest_topics)
    assert set(parts.sources.topics) | {parts.by_user.get_topic_name()} == set(cfg.stream_inputs)


async def test_ingest_forwards_good_events_and_dead_letters_bad_ones(parts):
    codec = default_codec()
    async with parts.ingest.test_context() as agent:
        good = codec.encode("click_event", click(user="alice"))
        await agent.put(good, key=b"alice")
        await agent.put(b"\x00garbage", key=b"x")
        too_long = codec.encode("search_event", search(user="bob", query="q" * 5000))
        await agent.put(too_long, key=b"bob")
    assert parts.dead_letters[b"bad_header"] == 1
    assert parts.dead_letters[b"oversized_text"] == 1
    assert [m["key"] for m in parts.sent["by_user"]] == [b"alice"]
    assert parts.sent["by_user"][0]["value"] == good  # the Avro message travels unchanged, keyed by user
    reasons = [dict(m["headers"])["dlq.reason"] for m in parts.sent["dlq"]]
    assert reasons == [b"bad_header", b"oversized_text"]
    assert parts.sent["dlq"][0]["value"] == b"\x00garbage"  # the original bytes are kept for replay


async def test_track_builds_history_and_requests_generation_on_cold_start(parts):
    codec = default_codec()
    sent = parts.sent["regen"]
    async with parts.track.test_context() as agent:
        for event, subject in [(click(user="carol"), "click_event"), (search(user="carol"), "search_event")]:
            await agent.put(codec.encode(subject, event), key=b"carol")
        assert sent == []  # two signals: still warming up
        third = social(user="carol")
        await agent.put(codec.encode("social_event", third), key=b"carol")
        await agent.put(codec.encode("social_event", third), key=b"carol")  # a redelivered duplicate
    hist = stored(parts, b"carol")["history"]
    assert [len(hist[d]) for d in ("click", "search", "social", "browse")] == [1, 1, 1, 0]
    assert stored(parts, b"carol")["interest"]["events"] == 3
    assert len(sent) == 1
    subject, request = codec.decode(sent[0]["value"])
    assert subject == "regen_request" and request["user_id"] == "carol" and request["reason"] == "COLD_START"
    assert {s["domain"] for s in request["history"]} == {"CLICK", "SEARCH", "SOCIAL"}


async def test_track_requests_regeneration_when_interests_drift_after_the_cooldown(parts):
    codec = default_codec()
    sent = parts.sent["regen"]
    hour = 3_600_000
    t0 = 1_790_000_000_000
    finance = ["Fed raises interest rates", "ECB holds interest rates", "inflation and interest rates"]
    sport = ["Arsenal beat Chelsea at Emirates", "Saka scores twice for Arsenal", "Arsenal top Premier League table",
             "Premier League title race Arsenal"]
    async with parts.track.test_context() as agent:
        for i, title in enumerate(finance):
            await agent.put(codec.encode("click_event", click(user="dan", title=title, ts=t0 + i * 1000)), key=b"dan")
        assert [codec.decode(m["value"])[1]["reason"] for m in sent] == ["COLD_START"]
        # the same interests a minute later: no new request
        await agent.put(codec.encode("click_event", click(user="dan", title=finance[0], ts=t0 + 60_000)), key=b"dan")
        assert len(sent) == 1
        # a switch to football two hours later (past the one-hour cooldown) is drift
        for i, title in enumerate(sport * 2):  # eight signals: the new topic outweighs the old
            await agent.put(codec.encode("click_event", click(user="dan", title=title, ts=t0 + 2 * hour + i)),
                            key=b"dan")
    reasons = [codec.decode(m["value"])[1] for m in sent]
    assert [r["reason"] for r in reasons] == ["COLD_START", "DRIFT"]
    assert reasons[1]["drift"] >= 0.25
    assert reasons[1]["history"][0]["text"] in sport  # the snapshot is newest first


class SpamFilter:
    """FAKE noise filter: flags texts containing 'free iPhone'. Checks the stream passes its own embeddings."""

    def __init__(self):
        self.calls = []

    def predict(self, signals, embeddings):
        assert len(embeddings) == len(signals)
        self.calls.append(len(signals))
        return ["free iphone" in s["text"].lower() for s in signals]


async def test_noise_filter_keeps_flagged_signals_out_of_history(tmp_path):
    cfg = StreamsConfig(state_dir=tmp_path, batch_size=1, batch_within_s=0.01, web_port=0, app_id="test-noise")
    app = make_app(cfg)
    app.finalize()
    app.flow_control.resume()
    spam = SpamFilter()
    parts = register(app, cfg, HashEmbedder(), noise_filter=spam)
    app.producer.key_partition = lambda topic, key: TP(topic, 0)
    codec = default_codec()
    async with parts.track.test_context() as agent:
        await agent.put(codec.encode("social_event", social(user="eve", text="Win a free iPhone now")), key=b"eve")
        await agent.put(codec.encode("click_event", click(user="eve")), key=b"eve")
    hist = stored(parts, b"eve")["history"]
    assert hist["social"] == [] and len(hist["click"]) == 1
    assert parts.noise_filtered[b"social"] == 1 and spam.calls == [1, 1]
    assert stored(parts, b"eve")["interest"]["events"] == 1


def consent_record(user, domains, granted, ts):
    return default_codec().encode("consent_event", {"event_id": f"c-{user}-{ts}", "user_id": user, "ts": ts,
                                                    "domains": domains, "granted": granted})


async def test_ingest_forwards_privacy_records_keyed_by_user(parts):
    codec = default_codec()
    async with parts.ingest.test_context() as agent:
        await agent.put(consent_record("fay", ["SEARCH"], False, NOW_MS - 1000), key=b"fay")
        await agent.put(codec.encode("deletion_request", {"event_id": "d", "user_id": "gus", "ts": NOW_MS}),
                        key=b"gus")
    assert [m["key"] for m in parts.sent["by_user"]] == [b"fay", b"gus"]


async def test_track_keeps_a_revoked_domain_out_and_a_deletion_reaches_the_generator_first(parts):
    codec = default_codec()
    sent = parts.sent["regen"]
    t = NOW_MS - 3_600_000
    async with parts.track.test_context() as agent:
        await agent.put(consent_record("hal", ["SEARCH"], False, t), key=b"hal")
        for subject, event in [("search_event", search(user="hal", ts=t + 1)),
                               ("click_event", click(user="hal", ts=t + 2)),
                               ("click_event", click(user="hal", title="ECB holds rates", ts=t + 3)),
                               ("social_event", social(user="hal", ts=t + 4))]:
            await agent.put(codec.encode(subject, event), key=b"hal")
        assert stored(parts, b"hal")["history"]["search"] == []
        assert [codec.decode(m["value"])[0] for m in sent] == ["regen_request"]  # cold start on 3 allowed signals
        await agent.put(codec.encode("deletion_request", {"event_id": "d1", "user_id": "hal", "ts": t + 10}),
                        key=b"hal")
    subject, record = codec.decode(sent[-1]["value"])
    assert subject == "feature_deletion" and record["user_id"] == "hal" and record["reason"] == "DELETION_REQUEST"
    user = stored(parts, b"hal")
    assert all(items == [] for items in user["history"].values()) and user["deleted_before"] == t + 10
    assert user["consent"]["search"]["granted"] is False  # standing instructions survive the deletion
    assert parts.outcomes[b"no_consent"] == 1 and parts.outcomes[b"deletion"] == 1


async def test_without_the_repartition_hop_track_reads_the_inputs_and_refuses_events_not_keyed_by_user(tmp_path):
    cfg = StreamsConfig(state_dir=tmp_path, batch_size=3, batch_within_s=0.01, web_port=0, app_id="test-direct",
                        repartition=False)
    app = make_app(cfg)
    app.finalize()
    app.flow_control.resume()
    parts = register(app, cfg, HashEmbedder())
    app.producer.key_partition = lambda topic, key: TP(topic, 0)
    sent = []

    async def capture(*args, **kwargs):
        sent.append(kwargs)

    parts.dlq.send = capture
    parts.regen.send = capture
    assert parts.ingest is None and set(parts.track.channel.topics) == set(cfg.ingest_topics)
    assert cfg.stream_inputs == cfg.ingest_topics  # health measures the lag where the stream reads
    codec = default_codec()
    async with parts.track.test_context() as agent:
        await agent.put(codec.encode("click_event", click(user="ivy")), key=b"ivy")
        await agent.put(codec.encode("search_event", search(user="ivy")), key=b"ivy")
        await agent.put(codec.encode("click_event", click(user="jon")), key=b"ivy")  # keyed by another user
    assert len(stored(parts, b"ivy")["history"]["click"]) == 1 and stored(parts, b"ivy")["interest"]["events"] == 2
    assert parts.users.get(b"jon") is None and parts.dead_letters[b"not_keyed_by_user"] == 1
    assert any(dict(s.get("headers", [])).get("dlq.reason") == b"not_keyed_by_user" for s in sent)
