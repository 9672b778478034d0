"""A deterministic cross-domain user simulator on real news articles and real tweets (the benchmark data).

Topics are the articles' own fine-grained clusters (about 150; with coarse topics every method looks the same), by
``cfg.topics``: KMeans over the all-MiniLM-L6-v2 embeddings of "title. first 200 chars of body" (``embedding``: the
retriever's own space, so the history centroid is favoured by construction), or over TF-IDF of title and body reduced
by SVD (``lexical``: a ground truth the retrieval embedding does not define). Tweets join the nearest topic in the same
space. A user has 1-3 latent interests (topics with enough articles) with
Dirichlet weights and a Dirichlet mix over the domains, and is active when there is news:

- click: an article of an interest topic, minutes to hours after it appeared, never twice; dwell 20 s - 5 min;
- search: 2-4 of the highest tf-idf terms (lower-cased) of an article of the topic, in score order;
- social: SHARE of an article with a comment made of its title, an occasional COMMENT, LIKE / POST of real
  health-news tweets whose nearest topic centroid is the interest (cosine >= 0.3, platform twitter);
- browse: a page view of an article's URL with its title (sometimes none) and a dwell time.

Cold users start late and have 0-2 clicks. A drifting user's interest ``from`` is replaced by ``to`` at ``at_ms``:
after it ``from`` never appears and ``to``'s articles all appeared after ``at_ms``. Noise at ``noise_rate``, labelled:
accidental clicks (an unrelated topic's article, dwell under 3 s), navigational searches, spam posts. The log holds
events before the cutoff (``cutoff_quantile`` of publication times); a user's held-out future clicks (1-10) are
articles of their interests at the cutoff published at or after it (``users.json``'s ``interests`` are those at the
cutoff). Dates without a time of day get a seeded hour of appearance; tweets' own times (another period) are unused.

One ``numpy.random.default_rng(cfg.seed)`` drives every draw, in sorted orders: a seed gives byte-identical files.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from tqdm import tqdm

from models.embeddings import Embedder
from training.config import SimConfig
from training.simfiles import dump, write_events
from training.topics import TOKEN, embed_cached, topic_space

log = logging.getLogger(__name__)

DOMAINS = ("click", "search", "social", "browse")
NOISE_KINDS = ("accidental_click", "navigational_search", "spam_post")
SITES = ("facebook", "gmail", "youtube", "amazon", "netflix", "twitter", "instagram", "outlook", "yahoo mail",
         "weather", "google maps", "linkedin", "ebay", "paypal", "wikipedia", "espn", "craigslist", "hotmail")
NAV_PATTERNS = ("{s}", "{s} login", "{s}.com", "www.{s}.com", "{s} sign in", "{s} news")
SPAM = ("Win a free iPhone, click here {u}", "Crypto giveaway! Send 0.1 BTC and get {n} BTC back {u}",
        "Make ${n}00 a day from home!!! DM me", "Free followers, click the link {u}",
        "Congratulations! You have been selected for a ${n}000 gift card {u}", "Hot singles near you {u}",
        "Lose {n}0 lbs in a week with this one trick {u}", "Earn passive income with our ETH airdrop {u}")
SHARE_TEMPLATES = ("{t}", "Worth a read: {t}", "{t} - what do you think?", "Interesting: {w}", "{w} #news")
COMMENT_TEMPLATES = ("Good piece on {w}", "Thoughts on {w}?", "So true about {w}", "Important: {w}")
ENGINES = ("google", "bing", "duckduckgo", None)
PLATFORMS = ("twitter", "facebook", "reddit", "mastodon")
MIN = 60_000  # one minute in ms
FILES = ("events.jsonl", "labels.parquet", "catalogue.parquet", "article_embeddings.npy", "targets.json",
         "users.json", "topics.json")


def _to_ms(values: pd.Series) -> np.ndarray:
    stamps = pd.to_datetime(values, utc=True)
    return ((stamps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)).to_numpy(np.int64)


def _top_terms(matrix, vocab: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
    """The ``k`` highest-scoring terms of every row of a sparse matrix, ties broken by the term."""
    out = []
    for row in range(matrix.shape[0]):
        lo, hi = matrix.indptr[row], matrix.indptr[row + 1]
        idx, val = matrix.indices[lo:hi], matrix.data[lo:hi]
        order = np.lexsort((vocab[idx], -val))[:k]
        out.append([(str(vocab[idx[i]]), float(val[i])) for i in order])
    return out


class _World:
    """The catalogue, its topics and terms, the tweets per topic, and time windows over them (shared by all users)."""

    def __init__(self, arts: pd.DataFrame, topic: np.ndarray, cutoff: int, cfg: SimConfig, rng: np.random.Generator):
        self.cfg, self.cutoff, self.topic = cfg, cutoff, topic
        self.ids, self.titles = arts["article_id"].tolist(), arts["title"].tolist()
        self.cats = [c if isinstance(c, str) and c else None for c in arts["category"].tolist()]
        self.urls = [u if isinstance(u, str) and u else f"https://{s or 'news.example'}/article/{i}"
                     for u, s, i in zip(arts["url"], arts["source"], self.ids)]
        self.pub = _to_ms(arts["published_at"])
        # "avail": when an article appears; dates without a time of day get a seeded hour between 06:00 and 20:00
        day_only = np.mean(self.pub % 86_400_000 == 0) > 0.9
        self.avail = self.pub + (rng.integers(6 * 60 * MIN, 20 * 60 * MIN, size=len(self.pub)) if day_only else 0)
        news = np.sort(self.avail[self.avail < cutoff])  # users are active when there is news ...
        self.news = news[len(news) // 100:]  # ... from the first percentile on (a few stray old articles)
        self.by_topic = {k: (v := np.flatnonzero(topic == k))[np.argsort(self.avail[v], kind="stable")]
                         for k in range(cfg.n_topics)}
        self.n_pre = {k: int((self.pub[v] < cutoff).sum()) for k, v in self.by_topic.items()}
        self.n_future = {k: len(v) - self.n_pre[k] for k, v in self.by_topic.items()}
        self.eligible = [k for k, v in self.by_topic.items()
                         if len(v) >= cfg.min_topic_articles and self.n_pre[k] >= 3]
        self.future = [k for k in self.eligible if self.n_future[k] >= 1]
        if not self.future:
            raise ValueError("no topic has enough articles both before and after the cutoff: too few articles")
        vec = TfidfVectorizer(stop_words="english", token_pattern=TOKEN, max_df=0.5, min_df=2, sublinear_tf=True)
        tfidf = vec.fit_transform((arts["title"] + " " + arts["body"].fillna("")).tolist()).tocsr()
        vocab = vec.get_feature_names_out()
        self.article_terms = _top_terms(tfidf, vocab, 6)
        means = np.vstack([np.asarray(tfidf[v].mean(axis=0)) if len(v) else np.zeros((1, len(vocab)))
                           for v in self.by_topic.values()])
        self.topic_terms = _top_terms(csr_matrix(means), vocab, 8)
        self.tweets: list[tuple[str, str]] = []
        self.tweets_by_topic: dict[int, list[int]] = {}
        self.outlets = sorted({max(s.split(".")[:-1] or [s], key=len)  # "abcnews.go.com" -> "abcnews"
                               for s in arts["source"].dropna().astype(str).str.lower() if s})

    def window(self, k: int, lo: int, hi: int) -> np.ndarray:
        """Article indices of topic ``k`` available in ``[lo, hi)`` (in order of appearance)."""
        idx = self.by_topic[k]
        avail = self.avail[idx]
        return idx[np.searchsorted(avail, lo):np.searchsorted(avail, hi)]

    def news_time(self, q: float) -> int:
        """The ``q`` quantile of the appearance times of the articles before the cutoff (time measured in news)."""
        return int(self.news[min(int(q * len(self.news)), len(self.news) - 1)])


def _pick_recent(rng: np.random.Generator, w: _World, cands: np.ndarray, t: int) -> int:
    age_days = (t - w.avail[cands]) / 86_400_000
    p = np.exp(-(age_days - age_days.min()) / w.cfg.recency_days)
    return int(cands[rng.choice(len(cands), p=p / p.sum())])


def _loguniform(rng: np.random.Generator, lo: float, hi: float) -> int:
    return int(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _words(rng: np.random.Generator, title: str) -> str:
    words = re.findall(r"[A-Za-z0-9']+", title)
    n = min(len(words), int(rng.integers(3, 6)))
    start = int(rng.integers(0, len(words) - n + 1)) if words else 0
    return " ".join(words[start:start + n]).lower()


def _pick(rng: np.random.Generator, items: tuple | list):
    return items[int(rng.integers(len(items)))]


def _query(rng: np.random.Generator, terms: list[tuple[str, float]]) -> str:
    """2-4 of the terms, drawn by score, kept in score order."""
    scores = np.array([score for _, score in terms]) + 1e-9
    k = min(len(terms), int(rng.integers(2, 5)))
    chosen = rng.choice(len(terms), size=k, replace=False, p=scores / scores.sum())
    return " ".join(terms[i][0] for i in np.sort(chosen))


class _User:
    """Draws one user's profile, event log and future clicks."""

    def __init__(self, rng: np.random.Generator, w: _World, cold: bool, drift: bool):
        cfg, self.rng, self.w = w.cfg, rng, w
        n_int = int(rng.integers(cfg.interests_min, cfg.interests_max + 1))
        primary = int(rng.choice(w.future))
        rest = [k for k in w.eligible if k != primary]
        self.interests = [primary] + [int(k) for k in rng.choice(rest, size=min(n_int - 1, len(rest)), replace=False)]
        self.weights = rng.dirichlet([cfg.interest_alpha] * len(self.interests))
        self.domains = rng.dirichlet(cfg.domain_alpha)
        n = rng.lognormal(math.log(cfg.events_per_user) - 0.18, 0.6)  # mean events_per_user
        if cold:
            self.domains[0] = 0.02
            self.domains /= self.domains.sum()
            self.start, n = w.news_time(rng.uniform(0.75, 0.95)), n / 2  # new users: short and recent
            self.max_clicks = int(rng.integers(0, 3))
        else:
            self.start, self.max_clicks = w.news_time(rng.uniform(0.0, 0.6)), 10**9
        self.n = max(3 if cold else 5, int(round(n)))
        self.drift: dict | None = None
        if drift:
            q0 = np.searchsorted(w.news, self.start) / len(w.news)
            at = w.news_time(q0 + (1 - q0) * rng.uniform(0.35, 0.7))
            cands = [k for k in w.future if k not in self.interests and len(w.window(k, at, w.cutoff)) >= 3]
            if cands:
                slot = int(rng.choice(len(self.interests), p=self.weights))
                self.drift = {"from": self.interests[slot], "to": int(rng.choice(cands)), "at_ms": at, "slot": slot}
        self.clicked: set[int] = set()  # never clicked twice (noise clicks included)
        self.seen: set[int] = set()  # clicked or browsed: browsing prefers new pages
        self.n_clicks = 0

    def current(self, t: int) -> list[int]:
        """The interests at event time ``t`` (after the drift point the new topic replaces the old)."""
        out = list(self.interests)
        if self.drift and t >= self.drift["at_ms"]:
            out[self.drift["slot"]] = self.drift["to"]
        return out

    def _articles(self, k: int, t: int, exclude: set[int] | None = None) -> np.ndarray:
        lo = self.drift["at_ms"] if self.drift and k == self.drift["to"] else 0
        cands = self.w.window(k, lo, t - MIN)
        return np.array([a for a in cands if a not in exclude], dtype=np.int64) if exclude is not None else cands

    def _after_pub(self, a: int, t: int) -> int:
        """Publication time plus a delay of minutes to hours, never later than the slot time ``t``."""
        return int(min(t, self.w.avail[a] + _loguniform(self.rng, 2 * MIN, 8 * 60 * MIN)))

    def events(self) -> list[tuple[int, str, dict, str | None, int]]:
        """``(ts, type, record, noise kind or None, topic or -1)`` for every event of the log (before the cutoff)."""
        rng, w = self.rng, self.w
        # each slot follows a random piece of news of the user's period by minutes to a day
        news = w.news[np.searchsorted(w.news, self.start):]
        base = news[rng.integers(len(news), size=self.n)]
        delay = np.exp(rng.uniform(math.log(MIN), math.log(24 * 60 * MIN), size=self.n)).astype(np.int64)
        times = np.where(base + delay < w.cutoff, base + delay, base + (w.cutoff - base) * rng.random(self.n))
        return [self._noise(t) if rng.random() < w.cfg.noise_rate else self._signal(t)
                for t in np.sort(times.astype(np.int64)).tolist()]

    def _signal(self, t: int):
        k = int(self.rng.choice(self.current(t), p=self.weights))
        return getattr(self, "_" + DOMAINS[int(self.rng.choice(4, p=self.domains))])(k, t)

    def _click(self, k: int, t: int):
        cands = self._articles(k, t, self.clicked) if self.n_clicks < self.max_clicks else np.zeros(0)
        if not len(cands):
            return self._browse(k, t)
        a = _pick_recent(self.rng, self.w, cands, t)
        return self._after_pub(a, t), "click", self._clicked(a, _loguniform(self.rng, 20_000, 300_000)), None, k

    def _clicked(self, a: int, dwell_ms: int) -> dict:
        self.clicked.add(a)
        self.seen.add(a)
        self.n_clicks += 1
        w = self.w
        return {"article_id": w.ids[a], "title": w.titles[a], "category": w.cats[a], "dwell_ms": dwell_ms}

    def _browse(self, k: int, t: int):
        cands = self._articles(k, t, self.seen)  # a page not seen yet, else a revisit
        cands = cands if len(cands) else self._articles(k, t)
        if not len(cands):
            return self._search(k, t)
        a, rng = _pick_recent(self.rng, self.w, cands, t), self.rng
        self.seen.add(a)
        rec = {"url": self.w.urls[a], "title": self.w.titles[a] if rng.random() > 0.2 else None,
               "dwell_ms": _loguniform(rng, 5_000, 300_000) if rng.random() > 0.1 else None}
        return self._after_pub(a, t), "browse", rec, None, k

    def _search(self, k: int, t: int):
        cands, rng = self._articles(k, t), self.rng
        terms = self.w.article_terms[_pick_recent(rng, self.w, cands, t)] if len(cands) else []
        query = _query(rng, terms if len(terms) >= 2 else self.w.topic_terms[k])
        return t, "search", {"query": query, "engine": _pick(rng, ENGINES)}, None, k

    def _social(self, k: int, t: int):
        rng, w = self.rng, self.w
        action = ("SHARE", "LIKE", "POST", "COMMENT")[int(rng.choice(4, p=[0.35, 0.3, 0.2, 0.15]))]
        tweets = w.tweets_by_topic.get(k, [])
        if action in ("LIKE", "POST") and tweets:
            tweet_id, text = w.tweets[_pick(rng, tweets)]
            rec = {"action": action, "platform": "twitter", "text": text,
                   "target_id": tweet_id if action == "LIKE" else None}
            return t, "social", rec, None, k
        cands = self._articles(k, t)
        if not len(cands):
            return self._search(k, t)
        a = _pick_recent(rng, w, cands, t)
        templates = COMMENT_TEMPLATES if action == "COMMENT" else SHARE_TEMPLATES
        text = _pick(rng, templates).format(t=w.titles[a], w=_words(rng, w.titles[a]))
        rec = {"action": "COMMENT" if action == "COMMENT" else "SHARE", "platform": _pick(rng, PLATFORMS),
               "text": text, "target_id": w.ids[a]}
        return t, "social", rec, None, k

    def _noise(self, t: int):
        rng, w = self.rng, self.w
        kinds = NOISE_KINDS if self.n_clicks < self.max_clicks else NOISE_KINDS[1:]
        kind = _pick(rng, kinds)
        if kind == "accidental_click":
            mine = set(self.interests) | ({self.drift["to"]} if self.drift else set())
            for _ in range(20):
                a = int(rng.integers(len(w.ids)))
                if w.avail[a] < t - MIN and int(w.topic[a]) not in mine and a not in self.clicked:
                    return t, "click", self._clicked(a, int(rng.integers(300, 3000))), kind, -1
            kind = "navigational_search"
        if kind == "navigational_search":
            query = _pick(rng, NAV_PATTERNS).format(s=_pick(rng, SITES + tuple(w.outlets)))
            return t, "search", {"query": query, "engine": _pick(rng, ENGINES)}, kind, -1
        url = f"https://bit.ly/{''.join(rng.choice(list('abcdefghjkmnpqrstuvwxyz23456789'), size=6))}"
        text = _pick(rng, SPAM).format(u=url, n=int(rng.integers(2, 10)))
        rec = {"action": "POST" if rng.random() < 0.7 else "COMMENT", "platform": _pick(rng, PLATFORMS),
               "text": text, "target_id": None}
        return t, "social", rec, kind, -1

    def targets(self) -> list[int]:
        """Held-out future clicks: articles of the interests at the cutoff published at or after it, in time order."""
        w, rng = self.w, self.rng
        cands, probs = [], []
        for k, weight in zip(self.current(w.cutoff), self.weights):
            future = w.window(k, w.cutoff, np.iinfo(np.int64).max).tolist()
            cands, probs = cands + future, probs + [weight / max(len(future), 1)] * len(future)
        n = min(w.cfg.max_targets, len(cands), 1 + int(rng.poisson(w.cfg.mean_targets)))
        p = np.array(probs) / sum(probs)
        return sorted(rng.choice(np.array(cands), size=n, replace=False, p=p).tolist(), key=lambda a: (w.avail[a], a))


