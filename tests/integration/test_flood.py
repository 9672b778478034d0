"""A flood of malformed events on the real parts (local Kafka broker, Faust worker and generator worker as processes,
key-phrase generator, FAKE hashing embedder, real Feast store): over 10,000 bad events of every kind (garbage bytes,
wrong schemas, misaligned types, huge fields, invalid UTF-8, timestamps far in the past or future, missing and
malformed ids, malformed privacy records) mixed at random with good ones.

Required: the workers stay up; every bad event is on the dead-letter topic exactly once, under its own key, with a
reason header (the reason its kind must get), its original bytes and its source; the dead-letter counts per reason in
the worker's table add up; every good event is in its user's history exactly as computed from the events, and every
good user gets features.
"""

from __future__ import annotations

import random
import time
from collections import Counter

import pytest

from schemas import default_codec
from schemas.codec import HEADER_LEN, MAGIC
from streams.benchmarks.loadgen import send_all
from streams.demo import wait_for_features
from tests.integration.conftest import (assert_records_match, by_user, expected_records, read_table, read_topic,
                                        report_counts, sample_copies, store_of, wait_settled)

pytestmark = [pytest.mark.integration, pytest.mark.faults]
BAD_EVENTS = 10_400
NOW_MS = int(time.time() * 1000)
# a misaligned body can fail in any of these ways, depending on the bytes it happens to hold
ANY_REASON = {"bad_body", "trailing_bytes", "missing_field", "out_of_range_ts", "bad_id", "oversized_text"}


def _click(i: int, **fields) -> dict:
    return {"event_id": f"bad-e{i}", "user_id": f"bad-u{i % 97}", "ts": NOW_MS - 60_000, "article_id": f"a{i}",
            "title": f"Flood headline number {i}", "category": None, "dwell_ms": None, **fields}


def _search(i: int, **fields) -> dict:
    return {"event_id": f"bad-e{i}", "user_id": f"bad-u{i % 97}", "ts": NOW_MS - 60_000, "query": f"query {i}",
            "engine": None, **fields}


def _invalid_utf8(codec, i: int) -> bytes:
    good = codec.encode("click_event", _click(i, title=f"XXXX headline {i}"))
    return good.replace(b"XXXX", b"\xff\xfe\xc0\x80", 1)


# kind -> (topic domain, builder(codec, i, rng) -> bytes, expected reason or a set of acceptable reasons)
KINDS = {
    "garbage": ("click", lambda c, i, r: b"\x00" + i.to_bytes(4, "big") + r.randbytes(r.randint(0, 64)), "bad_header"),
    "empty": ("search", lambda c, i, r: b"", "bad_header"),
    "json": ("social", lambda c, i, r: b'{"user_id": "u%d", "ts": "yesterday"}' % i, "bad_header"),
    "short_header": ("browse", lambda c, i, r: MAGIC + r.randbytes(r.randint(0, HEADER_LEN - 3)), "bad_header"),
    "unknown_schema": ("click", lambda c, i, r: MAGIC + (2**63 + i).to_bytes(8, "little") + r.randbytes(20),
                       "unknown_schema"),
    "truncated": ("click", lambda c, i, r: (lambda b: b[:r.randint(HEADER_LEN + 1, len(b) - 3)])(
        c.encode("click_event", _click(i))), "bad_body"),
    "trailing_bytes": ("search", lambda c, i, r: c.encode("search_event", _search(i)) + b"\x00\x01", "trailing_bytes"),
    "wrong_subject": ("social", lambda c, i, r: c.encode("feature_deletion", {
        "request_id": f"r{i}", "user_id": f"bad-u{i}", "reason": "DELETION_REQUEST", "deleted_before": NOW_MS,
        "emitted_at": NOW_MS}), "wrong_subject"),
    "misaligned_types": ("search", lambda c, i, r: c.registry.latest("search_event").fingerprint_bytes.join(
        [MAGIC, c.encode("click_event", _click(i))[HEADER_LEN:]]), ANY_REASON),
    "huge_text": ("click", lambda c, i, r: c.encode("click_event", _click(i, title="x" * r.randint(2_001, 60_000))),
                  "oversized_text"),
    "huge_id": ("search", lambda c, i, r: c.encode("search_event", _search(i, user_id="u" * 5_000)), "bad_id"),
    "control_in_id": ("click", lambda c, i, r: c.encode("click_event", _click(i, event_id=f"e\n{i}")), "bad_id"),
    "invalid_utf8": ("click", lambda c, i, r: _invalid_utf8(c, i), "bad_body"),
    "ts_1900": ("click", lambda c, i, r: c.encode("click_event", _click(i, ts=-2_208_988_800_000)), "out_of_range_ts"),
    "ts_epoch": ("search", lambda c, i, r: c.encode("search_event", _search(i, ts=1)), "out_of_range_ts"),
    "ts_2200": ("click", lambda c, i, r: c.encode("click_event", _click(i, ts=7_258_118_400_000)), "out_of_range_ts"),
    "ts_overflow": ("search", lambda c, i, r: c.encode("search_event", _search(i, ts=2**63 - 1)), "bad_body"),
    "empty_user": ("click", lambda c, i, r: c.encode("click_event", _click(i, user_id="  ")), "missing_field"),
    "blank_title": ("click", lambda c, i, r: c.encode("click_event", _click(i, title=" \t ")), "missing_field"),
    "consent_no_domains": ("privacy", lambda c, i, r: c.encode("consent_event", {
        "event_id": f"bad-e{i}", "user_id": f"bad-u{i}", "ts": NOW_MS, "domains": [], "granted": False}),
        "missing_field"),
    "deletion_no_user": ("privacy", lambda c, i, r: c.encode("deletion_request", {
        "event_id": f"bad-e{i}", "user_id": "", "ts": NOW_MS}), "missing_field"),
}


