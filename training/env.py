"""The training environment: a benchmark's training users with everything the rewards need.

:class:`RewardEnv` loads a benchmark folder (``training/evaluate.py``'s :class:`Benchmark`), the query embedder,
the article index (and the word index of the hybrid query search), the corpus IDF, the generic-query embeddings and
the click model, and turns a batch of user ids into the rewards' :class:`training.rewards.TrainingUser` objects. Only users of the ``train`` split are handed out
for training (:meth:`RewardEnv.train_users`); evaluation users' targets never reach a reward.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from models.rewards import RewardContext
from models.embeddings import Embedder
from models.retrieval import ArticleIndex, check_search
from streams import drift
from training.evaluate import Benchmark
from training.rewards import GENERIC_QUERIES, Scorers, TrainingUser, interest_clusters

log = logging.getLogger(__name__)


def corpus_idf(texts: list[str]) -> dict[str, float]:
    """Smoothed inverse document frequency of every word of ``texts`` (lower-cased alphanumeric runs), English stop
    words left out (they then count as uninformative)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    vectorizer = CountVectorizer(lowercase=True, token_pattern=r"[a-z0-9]+", binary=True)
    counts = vectorizer.fit_transform(texts)
    df = np.asarray(counts.sum(axis=0)).ravel()
    idf = np.log((1 + len(texts)) / (1 + df)) + 1.0
    return {w: float(idf[i]) for w, i in vectorizer.vocabulary_.items() if w not in ENGLISH_STOP_WORDS}


class RewardEnv:
    can_score = True  # builds reward contexts (training/histories.py's HistoryEnv does not)

    def __init__(self, bench: Benchmark, embedder: Embedder, num_queries: int = 5, seed: int = 0,
                 click_model: bool = True, coverage_threshold: float = 0.5, coverage_judge: str | None = None,
                 query_search: str = "hybrid"):
        from training.click_model import fit_click_model

        self.bench, self.embedder, self.num_queries, self.seed = bench, embedder, num_queries, seed
        self.index = ArticleIndex(bench.catalogue["article_id"].tolist(), bench.embeddings)
        # the rewards that retrieve (relevance, engagement) search as the query channel is served
        self.lexical = bench.lexical_index() if check_search(query_search) == "hybrid" else None
        texts = (bench.catalogue["title"].fillna("") + " " + bench.catalogue["body"].fillna("").str[:2000]).tolist()
        model = fit_click_model(bench, self.train_users(), seed=seed) if click_model else None
        self.scorers = Scorers(corpus_idf(texts), embedder.embed(list(GENERIC_QUERIES)), model, coverage_threshold)
        self._article_row = {a: i for i, a in enumerate(bench.catalogue["article_id"])}
        self.rewards: dict = {}  # reward overrides by name, passed to training.rewards.composite
        if coverage_judge:
            from training.judge import JudgeCoverage

            self.rewards["coverage"] = JudgeCoverage(coverage_judge)

    @classmethod
    def from_folder(cls, folder: Path, embedder: Embedder, **kwargs) -> "RewardEnv":
        return cls(Benchmark.load(Path(folder)), embedder, **kwargs)

    def train_users(self) -> list[str]:
        """Training-split users with a history and at least one held-out next click, sorted."""
        return self.bench.eval_users("train")

    def history(self, user: str) -> list[dict]:
        """The user's signals, newest first, as the serving prompt reads them."""
        return self.bench.histories[user]

    def contexts(self, users: list[str]) -> list[TrainingUser]:
        """One :class:`TrainingUser` per user (repeats allowed); one embedder call for all the histories."""
        cache: dict[str, np.ndarray] = {}
        distinct = list(dict.fromkeys(users))
        histories = {u: [s["text"] for s in self.bench.histories[u]] for u in distinct}
        texts = list(dict.fromkeys(t for u in distinct for t in histories[u]))
        vectors = dict(zip(texts, self.embedder.embed(texts))) if texts else {}
        built = {}
        for user in distinct:
            rc = RewardContext(histories[user], self.embedder, self.index, cache=cache, lexical=self.lexical)
            hist_vectors = np.asarray([vectors[t] for t in histories[user]], dtype=np.float32)
            clicked = sorted(self.bench.clicked.get(user, set()))
            rows = [self._article_row[a] for a in clicked if a in self._article_row]
            profile = drift.unit(self.bench.embeddings[rows].mean(axis=0)) if rows else (
                drift.unit(hist_vectors.mean(axis=0)) if len(hist_vectors) else np.zeros(self.embedder.dim))
            built[user] = TrainingUser(
                user, histories[user], rc, self.scorers, interest_clusters(hist_vectors), np.asarray(profile),
                list(self.bench.targets.get(user, [])), set(self.bench.clicked.get(user, set())), self.num_queries)
        return [built[u] for u in users]

