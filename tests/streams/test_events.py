"""Event validation and normalisation: decoded record (or bytes) -> Signal, or InvalidEvent with a reason."""

from __future__ import annotations

import datetime as dt

import pytest

from schemas.codec import HEADER_LEN, MAGIC
from streams.events import MAX_ID_CHARS, InvalidEvent, Limits, Signal, decode_signal, to_signal
from tests.conftest import NOW_MS, browse, click, search, social

TS = NOW_MS - 60_000


def _reason(subject: str, record: dict, **kwargs) -> str:
    with pytest.raises(InvalidEvent) as info:
        to_signal(subject, record, now_ms=NOW_MS, **kwargs)
    assert str(info.value).startswith(info.value.reason + ":")
    return info.value.reason


def test_click_becomes_a_click_signal_with_the_article_as_item(codec):
    record = click(user="alice", title="Fed raises interest rates again", ts=TS)
    signal = decode_signal(codec, codec.encode("click_event", record), now_ms=NOW_MS)
    assert signal == Signal(record["event_id"], "alice", "click", "click", "Fed raises interest rates again", TS,
                            item_id="a1", platform=None)


def test_click_written_with_v1_still_decodes(codec):
    record = click(ts=TS)
    signal = decode_signal(codec, codec.encode("click_event", record, version=1), now_ms=NOW_MS)
    assert (signal.domain, signal.text, signal.ts) == ("click", record["title"], TS)


def test_search_becomes_a_search_signal(codec):
    record = search(user="bob", query="  mortgage rates forecast ", ts=TS)
    signal = decode_signal(codec, codec.encode("search_event", record), now_ms=NOW_MS)
    assert (signal.user_id, signal.domain, signal.kind, signal.text) == ("bob", "search", "search",
                                                                         "mortgage rates forecast")
    assert signal.item_id is None and signal.platform is None


@pytest.mark.parametrize("action", ["LIKE", "SHARE", "POST", "COMMENT"])
def test_social_lower_cases_the_action_and_keeps_the_platform(codec, action):
    record = {**social(action=action, platform="mastodon", ts=TS), "target_id": "t-42"}
    signal = decode_signal(codec, codec.encode("social_event", record), now_ms=NOW_MS)
    assert (signal.domain, signal.kind, signal.platform) == ("social", action.lower(), "mastodon")
    assert (signal.text, signal.item_id) == ("Great goal by Saka tonight", "t-42")


def test_social_without_target_has_no_item(codec):
    signal = decode_signal(codec, codec.encode("social_event", social(ts=TS)), now_ms=NOW_MS)
    assert signal.item_id is None


def test_browse_with_title_uses_the_title_and_the_url_as_item(codec):
    record = browse(title="Arsenal 2-1 Chelsea: report", ts=TS)
    signal = decode_signal(codec, codec.encode("browse_event", record), now_ms=NOW_MS)
    assert (signal.domain, signal.kind, signal.text) == ("browse", "view", "Arsenal 2-1 Chelsea: report")
    assert signal.item_id == record["url"]


def test_browse_without_title_falls_back_to_url_words(codec):
    signal = decode_signal(codec, codec.encode("browse_event", browse(ts=TS)), now_ms=NOW_MS)
    assert signal.text == "sport arsenal chelsea report"  # the path's words; the site is not the reader's interest


@pytest.mark.parametrize("url, words", [
    ("https://www.bbc.co.uk/news/world-europe-68412345", "news world europe"),
    ("https://example.com/2024/05/17/index.html", "example.com"),  # no word in the path: the host, without www.
    ("https://www.example.com/", "example.com"),
    ("https://example.com/caf%C3%A9_culture+paris.php", "café culture paris"),
])
def test_url_words_drop_the_host_numbers_extensions_and_decode_escapes(url, words):
    assert to_signal("browse_event", browse(url=url, ts=TS), now_ms=NOW_MS).text == words


def test_browse_blank_title_also_falls_back_to_url_words():
    assert to_signal("browse_event", browse(title="   ", ts=TS), now_ms=NOW_MS).text.startswith("sport arsenal")


