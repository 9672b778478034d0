"""The paper's lightweight behaviour-cleaning classifier: is a raw signal noise (an accidental click, a navigational
search, spam) or a sign of interest?

A logistic regression over generic per-signal features (``NoiseFeatures``): the text's sentence embedding, the domain
and kind (one-hot), the dwell time when there is one (log seconds and a present flag, per domain) and the text's shape
(length, word count, digit / upper-case / punctuation shares, whether it holds a URL). No list of known noise strings:
what noise looks like is learned from labelled data (``labels.parquet`` of a simulation, ``training/simulate.py``).

``train_noise_classifier`` fits on the events of the TRAIN users and reports precision / recall / F1 on the TEST
users' events (``users.json`` split), overall, per domain and per noise kind; ``NoiseFilter`` applies a saved model to
signals (dicts with ``domain``, ``kind``, ``text`` and optional ``dwell_ms``).
"""

from __future__ import annotations

import json
import logging
import math
import re
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from models.embeddings import Embedder, MiniLMEmbedder, make_embedder

log = logging.getLogger(__name__)

DOMAINS = ("click", "search", "social", "browse")
KINDS = ("click", "search", "browse", "LIKE", "SHARE", "POST", "COMMENT")
URL = re.compile(r"https?://|www\.|\b[\w-]+\.(com|org|net|ly|io|co)\b", re.IGNORECASE)
N_SHAPE = 2 * len(DOMAINS) + 8  # per-domain dwell (present, log seconds) and 8 text-shape features


def signal_from_event(row: dict) -> dict:
    """The classifier's view of one replay-format event row (``streams/replay.py``)."""
    kind = row["type"]
    if kind == "click":
        return {"domain": "click", "kind": "click", "text": row.get("title") or "", "dwell_ms": row.get("dwell_ms")}
    if kind == "search":
        return {"domain": "search", "kind": "search", "text": row.get("query") or ""}
    if kind == "social":
        return {"domain": "social", "kind": row.get("action") or "POST", "text": row.get("text") or ""}
    if kind == "browse":
        return {"domain": "browse", "kind": "browse", "text": row.get("title") or row.get("url") or "",
                "dwell_ms": row.get("dwell_ms")}
    raise ValueError(f"unknown event type {kind!r}")


class NoiseFeatures:
    """Generic features of signals: embedding + domain/kind one-hot + log dwell (and missing flag) + text shape."""

    def __init__(self, embedder: Embedder):
        self.embedder = embedder

    @property
    def dim(self) -> int:
        return self.embedder.dim + len(DOMAINS) + len(KINDS) + N_SHAPE

    def transform(self, signals: list[dict], embeddings: np.ndarray | None = None) -> np.ndarray:
        """``(len(signals), dim)`` float32; identical texts are embedded once. Pass ``embeddings`` (one row per
        signal, from the same embedder) when the caller has them already, as the stream worker does."""
        texts = [str(s.get("text") or "") for s in signals]
        if embeddings is not None:
            emb = np.asarray(embeddings, dtype=np.float32).reshape(len(signals), self.embedder.dim)
        else:
            unique = sorted(set(texts))
            vectors = self.embedder.embed(unique) if unique else np.zeros((0, self.embedder.dim), np.float32)
            row_of = {t: i for i, t in enumerate(unique)}
            emb = vectors[[row_of[t] for t in texts]] if texts else np.zeros((0, self.embedder.dim), np.float32)
        rest = np.zeros((len(signals), self.dim - self.embedder.dim), dtype=np.float32)
        for i, (signal, text) in enumerate(zip(signals, texts)):
            domain, kind = signal.get("domain"), signal.get("kind")
            if domain in DOMAINS:
                rest[i, DOMAINS.index(domain)] = 1.0
            if kind in KINDS:
                rest[i, len(DOMAINS) + KINDS.index(kind)] = 1.0
            rest[i, len(DOMAINS) + len(KINDS):] = self._shape(text, signal.get("dwell_ms"), domain)
        return np.hstack([emb.astype(np.float32), rest])

    @staticmethod
    def _shape(text: str, dwell_ms: int | None, domain: str | None) -> list[float]:
        n = max(len(text), 1)
        dwell = [0.0] * (2 * len(DOMAINS))  # per domain: a short read means something else in each
        if dwell_ms is not None and domain in DOMAINS:
            slot = 2 * DOMAINS.index(domain)
            dwell[slot:slot + 2] = [1.0, math.log1p(max(dwell_ms, 0) / 1000)]
        return [*dwell, math.log1p(len(text)), math.log1p(len(text.split())),
                sum(c.isdigit() for c in text) / n, sum(c.isupper() for c in text) / n,
                sum(not (c.isalnum() or c.isspace()) for c in text) / n, float(bool(URL.search(text))),
                float(text.count("!")), float(text == text.lower())]


