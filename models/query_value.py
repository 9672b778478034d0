"""Which of a reader's candidate queries will find what they read next: a learned query-value model.

A short list is completed from the reader's key phrases (``models/generators/fill.py``), and the key phrases are
ranked by a hand-made score (RAKE with recency and domain weights). Which phrase retrieves the next reads is
learnable: on training users, every candidate (the model's queries and twenty key phrases) is searched as the query
channel searches it, and a LightGBM ranker (LambdaRank) learns, from what the candidate's own search found among
those users' next clicks, to order a user's candidates from features the worker has at serving time
(``training/query_value.py`` trains it; ``interests train query-value``):

- the query's words in the history: how many signals hold all of them (and recency-weighted), how old the newest
  and oldest such signal is, in which domains, how often its words occur one by one;
- its place among the key phrases (20 when it is not one) and whether the model wrote it;
- its MiniLM embedding against the history's: the cosine to the recency-weighted centroid, to the three newest
  signals, the mean and the best over all signals;
- the history itself: its length and domain mix (a ranker compares a user's candidates with each other, so these
  only shape how the others count).

Nothing here needs the article index or the future: the generator worker computes the same features from the
regeneration request. :func:`choose` takes the best-scored candidates, one of each group of near-identical ones.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.text import content_words

DOMAINS = ("click", "search", "social", "browse")
DOMAIN_WEIGHT = {"click": 1.0, "search": 1.3, "social": 0.8, "browse": 0.6}
HALF_LIFE_DAYS = 3.0
NOT_A_PHRASE = 20  # the key-phrase rank of a candidate that is not one of the key phrases
FEATURES = (
    "phrase_rank", "is_model", "n_words", "n_chars",
    "support", "support_recent", "newest_age_days", "oldest_age_days", "first_signal",
    "word_support_mean", "word_support_min", *(f"support_{d}" for d in DOMAINS),
    "history_len", *(f"history_{d}" for d in DOMAINS),
    "cos_centroid", "cos_newest", "cos_history_mean", "cos_history_max",
)
MODEL_FILE = "model.txt"
META_FILE = "meta.json"
DEFAULT_DIR = Path(__file__).parent / "artifacts" / "query-value"
NO_SIGNAL_AGE_DAYS = 30.0  # the age features of a query no signal holds whole
# two candidates closer than this (MiniLM cosine) say the same thing: the list keeps the better one. On the seed-0
# benchmark's test users it kept NDCG@10 (1.07x lexical, 0.98x embedding) and raised the lists' diversity from 0.66 to
# 0.71 (docs/results/2026-12-06-query-value.md)
MAX_COSINE = 0.7


def query_words(text: str) -> frozenset[str]:
    """The words a candidate is matched on: its content words, or all its lower-cased words when it has none."""
    return frozenset(content_words(text)) or frozenset(text.lower().split())


def nested(a: str, b: str) -> bool:
    """True when one query's words (:func:`query_words`) are all among the other's: the two say one thing."""
    x, y = query_words(a), query_words(b)
    return x <= y or y <= x


@dataclass(frozen=True)
class Profile:
    """What the features read from one reader's history (newest first): each signal's content words, age in days
    (from the newest), recency weight and domain, the unit signal embeddings and their weighted centroid."""

    words: tuple[frozenset[str], ...]
    ages: np.ndarray
    recency: np.ndarray
    domains: tuple[str, ...]
    vectors: np.ndarray
    centroid: np.ndarray

    @classmethod
    def of(cls, history: list[dict], vectors: np.ndarray) -> "Profile":
        """The profile of ``history`` (signals newest first, each with ``text``, ``ts`` in ms and ``domain``) and
        its texts' embeddings ``vectors`` (one row per signal, normalised here)."""
        if len(history) == 0:
            raise ValueError("a profile needs a history of at least one signal")
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(history), -1)
        unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        newest = max(s["ts"] for s in history)
        ages = np.array([max(newest - s["ts"], 0) / 86_400_000 for s in history], dtype=np.float64)
        recency = np.exp(-math.log(2) * ages / HALF_LIFE_DAYS)
        domains = tuple(str(s.get("domain", "")).lower() for s in history)
        weights = recency * np.array([DOMAIN_WEIGHT.get(d, 0.5) for d in domains])
        centroid = (weights[:, None] * unit).sum(axis=0)
        centroid = centroid / max(float(np.linalg.norm(centroid)), 1e-12)
        return cls(tuple(frozenset(content_words(s["text"])) for s in history), ages, recency, domains, unit,
                   centroid.astype(np.float32))


