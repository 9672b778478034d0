"""The simulated benchmark's files: the event log with its noise labels, and JSON written the same way every time
(the same seed gives byte-identical files)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd

from schemas import default_codec
from streams.replay import TYPE_SUBJECT

FIELDS = {kind: [f["name"] for f in default_codec().registry.latest(subject).raw["fields"]]
          for kind, subject in TYPE_SUBJECT.items()}  # each event type's fields, in schema order


def write_events(events_path: Path, labels_path: Path, rows: list[tuple], users: dict) -> tuple[Counter, Counter]:
    """Write ``rows`` ((ts, user, seq, kind, record, noise kind or None, topic), sorted) as the JSON-lines event log
    with ids ``ev0000000``..., and their labels (noise, kind, topic) as parquet; counts each user's events into
    ``users``. Returns the events per type and per noise kind."""
    labels, by_type, by_noise = [], Counter(), Counter()
    with Path(events_path).open("w", encoding="utf-8") as handle:
        for n, (ts, uid, _, kind, rec, noise, k) in enumerate(rows):
            event_id = f"ev{n:07d}"
            full = {**rec, "event_id": event_id, "user_id": uid, "ts": int(ts)}
            row = {"type": kind, **{f: full.get(f) for f in FIELDS[kind]}}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            labels.append((event_id, uid, noise is not None, noise, int(k)))
            users[uid]["n_events"] += 1
            by_type[kind] += 1
            by_noise[noise or "none"] += 1
    pd.DataFrame(labels, columns=["event_id", "user_id", "noise", "noise_kind", "topic"]).to_parquet(
        labels_path, index=False)
    return by_type, by_noise


def dump(path: Path, obj) -> None:
    """``obj`` as indented JSON, non-ASCII kept, with a final newline."""
    Path(path).write_text(json.dumps(obj, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