def _prepare_tweets(w: _World, tweets: pd.DataFrame, vectorise, centroids: np.ndarray,
                    rng: np.random.Generator) -> int:
    """Vectorise a seeded sample of the tweets in the topic space and attach each to its nearest topic when close
    enough."""
    text = tweets["text"].astype(str).str.replace(r"https?://\S+|^RT @\w+:\s*", " ", regex=True)  # links, RT prefix
    text = text.str.replace(r"\s+", " ", regex=True).str.strip()
    tw = tweets.assign(text=text, tweet_id=tweets["tweet_id"].astype(str))
    tw = tw[tw["text"].str.len() >= 15].drop_duplicates("text").sort_values(["tweet_id", "text"], kind="stable")
    if len(tw) > w.cfg.max_tweets:
        tw = tw.iloc[np.sort(rng.choice(len(tw), size=w.cfg.max_tweets, replace=False))]
    if not len(tw):
        return 0
    w.outlets = sorted(set(w.outlets) | set(tw["outlet"].dropna().astype(str).str.lower()))
    vectors = vectorise(tw["text"].tolist(), "tweets")
    sims = vectors @ centroids.T
    nearest, best = sims.argmax(axis=1), sims.max(axis=1)
    for (tweet_id, text), k, s in zip(zip(tw["tweet_id"], tw["text"]), nearest, best):
        if s >= (w.cfg.tweet_min_cosine if w.cfg.topics == "embedding" else w.cfg.lexical_tweet_min_cosine):
            w.tweets_by_topic.setdefault(int(k), []).append(len(w.tweets))
            w.tweets.append((tweet_id, text))
    return len(w.tweets)


