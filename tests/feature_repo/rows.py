"""Feature rows for the store tests: the ``query_features`` shape the generator worker pushes."""

from __future__ import annotations

import time

import numpy as np


def feature_row(user: str, queries: list[str], seed: int = 0, generated_at: int | None = None) -> dict:
    rng = np.random.default_rng(seed)
    embeddings = rng.standard_normal((len(queries), 384)).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    vector = rng.standard_normal(384).astype(np.float32)
    now = generated_at or int(time.time() * 1000)
    return {"user_id": user, "request_id": f"r-{user}-{seed}", "queries": queries,
            "query_embeddings": embeddings.tolist(), "interest_vector": (vector / np.linalg.norm(vector)).tolist(),
            "model_version": f"test@{seed}", "generated_at": now, "last_event_at": now - 1500, "freshness_ms": 900,
            "history_length": 10 + seed, "click_share": 0.5, "search_share": 0.25, "social_share": 0.25,
            "browse_share": 0.0}