def test_browse_with_neither_title_nor_readable_url_is_missing_field():
    assert _reason("browse_event", browse(url="/", ts=TS)) == "missing_field"


def test_to_signal_accepts_datetime_timestamps():
    when = dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=dt.timezone.utc)
    assert to_signal("search_event", search(ts=when), now_ms=NOW_MS).ts == 1_704_164_645_678


def test_decoded_timestamps_keep_every_millisecond(codec):
    # in 2004 (2**30 s .. 2**40 ms) int(datetime.timestamp() * 1000) lost a millisecond for ~1 stamp in 4
    stamps = [1_090_000_000_000 + i for i in range(2_000)]
    data = [codec.encode("search_event", search(ts=ts)) for ts in stamps]
    assert [decode_signal(codec, d, now_ms=NOW_MS).ts for d in data] == stamps


def test_control_characters_in_text_are_replaced_with_spaces():
    signal = to_signal("click_event", click(title="Fed\x00raises\x1brates\x7f now\x08", ts=TS), now_ms=NOW_MS)
    assert signal.text == "Fed raises rates  now"


def test_tabs_and_newlines_in_text_are_kept():
    assert to_signal("search_event", search(query="a\tb\nc", ts=TS), now_ms=NOW_MS).text == "a\tb\nc"


@pytest.mark.parametrize("subject, record", [
    ("click_event", click(title="")),
    ("click_event", click(title="  \n ")),
    ("search_event", search(query="")),
    ("social_event", social(text=" ")),
    ("social_event", social(platform="")),
    ("click_event", click(user="")),
    ("search_event", search(user="   ")),
    ("click_event", {**click(), "event_id": ""}),
    ("click_event", {**click(), "article_id": None}),
    ("browse_event", browse(url="")),
])
def test_empty_required_values_are_missing_field(subject, record):
    assert _reason(subject, record) == "missing_field"


@pytest.mark.parametrize("bad", ["u" * (MAX_ID_CHARS + 1), "u\x001", "u\x1b[31m", "u\x7f", "u1\nforged", "a\tb"])
def test_long_ids_or_ids_with_control_characters_are_bad_id(bad):
    assert _reason("search_event", search(user=bad)) == "bad_id"
    assert _reason("click_event", {**click(), "event_id": bad}) == "bad_id"
    assert _reason("click_event", {**click(), "article_id": bad}) == "bad_id"


def test_ids_at_the_length_limit_are_accepted_and_stripped():
    signal = to_signal("search_event", search(user=" " + "u" * MAX_ID_CHARS + " ", ts=TS), now_ms=NOW_MS)
    assert signal.user_id == "u" * MAX_ID_CHARS


def test_text_over_the_limit_is_oversized_text():
    limits = Limits(max_text_chars=10)
    assert to_signal("search_event", search(query="x" * 10, ts=TS), limits, now_ms=NOW_MS).text == "x" * 10
    assert _reason("search_event", search(query="x" * 11), limits=limits) == "oversized_text"
    assert _reason("social_event", social(text="y" * 2001)) == "oversized_text"


def test_length_is_measured_after_stripping():
    limits = Limits(max_text_chars=3)
    assert to_signal("search_event", search(query="  abc  ", ts=TS), limits, now_ms=NOW_MS).text == "abc"


@pytest.mark.parametrize("ts", [1, 946_684_799_999, NOW_MS + 24 * 3600 * 1000 + 1, NOW_MS + 10 * 365 * 86_400_000])
def test_timestamps_before_2000_or_far_in_the_future_are_out_of_range(ts):
    assert _reason("click_event", click(ts=ts)) == "out_of_range_ts"


@pytest.mark.parametrize("ts", [946_684_800_000, NOW_MS + 24 * 3600 * 1000])
def test_timestamps_at_the_range_edges_are_accepted(ts):
    assert to_signal("click_event", click(ts=ts), now_ms=NOW_MS).ts == ts


