"""Fixtures of the training tests: a small hand-made benchmark folder (hashing embedder) and tiny random models."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from models.embeddings import HashEmbedder

T0 = 1_480_000_000_000  # Nov 2016
TOPICS = {
    "rates": ["Fed raises interest rates in December", "Fed signals more interest rate hikes",
              "Mortgage rates climb after Fed decision", "Bond yields jump on Fed rate outlook"],
    "arsenal": ["Arsenal beat Chelsea in London derby", "Arsenal sign new striker in January window",
                "Arsenal manager praises young striker", "Chelsea and Arsenal draw at the Emirates"],
    "climate": ["Paris climate agreement enters into force", "Climate summit agrees on coal phase out",
                "Record heat drives climate protests", "Climate finance pledges fall short"],
}


@pytest.fixture(scope="session")
def train_bench(tmp_path_factory):
    """Nine users (six train, three test), three topics of four articles; every user reads two articles of one
    topic and searches it; the held-out next click is the topic's third article."""
    root = tmp_path_factory.mktemp("train-bench")
    embedder = HashEmbedder()
    rows, ids, topics = [], [], []
    for topic, titles in TOPICS.items():
        for i, title in enumerate(titles):
            ids.append(f"{topic}-{i}")
            rows.append(title)
            topics.append(list(TOPICS).index(topic))
    catalogue = pd.DataFrame({"article_id": ids, "title": rows, "body": "", "category": "news",
                              "published_at": pd.Timestamp("2016-11-23", tz="UTC"), "url": "", "source": "test",
                              "topic": topics})
    catalogue.to_parquet(root / "catalogue.parquet")
    np.save(root / "article_embeddings.npy", embedder.embed(rows))
    events, targets, users = [], {}, {}
    for u in range(9):
        topic = list(TOPICS)[u % 3]
        user = f"u{u}"
        for j in range(2):
            events.append({"type": "click", "event_id": f"e{u}-{j}", "user_id": user, "ts": T0 + 60_000 * j,
                           "article_id": f"{topic}-{j}", "title": TOPICS[topic][j], "category": None,
                           "dwell_ms": 60_000})
        events.append({"type": "search", "event_id": f"e{u}-s", "user_id": user, "ts": T0 + 200_000,
                       "query": TOPICS[topic][1].lower(), "engine": None})
        targets[user] = [f"{topic}-2"]
        users[user] = {"interests": [{"topic": u % 3, "weight": 1.0}], "cold": False, "drift": None,
                       "split": "train" if u < 6 else "test"}
    (root / "events.jsonl").write_text("\n".join(json.dumps(e) for e in events) + "\n")
    (root / "targets.json").write_text(json.dumps(targets))
    (root / "users.json").write_text(json.dumps(users))
    return root


@pytest.fixture(scope="session")
def env(train_bench):
    from training.env import RewardEnv

    return RewardEnv.from_folder(train_bench, HashEmbedder())


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory):
    from tests.tiny_models import save_tiny_llama

    # tiny random LlamaForCausalLM, 4 layers, not the real student
    return save_tiny_llama(tmp_path_factory.mktemp("tiny-base"), layers=4,
                           manifest={"name": "tiny", "version": "base"})