def simulate(articles: pd.DataFrame, tweets: pd.DataFrame, embedder: Embedder, cfg: SimConfig,
             out_dir: Path) -> dict:
    """Simulate ``cfg.n_users`` users over ``articles`` and ``tweets`` and write the benchmark files to ``out_dir``.

    Returns the summary written to ``meta.json`` (seed, config, counts per type and noise kind, cutoff, files).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(cfg.seed)
    arts = articles.dropna(subset=["title", "published_at"]).copy()
    arts["article_id"] = arts["article_id"].astype(str)
    arts["body"] = arts["body"].fillna("").astype(str)
    arts["_ms"] = _to_ms(arts["published_at"])
    arts = arts.sort_values(["_ms", "article_id"], kind="stable").drop(columns="_ms").reset_index(drop=True)
    emb = embed_cached(embedder, (arts["title"] + ". " + arts["body"].str[:200]).tolist(), "articles")
    space, vectorise = topic_space(arts, emb, embedder, cfg)
    km = KMeans(n_clusters=cfg.n_topics, n_init=4, random_state=cfg.seed).fit(space)
    topic = km.labels_.astype(np.int64)
    centroids = km.cluster_centers_ / np.maximum(np.linalg.norm(km.cluster_centers_, axis=1, keepdims=True), 1e-12)
    cutoff = int(np.quantile(_to_ms(arts["published_at"]), cfg.cutoff_quantile, method="lower"))  # a real date
    w = _World(arts, topic, cutoff, cfg, rng)
    n_tweets = _prepare_tweets(w, tweets, vectorise, centroids.astype(np.float32), rng)
    log.info("%s topics: %d articles in %d topics (%d eligible, %d with future articles), %d tweets attached, "
             "cutoff %s",
             cfg.topics, len(arts), cfg.n_topics, len(w.eligible), len(w.future), n_tweets,
             pd.Timestamp(cutoff, unit="ms"))

    rows, users, targets, cold, test = _draw_users(w, cfg, rng, cutoff)
    by_type, by_noise = write_events(out_dir / "events.jsonl", out_dir / "labels.parquet", rows, users)
    arts.assign(topic=topic).to_parquet(out_dir / "catalogue.parquet", index=False)
    np.save(out_dir / "article_embeddings.npy", emb.astype(np.float32))
    dump(out_dir / "targets.json", targets)
    dump(out_dir / "users.json", users)
    dump(out_dir / "topics.json", {str(k): {
        "size": len(w.by_topic[k]), "terms": [term for term, _ in w.topic_terms[k]], "n_before_cutoff": w.n_pre[k],
        "n_after_cutoff": w.n_future[k], "n_tweets": len(w.tweets_by_topic.get(k, []))} for k in range(cfg.n_topics)})
    n_targets = [len(v) for v in targets.values()]
    meta = {"seed": cfg.seed, "config": dataclasses.asdict(cfg), "embedder": embedder.name, "n_users": cfg.n_users,
            "n_events": len(rows), "counts": dict(sorted(by_type.items())),
            "noise_kinds": dict(sorted(by_noise.items())), "noise_share": round(1 - by_noise["none"] / len(rows), 4),
            "n_cold": len(cold), "n_drift": sum(u["drift"] is not None for u in users.values()),
            "n_test_users": len(test), "cutoff": pd.Timestamp(cutoff, unit="ms", tz="UTC").isoformat(),
            "cutoff_ms": cutoff, "n_articles": len(arts), "n_tweets_attached": n_tweets,
            "targets": {"total": sum(n_targets), "mean": round(float(np.mean(n_targets)), 3),
                        "min": min(n_targets), "max": max(n_targets)},
            "files": [*FILES, "meta.json"]}
    dump(out_dir / "meta.json", meta)
    log.info("wrote %d events for %d users to %s", len(rows), cfg.n_users, out_dir)
    return meta


def _draw_users(w: _World, cfg: SimConfig, rng: np.random.Generator, cutoff: int):
    """Every simulated user's events, profile and held-out next clicks: ``(rows, users, targets, cold, test)``,
    rows sorted by (time, user, sequence)."""
    uids = [f"u{i:05d}" for i in range(cfg.n_users)]
    order = rng.permutation(cfg.n_users)
    n_cold = int(round(cfg.cold_share * cfg.n_users))
    cold = set(order[:n_cold].tolist())
    drifting = set(order[n_cold:n_cold + int(round(cfg.drift_share * cfg.n_users))].tolist())
    test = set(rng.permutation(cfg.n_users)[:int(round(cfg.test_share * cfg.n_users))].tolist())
    rows, users, targets = [], {}, {}
    for i, uid in enumerate(tqdm(uids, desc="simulate users", unit="user")):
        user = _User(rng, w, i in cold, i in drifting)
        for seq, (ts, kind, rec, noise, k) in enumerate(user.events()):
            rows.append((ts, uid, seq, kind, rec, noise, k))
        targets[uid] = [w.ids[a] for a in user.targets()]
        drift = {key: user.drift[key] for key in ("from", "to", "at_ms")} if user.drift else None
        users[uid] = {"interests": [{"topic": k, "weight": round(float(x), 4)}
                                    for k, x in zip(user.current(cutoff), user.weights)],
                      "domains": {d: round(float(x), 4) for d, x in zip(DOMAINS, user.domains)},
                      "cold": i in cold, "drift": drift, "split": "test" if i in test else "train", "n_events": 0}
    rows.sort(key=lambda r: r[:3])
    return rows, users, targets, cold, test
