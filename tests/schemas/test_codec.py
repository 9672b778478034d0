"""AvroCodec: single-object encoding (C3 01 + little-endian CRC-64-AVRO fingerprint + body), schema resolution."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fastavro.schema import fingerprint as fastavro_fingerprint

from schemas import AvroCodec, DecodeError, EncodeError, SchemaRegistry, UnknownSchemaError
from schemas.codec import HEADER_LEN, MAGIC
from schemas.registry import crc64_avro
from tests.conftest import browse, click, search, social

TS = 1_700_000_000_123
UTC_TS = dt.datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=dt.timezone.utc)

SAMPLES = {
    "click_event": click(ts=TS, dwell_ms=4200),
    "search_event": {**search(ts=TS), "engine": "duckduckgo"},
    "social_event": {**social(ts=TS), "target_id": "post-9"},
    "browse_event": {**browse(ts=TS, title="Arsenal beat Chelsea"), "dwell_ms": 1500},
    "query_features": {
        "user_id": "u1", "request_id": "r1", "queries": ["arsenal news", "premier league table"],
        "query_embeddings": [[0.5, -0.25], [1.0, 0.0]], "interest_vector": [0.25, 0.75],
        "model_version": "m1", "generated_at": TS, "last_event_at": TS - 5, "stale": True, "stale_since": TS + 60,
        "history_length": 8, "click_share": 0.5, "search_share": 0.25, "social_share": 0.25, "browse_share": 0.0,
    },
    "regen_request": {
        "request_id": "r1", "user_id": "u1", "reason": "DRIFT", "drift": 0.4, "last_event_at": TS,
        "emitted_at": TS + 10, "interest_vector": [0.5, 0.5],
        "history": [{"domain": "CLICK", "kind": "click", "text": "Fed raises rates", "ts": TS,
                     "item_id": "a1", "platform": None}],
    },
    "consent_event": {"event_id": "c1", "user_id": "u1", "ts": TS, "domains": ["SEARCH", "SOCIAL"], "granted": False},
    "deletion_request": {"event_id": "d1", "user_id": "u1", "ts": TS},
    "feature_deletion": {"request_id": "r2", "user_id": "u1", "reason": "DELETION_REQUEST", "deleted_before": TS,
                         "emitted_at": TS + 10},
}
TIMESTAMP_FIELDS = {"ts", "generated_at", "last_event_at", "emitted_at", "deleted_before"}


def _as_written(value):
    """fastavro hands timestamp-millis back as aware UTC datetimes: compare in milliseconds."""
    if isinstance(value, dt.datetime):
        return (value - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(milliseconds=1)
    if isinstance(value, list):
        return [_as_written(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_written(v) for k, v in value.items()}
    return value


def test_every_shipped_subject_has_a_sample(codec):
    assert sorted(SAMPLES) == codec.registry.subjects


@pytest.mark.parametrize("subject", sorted(SAMPLES))
def test_encode_decode_round_trips_every_subject(codec, subject):
    decoded_subject, record = codec.decode(codec.encode(subject, SAMPLES[subject]))
    assert decoded_subject == subject
    assert _as_written(record) == SAMPLES[subject]


def test_decode_returns_timestamps_as_utc_datetimes(codec):
    _, record = codec.decode(codec.encode("search_event", search(ts=TS)))
    assert record["ts"] == UTC_TS


@pytest.mark.parametrize("subject", sorted(SAMPLES))
def test_header_is_magic_plus_little_endian_crc64_fingerprint(codec, subject):
    latest = codec.registry.latest(subject)
    data = codec.encode(subject, SAMPLES[subject])
    assert data[:2] == b"\xc3\x01" == MAGIC
    assert data[2:HEADER_LEN] == latest.fingerprint_bytes
    assert data[2:HEADER_LEN].hex() == fastavro_fingerprint(latest.canonical, "CRC-64-AVRO")
    assert int.from_bytes(data[2:HEADER_LEN], "little") == latest.fingerprint


def test_crc64_avro_matches_the_spec_empty_value_and_fastavro():
    assert crc64_avro(b"") == 0xC15D213AA4D7A795
    canonical = '"string"'
    assert crc64_avro(canonical.encode()).to_bytes(8, "little").hex() == fastavro_fingerprint(canonical, "CRC-64-AVRO")


def test_every_version_has_a_distinct_fingerprint_found_by_lookup(codec):
    versions = [v for s in codec.registry.subjects for v in codec.registry.versions(s)]
    assert len({v.fingerprint for v in versions}) == len(versions)
    for version in versions:
        assert codec.registry.by_fingerprint(version.fingerprint) is version


def test_encode_with_an_explicit_old_version_writes_its_fingerprint(codec):
    v1 = codec.registry.versions("click_event")[0]
    data = codec.encode("click_event", click(ts=TS), version=1)
    assert v1.version == 1 and data[2:HEADER_LEN] == v1.fingerprint_bytes


def test_encode_rejects_an_unknown_version_or_subject(codec):
    with pytest.raises(KeyError):
        codec.encode("click_event", click(), version=99)
    with pytest.raises(KeyError):
        codec.encode("no_such_event", {})


def test_decode_resolves_v1_writer_to_v2_reader(codec):
    record = click(ts=TS)
    data = codec.encode("click_event", record, version=1)
    subject, decoded = codec.decode(data)
    assert subject == "click_event"
    assert decoded["dwell_ms"] is None
    assert set(decoded) == {f["name"] for f in codec.registry.latest("click_event").raw["fields"]}
    assert _as_written({k: v for k, v in decoded.items() if k != "dwell_ms"}) == record


def test_encode_raises_encode_error_on_a_missing_required_field(codec):
    record = click()
    del record["title"]
    with pytest.raises(EncodeError, match="click_event.v2"):
        codec.encode("click_event", record)


def test_encode_raises_encode_error_on_a_wrong_type(codec):
    with pytest.raises(EncodeError):
        codec.encode("click_event", click(title=5))


def test_encode_raises_encode_error_on_an_unknown_enum_symbol(codec):
    with pytest.raises(EncodeError):
        codec.encode("social_event", social(action="RETWEET"))


@pytest.mark.parametrize("data", [b"", b"\xc3", b"\xc3\x01\x00\x00", b"not avro at all, just text",
                                  b"\x00\x01" + bytes(8) + b"\x02x"])
def test_decode_rejects_short_or_garbage_bytes_as_bad_header(codec, data):
    with pytest.raises(DecodeError) as info:
        codec.decode(data)
    assert info.value.reason == "bad_header"


def test_decode_rejects_non_bytes_as_not_bytes(codec):
    with pytest.raises(DecodeError) as info:
        codec.decode("\xc3\x01 a str")
    assert info.value.reason == "not_bytes"


def test_decode_accepts_bytearray_and_memoryview(codec):
    data = codec.encode("search_event", search(ts=TS))
    assert codec.decode(bytearray(data)) == codec.decode(memoryview(data)) == codec.decode(data)


def test_decode_reports_an_unregistered_fingerprint_as_unknown_schema(codec):
    body = codec.encode("search_event", search())[HEADER_LEN:]
    fingerprint = 0x0123456789ABCDEF
    assert codec.registry.by_fingerprint(fingerprint) is None
    with pytest.raises(UnknownSchemaError) as info:
        codec.decode(MAGIC + fingerprint.to_bytes(8, "little") + body)
    assert info.value.reason == "unknown_schema"
    assert info.value.fingerprint == fingerprint
    assert isinstance(info.value, DecodeError)


def test_decode_reports_a_big_endian_fingerprint_as_unknown_schema(codec):
    data = codec.encode("search_event", search())
    swapped = data[:2] + data[2:HEADER_LEN][::-1] + data[HEADER_LEN:]
    with pytest.raises(DecodeError) as info:
        codec.decode(swapped)
    assert info.value.reason == "unknown_schema"


@pytest.mark.parametrize("keep", [-1, -3, HEADER_LEN + 1, HEADER_LEN])  # HEADER_LEN: a header without body
def test_decode_reports_a_truncated_body_as_bad_body(codec, keep):
    data = codec.encode("click_event", click())
    with pytest.raises(DecodeError) as info:
        codec.decode(data[:keep])
    assert info.value.reason == "bad_body"


def test_decode_reports_extra_bytes_after_the_record_as_trailing_bytes(codec):
    data = codec.encode("search_event", search())
    with pytest.raises(DecodeError, match="3 bytes") as info:
        codec.decode(data + b"\x00\x01\x02")
    assert info.value.reason == "trailing_bytes"


def test_codec_over_a_custom_registry_only_knows_its_schemas(tmp_path, codec):
    (tmp_path / "ping.v1.avsc").write_text('{"type": "record", "name": "Ping", "fields": [{"name": "n", "type": "int"}]}')
    custom = AvroCodec(SchemaRegistry(tmp_path))
    assert custom.decode(custom.encode("ping", {"n": 7})) == ("ping", {"n": 7})
    with pytest.raises(DecodeError) as info:
        custom.decode(codec.encode("search_event", search()))
    assert info.value.reason == "unknown_schema"


def test_registry_rejects_badly_named_files_and_empty_folders(tmp_path):
    with pytest.raises(ValueError, match="no .avsc"):
        SchemaRegistry(tmp_path)
    (tmp_path / "Ping-1.avsc").write_text('"int"')
    with pytest.raises(ValueError, match="must be named"):
        SchemaRegistry(tmp_path)


def test_registry_orders_versions_numerically(tmp_path):
    for n in (10, 2, 1):
        fields = [{"name": f"f{i}", "type": ["null", "int"], "default": None} for i in range(n)]
        (tmp_path / f"ping.v{n}.avsc").write_text(
            json.dumps({"type": "record", "name": "Ping", "fields": fields}))
    registry = SchemaRegistry(tmp_path)
    assert [v.version for v in registry.versions("ping")] == [1, 2, 10]
    assert registry.latest("ping").version == 10
    with pytest.raises(KeyError, match="unknown schema subject"):
        registry.versions("pong")


def test_query_features_v2_records_read_with_unknown_activity(codec):
    """A v2 writer (before the history's activity) is read with the v3 defaults: every activity field None."""
    v2 = {k: v for k, v in SAMPLES["query_features"].items() if not k.endswith("_share") and k != "history_length"}
    _, record = codec.decode(codec.encode("query_features", v2, version=2))
    assert record["history_length"] is None and record["click_share"] is None and record["stale"] is True


def test_query_features_v1_records_read_as_fresh(codec):
    """A v1 writer (before stale rows) is read with the v2 defaults: not stale, no stale_since."""
    v1 = {k: v for k, v in SAMPLES["query_features"].items() if k not in ("stale", "stale_since")}
    _, record = codec.decode(codec.encode("query_features", v1, version=1))
    assert record["stale"] is False and record["stale_since"] is None
    assert record["queries"] == v1["queries"]