def features(queries: list[str], query_vectors: np.ndarray, profile: Profile, phrases: list[str],
             from_model: list[bool]) -> np.ndarray:
    """One row of :data:`FEATURES` per query: ``query_vectors`` their embeddings, ``phrases`` the reader's key
    phrases in their order (a query's rank among them), ``from_model`` whether the model wrote each query."""
    if not (len(queries) == len(from_model) == len(query_vectors)):
        raise ValueError(f"{len(queries)} queries, {len(query_vectors)} vectors and {len(from_model)} model flags")
    rank = {p: i for i, p in enumerate(phrases)}
    n = len(profile.words)
    shares = [sum(d == domain for d in profile.domains) / n for domain in DOMAINS]
    q = np.asarray(query_vectors, dtype=np.float32).reshape(len(queries), -1)
    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    cos = q @ profile.vectors.T if len(queries) else np.zeros((0, n))
    rows = []
    for i, query in enumerate(queries):
        words = query_words(query)
        holding = [j for j, ws in enumerate(profile.words) if words <= ws]
        per_word = [sum(w in ws for ws in profile.words) for w in words]
        rows.append([
            rank.get(query, NOT_A_PHRASE), float(from_model[i]), len(query.split()), len(query),
            len(holding), float(profile.recency[holding].sum()) if holding else 0.0,
            float(profile.ages[holding].min()) if holding else NO_SIGNAL_AGE_DAYS,
            float(profile.ages[holding].max()) if holding else NO_SIGNAL_AGE_DAYS,
            holding[0] if holding else n,
            float(np.mean(per_word)) if per_word else 0.0, min(per_word, default=0),
            *(sum(profile.domains[j] == d for j in holding) for d in DOMAINS),
            n, *shares,
            float(q[i] @ profile.centroid), float(cos[i, :3].max()), float(cos[i].mean()), float(cos[i].max()),
        ])
    return np.asarray(rows, dtype=np.float64).reshape(len(queries), len(FEATURES))


def choose(candidates: list[str], scores, n: int, vectors: np.ndarray | None = None,
           max_cosine: float = MAX_COSINE) -> list[int]:
    """Indices of the ``n`` best-scored ``candidates`` (ties to the earlier), best first. A candidate is passed over
    when its words are all in a chosen one's or hold all of a chosen one's, or, given their embeddings ``vectors``,
    when its cosine to a chosen one is above ``max_cosine``: five phrasings of one story are one query."""
    if len(candidates) != len(scores):
        raise ValueError(f"{len(candidates)} candidates but {len(scores)} scores")
    unit = None
    if vectors is not None:
        unit = np.asarray(vectors, dtype=np.float32).reshape(len(candidates), -1)
        unit = unit / np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
    chosen: list[int] = []
    for i in sorted(range(len(candidates)), key=lambda i: (-float(scores[i]), i)):
        if any(nested(candidates[i], candidates[c]) for c in chosen):
            continue
        if unit is not None and chosen and float((unit[chosen] @ unit[i]).max()) > max_cosine:
            continue
        chosen.append(i)
        if len(chosen) == n:
            break
    return chosen


class QueryValueModel:
    """A trained query-value ranker: ``model.txt`` (a LightGBM booster) and ``meta.json`` (its version and feature
    names) in one folder."""

    def __init__(self, booster, version: str, meta: dict | None = None):
        self.booster, self.version, self.meta = booster, version, meta or {}

    @classmethod
    def load(cls, folder: Path | str = DEFAULT_DIR) -> "QueryValueModel":
        import lightgbm as lgb

        folder = Path(folder)
        if not (folder / MODEL_FILE).exists() or not (folder / META_FILE).exists():
            raise FileNotFoundError(f"no query-value model in {folder} (expected {MODEL_FILE} and {META_FILE}): "
                                    "train one with `interests train query-value`")
        meta = json.loads((folder / META_FILE).read_text())
        if tuple(meta.get("features", ())) != FEATURES:
            raise ValueError(f"the query-value model in {folder} was trained on other features "
                             f"({meta.get('features')}); retrain it with `interests train query-value`")
        return cls(lgb.Booster(model_file=str(folder / MODEL_FILE)), meta["version"], meta)

    def save(self, folder: Path | str) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(folder / MODEL_FILE))
        meta = {**self.meta, "version": self.version, "features": list(FEATURES)}
        (folder / META_FILE).write_text(json.dumps(meta, indent=1) + "\n")
        return folder

    def scores(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, len(FEATURES))
        return self.booster.predict(rows) if len(rows) else np.zeros(0)