class NoiseFilter:
    """A trained noise classifier: ``predict(signals) -> [is noise]`` at a configurable probability threshold."""

    def __init__(self, pipeline: Pipeline, embedder: Embedder, threshold: float = 0.5):
        self.pipeline = pipeline
        self.features = NoiseFeatures(embedder)
        self.threshold = threshold

    def predict_proba(self, signals: list[dict], embeddings: np.ndarray | None = None) -> np.ndarray:
        """Probability that each signal is noise."""
        if not signals:
            return np.zeros(0)
        return self.pipeline.predict_proba(self.features.transform(signals, embeddings))[:, 1]

    def predict(self, signals: list[dict], embeddings: np.ndarray | None = None) -> list[bool]:
        """True where a signal is noise (probability >= threshold)."""
        return [bool(p >= self.threshold) for p in self.predict_proba(signals, embeddings)]

    def save(self, path: Path) -> None:
        """Write the model, the embedder's name and the threshold with joblib."""
        joblib.dump({"pipeline": self.pipeline, "embedder": self.features.embedder.name,
                     "dim": self.features.embedder.dim, "threshold": self.threshold}, path)

    @classmethod
    def load(cls, path: Path, embedder: Embedder | None = None, threshold: float | None = None) -> NoiseFilter:
        """Load a saved filter; the embedder is rebuilt from its saved name unless given (it must be the same)."""
        saved = joblib.load(path)
        if embedder is None:
            embedder = make_embedder("minilm" if saved["embedder"] == MiniLMEmbedder.name else "hash")
        if embedder.name != saved["embedder"] or embedder.dim != saved["dim"]:
            raise ValueError(f"{path} was trained with {saved['embedder']} ({saved['dim']}), not {embedder.name}")
        return cls(saved["pipeline"], embedder, saved["threshold"] if threshold is None else threshold)


def _scores(y: np.ndarray, pred: np.ndarray) -> dict:
    p, r, f, _ = precision_recall_fscore_support(y, pred, average="binary", zero_division=0)
    n_noise, n_flagged = int(y.sum()), int(pred.sum())  # undefined scores are None, not 0
    return {"precision": round(float(p), 4) if n_flagged else None, "recall": round(float(r), 4) if n_noise else None,
            "f1": round(float(f), 4) if n_noise else None, "n": int(len(y)), "n_noise": n_noise, "n_flagged": n_flagged}


def train_noise_classifier(sim_dir: Path, embedder: Embedder, seed: int = 0,
                           threshold: float = 0.5) -> tuple[NoiseFilter, dict]:
    """Fit on the train users' events of a simulation, evaluate on the test users' events, save both.

    Writes ``noise.joblib`` (the ``NoiseFilter``) and ``noise_report.json`` (overall, per-domain and per-noise-kind
    scores on the test users) into ``sim_dir``; returns ``(filter, report)``.
    """
    sim_dir = Path(sim_dir)
    with (sim_dir / "events.jsonl").open(encoding="utf-8") as handle:
        events = [json.loads(line) for line in handle if line.strip()]
    labels = pd.read_parquet(sim_dir / "labels.parquet").set_index("event_id")
    users = json.loads((sim_dir / "users.json").read_text(encoding="utf-8"))
    signals = [signal_from_event(e) for e in events]
    y = labels.loc[[e["event_id"] for e in events], "noise"].to_numpy(bool)
    kinds = labels.loc[[e["event_id"] for e in events], "noise_kind"].to_numpy(object)
    is_test = np.array([users[e["user_id"]]["split"] == "test" for e in events])
    log.info("noise classifier: %d train / %d test events, %.1f%% noise",
             (~is_test).sum(), is_test.sum(), 100 * y.mean())
    X = NoiseFeatures(embedder).transform(signals)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=3000,
                                                                  random_state=seed))
    pipeline.fit(X[~is_test], y[~is_test])
    model = NoiseFilter(pipeline, embedder, threshold)
    proba = pipeline.predict_proba(X[is_test])[:, 1]
    yt, pred = y[is_test], proba >= threshold
    domains = np.array([s["domain"] for s in signals])[is_test]
    report = {"threshold": threshold, "embedder": embedder.name, "seed": seed,
              "n_train": int((~is_test).sum()), "n_test": int(is_test.sum()), "test": _scores(yt, pred),
              "test_auc": round(float(roc_auc_score(yt, proba)), 4) if 0 < yt.sum() < len(yt) else None,
              "by_domain": {d: _scores(yt[domains == d], pred[domains == d]) for d in DOMAINS if (domains == d).any()},
              "recall_by_kind": {}}
    kt = kinds[is_test]
    for kind in sorted({k for k in kt if isinstance(k, str)}):
        mask = kt == kind
        report["recall_by_kind"][kind] = {"recall": round(float(pred[mask].mean()), 4), "n": int(mask.sum())}
    model.save(sim_dir / "noise.joblib")
    (sim_dir / "noise_report.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    log.info("noise classifier on test users: precision %.3f recall %.3f f1 %.3f",
             report["test"]["precision"], report["test"]["recall"], report["test"]["f1"])
    return model, report
