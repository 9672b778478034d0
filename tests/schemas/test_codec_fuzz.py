"""Property-based fuzzing of the Avro single-object decoder: whatever the bytes, it returns a record or raises
``DecodeError`` with a reason, never anything else; and every record of a shipped schema survives a round trip."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import DecodeError, default_codec
from schemas.codec import HEADER_LEN, MAGIC

CODEC = default_codec()
FINGERPRINTS = sorted(v.fingerprint_bytes for s in CODEC.registry.subjects for v in CODEC.registry.versions(s))
REASONS = {"not_bytes", "bad_header", "unknown_schema", "bad_body", "trailing_bytes"}
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def decodes_or_says_why(data) -> None:
    try:
        subject, record = CODEC.decode(data)
    except DecodeError as exc:
        assert exc.reason in REASONS and str(exc).startswith(exc.reason + ":")
        return
    assert subject in CODEC.registry.subjects and isinstance(record, dict)


@FUZZ
@given(st.binary(max_size=512))
def test_arbitrary_bytes_decode_or_raise_decode_error(data):
    decodes_or_says_why(data)


@FUZZ
@given(st.sampled_from(FINGERPRINTS), st.binary(max_size=512))
def test_a_known_header_with_an_arbitrary_body_decodes_or_raises_decode_error(fingerprint, body):
    decodes_or_says_why(MAGIC + fingerprint + body)


@FUZZ
@given(st.sampled_from(FINGERPRINTS), st.binary(min_size=1, max_size=256), st.data())
def test_a_valid_message_with_bytes_flipped_decodes_or_raises_decode_error(fingerprint, noise, data):
    subject = next(v.subject for s in CODEC.registry.subjects for v in CODEC.registry.versions(s)
                   if v.fingerprint_bytes == fingerprint)
    message = bytearray(CODEC.encode(subject, data.draw(record_of(subject))))
    at = data.draw(st.integers(HEADER_LEN, max(len(message) - 1, HEADER_LEN)))
    message[at:at + len(noise)] = noise
    decodes_or_says_why(bytes(message))


@FUZZ
@given(st.one_of(st.none(), st.integers(), st.text(), st.lists(st.integers())))
def test_non_bytes_are_rejected_as_not_bytes(value):
    try:
        CODEC.decode(value)
    except DecodeError as exc:
        assert exc.reason == "not_bytes"
    else:
        raise AssertionError("decoded a non-bytes value")


# --- records of the shipped schemas ------------------------------------------------------------------------------

LONGS = st.integers(-(2**63), 2**63 - 1)
MILLIS = st.integers(-62_135_596_800_000, 253_402_300_799_999)  # years 1-9999: what a datetime can hold


def _strategy(schema, names: dict):
    if isinstance(schema, list):
        return st.one_of(*[_strategy(s, names) for s in schema])
    if isinstance(schema, str):
        if schema in names:
            return _strategy(names[schema], names)
        return {"null": st.none(), "string": st.text(max_size=40), "boolean": st.booleans(), "long": LONGS,
                "int": st.integers(-(2**31), 2**31 - 1), "double": st.floats(allow_nan=False),
                "float": st.floats(width=32, allow_nan=False)}[schema]
    kind = schema["type"]
    if kind == "record":
        names[schema["name"]] = schema
        return st.fixed_dictionaries({f["name"]: _strategy(f["type"], names) for f in schema["fields"]})
    if kind == "enum":
        names[schema["name"]] = schema
        return st.sampled_from(schema["symbols"])
    if kind == "array":
        return st.lists(_strategy(schema["items"], names), max_size=4)
    if schema.get("logicalType") == "timestamp-millis":
        return MILLIS
    return _strategy(kind, names)


def record_of(subject: str):
    return _strategy(CODEC.registry.latest(subject).raw, {})


def _millis(value):
    import datetime as dt

    if isinstance(value, dt.datetime):
        return (value - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(milliseconds=1)
    if isinstance(value, list):
        return [_millis(v) for v in value]
    if isinstance(value, dict):
        return {k: _millis(v) for k, v in value.items()}
    return value


@FUZZ
@given(st.sampled_from(CODEC.registry.subjects), st.data())
def test_every_record_of_a_shipped_schema_round_trips(subject, data):
    record = data.draw(record_of(subject))  # 32-bit floats for float fields: exactly representable
    decoded_subject, decoded = CODEC.decode(CODEC.encode(subject, record))
    assert decoded_subject == subject and _millis(decoded) == record
