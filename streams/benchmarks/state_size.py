"""Bytes per changelog write and pack-and-read time of the stream's user record, in the form the table stores now
(MessagePack, float32 vector bytes, history items as lists of their fields: ``streams/packing.py``) and the two it
stored before (MessagePack with each item a dict that also held the user id; before that, JSON with base64 vectors).

    python -m streams.benchmarks.state_size [--data BENCH_DIR | --events FILE] [--users 300] [--out FILE]

The records are built from the first ``--users`` users of a simulated benchmark's event log (all their events, by
the stream's own rules and window; a hashing embedder: vector bytes do not depend on the values), so their history
windows are as full as the benchmark makes them. Both forms are timed back to back in one process.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from common.settings import cache_dir, portable
from models.embeddings import HashEmbedder
from models.noise import signal_from_event
from streams import drift, packing, user_state
from streams.config import StreamsConfig
from streams.events import Signal

RESULTS = Path(__file__).parent / "results" / "state-size.json"


def user_records(events: Path, users: int) -> list[dict]:
    """The records of users ``u00000``..., built from all their events with the stream's default rules."""
    rules = user_state.Rules.from_config(StreamsConfig())
    by_user: dict[str, list[dict]] = {}
    with Path(events).open(encoding="utf-8") as handle:
        for line in handle:
            event = json.loads(line)
            if int(event["user_id"][1:]) < users:
                by_user.setdefault(event["user_id"], []).append(event)
    embedder = HashEmbedder()
    records = []
    for user_id, rows in sorted(by_user.items()):
        user = user_state.new_user()
        for e in rows:
            view = signal_from_event(e)  # the same reading of an event row the noise classifier uses
            signal = Signal(e["event_id"], user_id, view["domain"], view["kind"], view["text"], int(e["ts"]),
                            e.get("article_id"), e.get("platform"), view.get("dwell_ms"))
            user_state.add(user, signal, embedder.embed([signal.text])[0], rules)
        drift.mark_generated(user["interest"])
        records.append(user)
    return records


def _named_items(user: dict, user_id: str = "u00000") -> dict:
    """The record as stored before items lost their field names: each item a dict with the user id in it."""
    return {**user, "history": {domain: [{**item, "user_id": user_id} for item in items]
                                for domain, items in user["history"].items()}}


def json_base64(user: dict) -> bytes:
    """The first form the table stored: JSON, items as dicts, the vectors as base64 of float32."""
    user = _named_items(user)
    interest = user["interest"]
    vectors = {k: base64.b64encode(np.asarray(interest[k], dtype="<f4").tobytes()).decode()
               for k in packing.VECTORS if interest[k] is not None}
    return json.dumps({**user, "interest": {**interest, **vectors}}).encode()


def msgpack_named(user: dict) -> bytes:
    """The second form: MessagePack and float32 vector bytes, items as dicts with the user id."""
    import msgpack

    user = _named_items(user)
    interest = user["interest"]
    return msgpack.packb({**user, "interest": {**interest, **{
        k: None if interest.get(k) is None else np.asarray(interest[k], dtype="<f4").tobytes()
        for k in packing.VECTORS}}})


def pack_and_read_us(records: list[dict], pack, repeats: int = 5) -> float:
    started = time.perf_counter()
    for _ in range(repeats):
        for record in records:
            packing.unpack_user(pack(record))
    return (time.perf_counter() - started) / (repeats * len(records)) * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=cache_dir() / "bench" / "sim-seed0-users2000-lexical")
    parser.add_argument("--events", type=Path, default=None,
                        help="an event log of the stream's JSON rows (default: events.jsonl in --data), e.g. "
                             "streams/data/sample_events.jsonl")
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    events = args.events or args.data / "events.jsonl"
    if not events.exists():
        parser.error(f"no {events}: run `interests benchmark` first, or give --data or --events")
    records = user_records(events, args.users)
    forms = {"json_base64": json_base64, "msgpack_named_items": msgpack_named, "msgpack": packing.pack_user}
    sizes = {name: round(float(np.mean([len(pack(r)) for r in records]))) for name, pack in forms.items()}
    times = {name: round(pack_and_read_us(records, pack), 1) for name, pack in forms.items()}
    given = " ".join(sys.argv[1:] if argv is None else argv)
    report = {"command": f"python -m streams.benchmarks.state_size {given}".strip(),
              "data": portable(str(events)), "users": len(records),
              "history_items_mean": round(float(np.mean([sum(map(len, r["history"].values())) for r in records])), 1),
              "bytes_per_write": sizes, "pack_and_read_us": times,
              "load_average_1_min": round(os.getloadavg()[0], 2)}
    print(json.dumps(report, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
