"""Configuration of the offline training side: ``SimConfig`` for the benchmark user simulator (training/simulate.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SimConfig:
    """Everything that shapes a simulated benchmark; the same config and seed give byte-identical files."""

    seed: int = 0  # the one seed: numpy default_rng, KMeans random_state, tweet sample, user draws
    n_users: int = 2000  # simulated users (ids u00000, u00001, ...)
    events_per_user: float = 50.0  # mean log events per user (cold users half): 2000 users -> about 100k events
    n_topics: int = 150  # KMeans clusters of the articles; fine-grained, or every method looks the same (DESIGN.md)
    min_topic_articles: int = 8  # a topic needs this many articles to be someone's interest
    interests_min: int = 1  # latent interests per user: uniform between min and max (inclusive)
    interests_max: int = 3
    interest_alpha: float = 1.0  # Dirichlet concentration of the interest weights (1 = uniform on the simplex)
    domain_alpha: tuple[float, float, float, float] = (3.0, 2.0, 1.5, 1.5)  # Dirichlet of click/search/social/browse
    cold_share: float = 0.15  # users with a short, recent history and only 0-2 clicks (searches, social, browsing)
    drift_share: float = 0.2  # users (not cold) of whom one interest is replaced by a new topic mid-timeline
    noise_rate: float = 0.05  # share of events that are labelled noise: accidental clicks, navigational, spam
    test_share: float = 0.2  # users in the "test" split (noise classifier, evaluation); the rest are "train"
    cutoff_quantile: float = 0.8  # cutoff = this quantile of article publication times; log before, targets after
    max_targets: int = 10  # held-out future clicks per user: at least 1, at most this many
    mean_targets: float = 3.0  # Poisson mean of the number of future clicks beyond the first
    max_tweets: int = 20_000  # tweets embedded (a seeded sample) to keep the run short
    tweet_min_cosine: float = 0.3  # a tweet joins its nearest topic only at or above this cosine
    recency_days: float = 3.0  # articles are picked with weight exp(-age / recency_days): news is read fresh
