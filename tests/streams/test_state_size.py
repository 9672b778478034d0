"""The state-size benchmark on a hand-made event log: it builds the records by the stream's rules and reports the
three forms; the MessagePack record is the smaller one."""

from __future__ import annotations

import json

from streams.benchmarks.state_size import main


def test_the_benchmark_reports_both_forms_of_real_records(tmp_path):
    events = [{"type": "click", "event_id": f"e{i}", "user_id": f"u0000{i % 2}", "ts": 1_700_000_000_000 + i,
               "article_id": f"a{i}", "title": f"Headline number {i} about rates"} for i in range(8)]
    events.append({"type": "search", "event_id": "s1", "user_id": "u00009", "ts": 1_700_000_000_100, "query": "q"})
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    out = tmp_path / "state.json"
    assert main(["--data", str(tmp_path), "--users", "2", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["users"] == 2 and report["history_items_mean"] == 4.0  # u00009 is not among the first two
    sizes = report["bytes_per_write"]
    assert sizes["msgpack"] < sizes["msgpack_named_items"] < sizes["json_base64"]
    assert set(report["pack_and_read_us"]) == set(sizes)
