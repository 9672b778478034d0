"""streams.replay without a broker: reading event files and turning rows into keyed Avro messages."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest

from streams.replay import TYPE_SUBJECT, ReplaySummary, read_rows, to_message

SAMPLE = Path(__file__).resolve().parents[2] / "streams" / "data" / "sample_events.jsonl"
UTC = dt.timezone.utc
TS = 1_794_991_300_506

ROWS = {
    "click": {"type": "click", "event_id": "e1", "user_id": "u1", "ts": TS, "article_id": "a1", "title": "Fed holds",
              "category": "business", "dwell_ms": 1200},
    "search": {"type": "search", "event_id": "e2", "user_id": "u1", "ts": TS, "query": "ev chargers",
               "engine": "google"},
    "social": {"type": "social", "event_id": "e3", "user_id": "u2", "ts": TS, "action": "LIKE",
               "platform": "reddit", "text": "Great goal", "target_id": None},
    "browse": {"type": "browse", "event_id": "e4", "user_id": "u3", "ts": TS, "url": "https://example.com/a",
               "title": None, "dwell_ms": None},
}


def test_read_rows_reports_malformed_and_non_object_lines_with_numbers(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join([json.dumps(ROWS["click"]), "{not json", "", "[1, 2]", "42",
                               json.dumps(ROWS["search"])]) + "\n")
    rows = list(read_rows(path))
    assert [number for number, _, _ in rows] == [1, 2, 4, 5, 6]
    assert rows[0] == (1, ROWS["click"], "")
    assert rows[1][1] is None and rows[1][2].startswith("not JSON")
    assert rows[2] == (4, [1, 2], "not a JSON object")
    assert rows[3] == (5, 42, "not a JSON object")
    assert rows[4] == (6, ROWS["search"], "")


def test_read_rows_missing_file_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="no event file"):
        list(read_rows(tmp_path / "nope.jsonl"))


def test_read_rows_reads_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "events.parquet"
    pq.write_table(pa.Table.from_pylist([ROWS["search"], {**ROWS["search"], "event_id": "e9", "query": "pie"}]), path)
    rows = list(read_rows(path))
    assert [(n, e) for n, _, e in rows] == [(1, ""), (2, "")]
    assert rows[0][1] == ROWS["search"] and rows[1][1]["query"] == "pie"


def test_parquet_rows_of_mixed_types_convert(tmp_path, codec):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "mixed.parquet"
    columns = {key for row in ROWS.values() for key in row}  # every type's fields; the others are null
    pq.write_table(pa.Table.from_pylist([{k: row.get(k) for k in sorted(columns)} for row in ROWS.values()]), path)
    kinds = [to_message(codec, row)[0] for _, row, _ in read_rows(path)]
    assert kinds == ["click", "search", "social", "browse"]


@pytest.mark.parametrize("kind", sorted(ROWS))
def test_to_message_encodes_each_type_keyed_by_user(codec, kind):
    row = ROWS[kind]
    got_kind, user, value = to_message(codec, row)
    assert (got_kind, user) == (kind, row["user_id"])
    subject, record = codec.decode(value)
    assert subject == TYPE_SUBJECT[kind]
    assert record["event_id"] == row["event_id"]
    assert record["ts"] == dt.datetime.fromtimestamp(TS / 1000, UTC).replace(microsecond=506_000)


def test_to_message_does_not_modify_the_row(codec):
    row = {**ROWS["search"], "ts": "2026-11-20T10:00:00Z"}
    to_message(codec, row)
    assert row["ts"] == "2026-11-20T10:00:00Z" and row["type"] == "search"


@pytest.mark.parametrize("ts", ["2026-11-20T10:00:00.250Z", "2026-11-20T10:00:00.250+00:00",
                                "2026-11-20T11:00:00.250+01:00"])
def test_to_message_converts_iso_8601_ts(codec, ts):
    _, _, value = to_message(codec, {**ROWS["search"], "ts": ts})
    expected = dt.datetime(2026, 11, 20, 10, 0, 0, 250_000, tzinfo=UTC)
    assert codec.decode(value)[1]["ts"] == expected


def test_iso_ts_without_offset_is_utc_whatever_the_machine_timezone(codec, monkeypatch):
    if not hasattr(time, "tzset"):
        pytest.skip("needs time.tzset")
    expected = dt.datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    try:
        for zone in ("UTC", "America/New_York", "Asia/Tokyo"):
            monkeypatch.setenv("TZ", zone)
            time.tzset()
            _, _, value = to_message(codec, {**ROWS["search"], "ts": "2026-11-20T10:00:00"})
            assert codec.decode(value)[1]["ts"] == expected, zone
    finally:
        monkeypatch.undo()
        time.tzset()


def test_to_message_rejects_a_bad_iso_ts(codec):
    with pytest.raises(ValueError):
        to_message(codec, {**ROWS["search"], "ts": "yesterday"})


@pytest.mark.parametrize("kind", ["purchase", None, "", "CLICK"])
def test_to_message_unknown_type_raises_value_error(codec, kind):
    row = {**ROWS["click"], "type": kind}
    with pytest.raises(ValueError, match="type must be one of click, search, social, browse"):
        to_message(codec, row)


def test_to_message_missing_type_raises_value_error(codec):
    row = {k: v for k, v in ROWS["click"].items() if k != "type"}
    with pytest.raises(ValueError, match="not None"):
        to_message(codec, row)


@pytest.mark.parametrize("user", [None, "", "missing"])
def test_to_message_missing_user_id_raises_value_error(codec, user):
    row = {k: v for k, v in ROWS["click"].items() if k != "user_id"} if user == "missing" else {
        **ROWS["click"], "user_id": user}
    with pytest.raises(ValueError, match="user_id is missing"):
        to_message(codec, row)


def test_to_message_schema_mismatch_raises_value_error(codec):
    row = {k: v for k, v in ROWS["search"].items() if k != "query"}
    with pytest.raises(ValueError) as info:
        to_message(codec, row)
    assert str(info.value)


def test_every_sample_event_converts():
    from schemas import default_codec

    codec = default_codec()
    rows = list(read_rows(SAMPLE))
    assert len(rows) >= 100
    kinds = set()
    for number, row, error in rows:
        assert error == "", f"line {number}: {error}"
        kind, user, value = to_message(codec, row)
        assert user == row["user_id"] and value
        kinds.add(kind)
    assert kinds == set(TYPE_SUBJECT)


def test_summary_lines_report_counts_and_skipped_rows():
    summary = ReplaySummary(seconds=2.0)
    summary.sent.update({"click": 3, "search": 1})
    summary.users.update({"u1", "u2"})
    summary.skipped.append("line 2: not JSON (Expecting value)")
    lines = summary.lines()
    assert summary.total == 4
    assert lines[0] == "sent 4 events for 2 users in 2.0s (2/s)"
    assert "  click   3" in lines and "skipped 1 rows:" in lines and "  line 2: not JSON (Expecting value)" in lines