def test_future_skew_is_measured_from_now_ms():
    record = click(ts=NOW_MS + 3_600_000)
    assert _reason("click_event", record, limits=Limits(max_future_skew_s=60)) == "out_of_range_ts"
    assert to_signal("click_event", record, now_ms=NOW_MS + 3_600_000).ts == record["ts"]


@pytest.mark.parametrize("subject", ["regen_request", "query_features", "nope"])
def test_non_event_subjects_are_wrong_subject(subject):
    assert _reason(subject, click()) == "wrong_subject"


def test_decode_signal_rejects_a_non_event_subject_as_wrong_subject(codec):
    record = {"user_id": "u1", "request_id": "r", "queries": [], "query_embeddings": [], "interest_vector": [],
              "model_version": "m", "generated_at": TS, "last_event_at": TS}
    with pytest.raises(InvalidEvent) as info:
        decode_signal(codec, codec.encode("query_features", record), now_ms=NOW_MS)
    assert info.value.reason == "wrong_subject"


@pytest.mark.parametrize("data, reason", [
    (b"garbage", "bad_header"),
    (b"", "bad_header"),
    (MAGIC + bytes(8) + b"\x02x", "unknown_schema"),
    ("not bytes", "not_bytes"),
])
def test_decode_failures_keep_their_reason(codec, data, reason):
    with pytest.raises(InvalidEvent) as info:
        decode_signal(codec, data, now_ms=NOW_MS)
    assert info.value.reason == reason


def test_truncated_and_padded_messages_are_bad_body_and_trailing_bytes(codec):
    data = codec.encode("click_event", click(ts=TS))
    for broken, reason in [(data[:-2], "bad_body"), (data[:HEADER_LEN], "bad_body"), (data + b"\x00", "trailing_bytes")]:
        with pytest.raises(InvalidEvent) as info:
            decode_signal(codec, broken, now_ms=NOW_MS)
        assert info.value.reason == reason


def test_signal_as_dict_has_every_field():
    signal = to_signal("social_event", social(ts=TS), now_ms=NOW_MS)
    assert signal.as_dict() == {"event_id": signal.event_id, "user_id": "u1", "domain": "social", "kind": "like",
                                "text": "Great goal by Saka tonight", "ts": TS, "item_id": None,
                                "platform": "twitter", "dwell_ms": None}


def test_dwell_time_is_carried_for_clicks_and_views():
    signal = to_signal("click_event", click(ts=TS, dwell_ms=1500), now_ms=NOW_MS)
    assert signal.dwell_ms == 1500


@pytest.mark.parametrize("query", ["\x00", "\x07\x1b ", "\x7f\x00\x01"])
def test_text_made_only_of_control_characters_is_missing(query):  # found by tests/streams/test_events_fuzz.py
    assert _reason("search_event", search(query=query, ts=TS)) == "missing_field"


def test_consent_and_deletion_records_become_privacy_commands(codec):
    from streams.events import ConsentChange, DeletionRequest, decode_inbound

    choice = {"event_id": "c1", "user_id": " alice ", "ts": TS, "domains": ["SEARCH", "SEARCH", "SOCIAL"],
              "granted": False}
    assert decode_inbound(codec, codec.encode("consent_event", choice), now_ms=NOW_MS) == ConsentChange(
        "c1", "alice", TS, ("search", "social"), False)
    request = {"event_id": "d1", "user_id": "alice", "ts": TS}
    assert decode_inbound(codec, codec.encode("deletion_request", request), now_ms=NOW_MS) == DeletionRequest(
        "d1", "alice", TS)


def test_a_consent_choice_for_no_domain_is_missing_a_field(codec):
    from streams.events import decode_inbound

    choice = {"event_id": "c1", "user_id": "alice", "ts": TS, "domains": [], "granted": True}
    with pytest.raises(InvalidEvent) as info:
        decode_inbound(codec, codec.encode("consent_event", choice), now_ms=NOW_MS)
    assert info.value.reason == "missing_field"
