"""Property-based fuzzing of the event decoder and validator: whatever arrives on an event or privacy topic is either
a signal / privacy command that keeps every limit, or an ``InvalidEvent`` with a dead-letter reason; nothing else."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import default_codec
from schemas.codec import MAGIC
from streams.events import (MAX_ID_CHARS, ConsentChange, DeletionRequest, InvalidEvent, Limits, Signal,
                            decode_inbound)
from tests.schemas.test_codec_fuzz import FINGERPRINTS, MILLIS

CODEC = default_codec()
NOW_MS = 1_790_000_000_000
LIMITS = Limits(max_text_chars=200)
REASONS = {"not_bytes", "bad_header", "unknown_schema", "bad_body", "trailing_bytes", "wrong_subject",
           "missing_field", "oversized_text", "bad_id", "out_of_range_ts"}
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CONTROL = {chr(c) for c in [*range(0, 9), 11, 12, *range(14, 32), 127]}

# text that tends to break validators: control characters, whitespace only, long runs, non-Latin scripts
TEXT = st.one_of(st.text(max_size=30), st.text(st.sampled_from(" \t\n\r\x00\x07\x1b\x7f"), max_size=5),
                 st.text(max_size=300), st.just(""), st.text(st.characters(codec="utf-8"), min_size=190, max_size=230))
TS = st.one_of(MILLIS, st.integers(NOW_MS - 10**9, NOW_MS + 2 * 86_400_000), st.just(946_684_800_000))


def records(subject: str):
    base = {"event_id": TEXT, "user_id": TEXT, "ts": TS}
    extra = {
        "click_event": {"article_id": TEXT, "title": TEXT, "category": st.none() | TEXT,
                        "dwell_ms": st.none() | st.integers(-(2**63), 2**63 - 1)},
        "search_event": {"query": TEXT, "engine": st.none() | TEXT},
        "social_event": {"action": st.sampled_from(["LIKE", "SHARE", "POST", "COMMENT"]), "platform": TEXT,
                         "text": TEXT, "target_id": st.none() | TEXT},
        "browse_event": {"url": TEXT, "title": st.none() | TEXT, "dwell_ms": st.none() | st.integers(-5, 10**9)},
        "consent_event": {"domains": st.lists(st.sampled_from(["CLICK", "SEARCH", "SOCIAL", "BROWSE"]), max_size=5),
                          "granted": st.booleans()},
        "deletion_request": {},
    }[subject]
    return st.fixed_dictionaries({**base, **extra})


def check(data: bytes) -> None:
    try:
        item = decode_inbound(CODEC, data, LIMITS, now_ms=NOW_MS)
    except InvalidEvent as exc:
        assert exc.reason in REASONS and str(exc).startswith(exc.reason + ":")
        return
    assert isinstance(item, (Signal, ConsentChange, DeletionRequest))
    for value in (item.event_id, item.user_id):
        assert value and value == value.strip() and len(value) <= MAX_ID_CHARS
        assert not any(ord(c) < 32 or ord(c) == 127 for c in value)
    assert LIMITS.min_event_time_ms <= item.ts <= NOW_MS + LIMITS.max_future_skew_s * 1000
    if isinstance(item, Signal):
        assert item.text and item.text == item.text.strip() and len(item.text) <= LIMITS.max_text_chars
        assert not CONTROL & set(item.text)
        assert item.domain in {"click", "search", "social", "browse"}
        assert item.dwell_ms is None or item.dwell_ms >= 0
    elif isinstance(item, ConsentChange):
        assert item.domains and set(item.domains) <= {"click", "search", "social", "browse"}
        assert len(set(item.domains)) == len(item.domains)


@FUZZ
@given(st.binary(max_size=512))
def test_arbitrary_bytes_become_an_item_or_a_dead_letter_reason(data):
    check(data)


@FUZZ
@given(st.sampled_from(FINGERPRINTS), st.binary(max_size=300))
def test_a_known_header_with_arbitrary_bytes_becomes_an_item_or_a_reason(fingerprint, body):
    check(MAGIC + fingerprint + body)


@FUZZ
@given(st.sampled_from(["click_event", "search_event", "social_event", "browse_event", "consent_event",
                        "deletion_request"]), st.data())
def test_every_well_typed_record_becomes_an_item_within_limits_or_a_reason(subject, data):
    check(CODEC.encode(subject, data.draw(records(subject))))


@FUZZ
@given(st.sampled_from(["regen_request", "query_features", "feature_deletion"]), st.data())
def test_records_that_are_not_user_input_are_wrong_subject(subject, data):
    from tests.schemas.test_codec_fuzz import record_of

    try:
        decode_inbound(CODEC, CODEC.encode(subject, data.draw(record_of(subject))), LIMITS, now_ms=NOW_MS)
    except InvalidEvent as exc:
        assert exc.reason == "wrong_subject"
    else:
        raise AssertionError(f"{subject} accepted as user input")