def flood(cfg, good_rows: list[dict], seed: int = 0) -> dict[bytes, tuple[str, object]]:
    """Send the bad events and the good ones shuffled together. Returns bad key -> (kind, expected reason)."""
    from kafka import KafkaProducer

    from streams.replay import to_message

    codec, rng = default_codec(), random.Random(seed)
    kinds = sorted(KINDS)
    topics = {**cfg.event_topics, "privacy": cfg.privacy_topic}
    sends, expected = [], {}
    for i in range(BAD_EVENTS):
        kind = kinds[i % len(kinds)]
        domain, build, reason = KINDS[kind]
        key = f"bad-{i:05d}".encode()
        sends.append((topics[domain], key, build(codec, i, rng)))
        expected[key] = (kind, reason)
    for row in good_rows:
        kind, user, value = to_message(codec, row)
        sends.append((topics[kind], user.encode(), value))
    rng.shuffle(sends)
    send_all(KafkaProducer(bootstrap_servers=cfg.bootstrap_servers, acks="all", linger_ms=20,
                           max_request_size=2 * 1024 * 1024), sends)
    return expected


def test_ten_thousand_malformed_events_are_dead_lettered_and_good_ones_processed(stack, tmp_path):
    cfg, store = stack.cfg, store_of(stack)
    _, good = sample_copies(tmp_path, "flood-", 2)
    started = time.monotonic()
    expected = flood(cfg, good)
    wait_settled(stack, timeout=600)
    stack.check_alive()  # the workers stayed up

    dead = read_topic(cfg, cfg.dlq_topic)
    assert len(dead) == len(expected) >= 10_000
    got = {m.key: m for m in dead}
    assert set(got) == set(expected), "a bad event is missing from the dead-letter topic or there twice"
    reasons, by_kind = Counter(), Counter()
    for key, (kind, reason) in expected.items():
        headers = dict(got[key].headers)
        actual = headers["dlq.reason"].decode()
        assert actual in reason if isinstance(reason, set) else actual == reason, (kind, actual)
        assert headers["dlq.detail"] and headers["dlq.topic"].decode().startswith(cfg.topic_prefix), kind
        assert int(headers["dlq.offset"]) >= 0
        reasons[actual] += 1
        by_kind[kind] += 1
    table = {reason: int(n) for reason, n in read_table(cfg, "dead-letters").items()}
    assert table == dict(reasons)

    users = sorted(by_user(good))
    records = read_table(cfg, "users")
    assert_records_match({u: records[u] for u in users if u in records}, expected_records(good, cfg))
    assert not any(u.startswith("bad-") for u in records), "a bad event reached a history"
    found = wait_for_features(store, users, timeout=180, services=stack)
    assert sorted(found) == users, f"no features for {sorted(set(users) - set(found))}"
    report_counts("flood", {"bad_events": len(expected), "kinds": len(by_kind), "good_events": len(good),
                            "users": len(users), "dead_lettered": len(dead), "by_reason": dict(sorted(reasons.items())),
                            "users_with_features": len(found), "seconds": round(time.monotonic() - started)})
