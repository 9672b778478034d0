"""Writes a benchmark folder (the layout ``training.evaluate.Benchmark`` reads) from any articles + events +
targets, e.g. a MIND split: ``interests data mind PATH/TO/MIND --out DIR``, then ``interests eval --data DIR``.

Files: catalogue.parquet (articles + topic), article_embeddings.npy, events.jsonl (replay format), targets.json,
users.json (split, cold flag, interests = the topics of the user's input clicks; no drift labels).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

COLD_MAX_CLICKS = 2


def write_folder(articles: pd.DataFrame, events: list[dict], targets: dict[str, list[str]], embedder,
                 out_dir: Path, topic_column: str = "category") -> dict:
    """Embed the articles, label topics by ``topic_column`` and write the folder. Returns a summary."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    catalogue = articles.reset_index(drop=True).copy()
    codes = {name: i for i, name in enumerate(sorted(catalogue[topic_column].astype(str).unique()))}
    catalogue["topic"] = catalogue[topic_column].astype(str).map(codes).astype(int)
    catalogue.to_parquet(out_dir / "catalogue.parquet")
    texts = (catalogue["title"] + ". " + catalogue["body"].fillna("").str.slice(0, 200)).tolist()
    np.save(out_dir / "article_embeddings.npy", embedder.embed(texts).astype(np.float32))
    events = sorted(events, key=lambda e: (e["ts"], e["event_id"]))
    with (out_dir / "events.jsonl").open("w") as handle:
        for event in events:
            handle.write(json.dumps(event) + "\n")
    topic_of = dict(zip(catalogue["article_id"], catalogue["topic"]))
    clicks: dict[str, Counter] = defaultdict(Counter)
    for event in events:
        if event["type"] == "click" and event["article_id"] in topic_of:
            clicks[event["user_id"]][topic_of[event["article_id"]]] += 1
    users = {}
    for user in sorted({e["user_id"] for e in events} | set(targets)):
        counts = clicks.get(user, Counter())
        total = sum(counts.values())
        users[user] = {
            "interests": [{"topic": int(t), "weight": n / total} for t, n in counts.most_common(3)] if total else [],
            "cold": total <= COLD_MAX_CLICKS,
            "drift": None,
            "split": "test" if targets.get(user) else "train",
            "n_events": sum(1 for e in events if e["user_id"] == user),
        }
    (out_dir / "targets.json").write_text(json.dumps({u: t for u, t in targets.items() if t}))
    (out_dir / "users.json").write_text(json.dumps(users))
    summary = {"articles": len(catalogue), "events": len(events), "users": len(users),
               "test_users": sum(1 for u in users.values() if u["split"] == "test")}
    (out_dir / "meta.json").write_text(json.dumps(summary))
    return summary
