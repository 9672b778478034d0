"""The benchmark simulator on a small synthetic corpus (10 obvious topics, hashing embedder): determinism and the
invariants the evaluation relies on (cutoff, targets, cold and drifting users, labelled noise, Avro-valid lines)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.embeddings import HashEmbedder
from schemas import default_codec
from streams.replay import to_message
from training.config import SimConfig
from training.simulate import simulate

TOPIC_WORDS = {
    "football": "striker goal league referee stadium midfielder penalty transfer",
    "vaccines": "vaccine measles immunization outbreak dose clinic pediatric antibodies",
    "oil": "crude opec barrel refinery pipeline drilling shale petroleum",
    "elections": "ballot voters polling campaign candidate primary turnout electoral",
    "space": "rocket orbit astronaut nasa satellite launch lunar telescope",
    "courts": "judge ruling appeals lawsuit supreme verdict attorney injunction",
    "tech": "smartphone chip software startup silicon processor app cloud",
    "weather": "storm blizzard snowfall hurricane forecast flooding tornado rainfall",
    "housing": "mortgage rent housing landlord tenants realtor foreclosure zoning",
    "music": "album concert singer grammy guitar tour band festival",
}
FILLER = "today report new said year week people".split()
SMALL = dict(n_users=60, events_per_user=40, n_topics=10, max_tweets=500)


def synthetic_articles(n_per_topic: int = 20, seed: int = 1) -> pd.DataFrame:
    """``n_per_topic`` articles per topic over Dec 2016 - Mar 2017, in the shape of ``corpus.load_articles()``."""
    rng = np.random.default_rng(seed)
    start, span = pd.Timestamp("2016-12-01", tz="UTC"), pd.Timedelta(days=110)
    rows = []
    for t, (name, words) in enumerate(TOPIC_WORDS.items()):
        vocab = words.split()
        for j in range(n_per_topic):
            title = " ".join(rng.choice(vocab, size=4, replace=False)).capitalize() + " " + rng.choice(FILLER)
            body = " ".join(rng.choice(vocab + FILLER, size=40))
            rows.append({"article_id": f"a{t:02d}{j:03d}", "title": title, "body": body, "category": name,
                         "published_at": start + span * float(rng.random()),
                         "url": f"https://news.example/{name}/{j}", "source": "news.example"})
    return pd.DataFrame(rows)


def synthetic_tweets(n: int = 300, seed: int = 2) -> pd.DataFrame:
    """Health-news-like tweets about the same topics, in the shape of ``corpus.load_tweets()``."""
    rng = np.random.default_rng(seed)
    names = list(TOPIC_WORDS)
    rows = []
    for i in range(n):
        vocab = TOPIC_WORDS[names[i % len(names)]].split()
        text = " ".join(rng.choice(vocab, size=5, replace=False)) + f" http://t.co/x{i}"
        rows.append({"tweet_id": str(1000 + i), "outlet": "bbchealth", "text": text,
                     "created_at": pd.Timestamp("2015-01-01", tz="UTC") + pd.Timedelta(hours=i)})
    return pd.DataFrame(rows)


def run_sim(out: Path, day_only: bool = False, **overrides) -> dict:
    """Simulate the synthetic corpus; ``day_only`` drops the time of day of publication (as the real corpus does)."""
    articles = synthetic_articles()
    if day_only:
        articles["published_at"] = articles["published_at"].dt.floor("D")
    return simulate(articles, synthetic_tweets(), HashEmbedder(), SimConfig(**{**SMALL, **overrides}), out)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERESTS_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module", params=[False, True], ids=["timestamps", "dates-only"])
def sim(request, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INTERESTS_CACHE", str(out / "cache"))
        run_sim(out / "data", day_only=request.param)
    return out / "data"


def load(sim: Path):
    events = [json.loads(line) for line in (sim / "events.jsonl").read_text().splitlines()]
    return (events, pd.read_parquet(sim / "labels.parquet"), json.loads((sim / "users.json").read_text()),
            json.loads((sim / "targets.json").read_text()), json.loads((sim / "meta.json").read_text()))


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    run_sim(tmp_path / "a")
    run_sim(tmp_path / "b")
    run_sim(tmp_path / "c", seed=1)
    a, b, c = ((tmp_path / d / "events.jsonl").read_bytes() for d in "abc")
    assert a == b
    assert a != c
    for name in ("targets.json", "users.json", "topics.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_files_and_meta(sim):
    events, labels, users, targets, meta = load(sim)
    for name in meta["files"]:
        assert (sim / name).exists(), name
    catalogue = pd.read_parquet(sim / "catalogue.parquet")
    emb = np.load(sim / "article_embeddings.npy")
    assert emb.dtype == np.float32 and emb.shape[0] == len(catalogue) == 200
    assert set(catalogue["topic"]) <= set(range(10))
    assert meta["n_users"] == len(users) == len(targets) == 60
    assert sum(meta["counts"].values()) == len(events)
    assert 0.6 * 2400 < len(events) < 1.4 * 2400
    assert set(meta["counts"]) == {"click", "search", "social", "browse"}
    assert sum(u["n_events"] for u in users.values()) == len(events)
    assert Counter(u["split"] for u in users.values())["test"] == 12


def test_every_line_is_a_valid_message_sorted_with_exact_fields(sim):
    events, labels, *_ = load(sim)
    codec = default_codec()
    for row in events:
        kind, user, value = to_message(codec, row)
        subject, decoded = codec.decode(value)
        assert set(decoded) == set(row) - {"type"}
    keys = [(e["ts"], e["event_id"]) for e in events]
    assert keys == sorted(keys)
    assert len({e["event_id"] for e in events}) == len(events)
    assert list(labels.columns) == ["event_id", "user_id", "noise", "noise_kind", "topic"]
    assert set(labels["event_id"]) == {e["event_id"] for e in events}


def test_cutoff_targets_and_publication_order(sim):
    events, _, users, targets, meta = load(sim)
    cutoff = meta["cutoff_ms"]
    catalogue = pd.read_parquet(sim / "catalogue.parquet").set_index("article_id")
    pub = {a: int(t.timestamp() * 1000) for a, t in catalogue["published_at"].items()}
    url_pub = {u: pub[a] for a, u in catalogue["url"].items()}
    assert all(e["ts"] < cutoff for e in events)
    hours = Counter(e["ts"] // 3_600_000 % 24 for e in events)
    assert len(hours) >= 18, "events should spread over the day even when articles carry only a date"
    clicked: dict[str, list[str]] = {}
    for e in events:
        if e["type"] == "click":
            assert e["ts"] > pub[e["article_id"]]
            clicked.setdefault(e["user_id"], []).append(e["article_id"])
        if e["type"] == "browse":
            assert e["ts"] > url_pub[e["url"]]
    for user, mine in clicked.items():
        assert len(mine) == len(set(mine)), f"{user} clicked an article twice"
    for user, future in targets.items():
        assert 1 <= len(future) <= 10
        assert all(pub[a] >= cutoff for a in future)
        assert not set(future) & set(clicked.get(user, []))
        assert [pub[a] for a in future] == sorted(pub[a] for a in future)
        topics = {i["topic"] for i in users[user]["interests"]}
        assert {int(catalogue.loc[a, "topic"]) for a in future} <= topics


def test_cold_users_have_at_most_two_clicks_but_other_signals(sim):
    events, _, users, _, meta = load(sim)
    cold = {u for u, info in users.items() if info["cold"]}
    assert len(cold) == meta["n_cold"] == 9
    per_user = Counter((e["user_id"], e["type"]) for e in events)
    for user in cold:
        assert per_user[(user, "click")] <= 2
        assert sum(per_user[(user, k)] for k in ("search", "social", "browse")) >= 1


def test_noise_is_labelled_and_near_the_configured_rate(sim):
    events, labels, *_ = load(sim)
    share = labels["noise"].mean()
    assert 0.025 < share < 0.09
    noisy = labels[labels["noise"]]
    assert noisy["noise_kind"].notna().all() and (noisy["topic"] == -1).all()
    assert set(noisy["noise_kind"]) == {"accidental_click", "navigational_search", "spam_post"}
    clean = labels[~labels["noise"]]
    assert clean["noise_kind"].isna().all() and (clean["topic"] >= 0).all()
    by_id = {e["event_id"]: e for e in events}
    for event_id, kind in zip(noisy["event_id"], noisy["noise_kind"]):
        event = by_id[event_id]
        expected = {"accidental_click": "click", "navigational_search": "search", "spam_post": "social"}[kind]
        assert event["type"] == expected
        if kind == "accidental_click":
            assert event["dwell_ms"] < 3000
    for event_id in clean["event_id"]:
        if by_id[event_id]["type"] == "click":
            assert 20_000 <= by_id[event_id]["dwell_ms"] <= 300_000


def test_drifting_users_move_to_the_new_topic(sim):
    events, labels, users, *_ = load(sim)
    drifting = {u: info["drift"] for u, info in users.items() if info["drift"]}
    assert len(drifting) >= 8
    topic = dict(zip(labels["event_id"], labels["topic"]))
    late_new = late_old = early_old = 0
    for e in events:
        drift = drifting.get(e["user_id"])
        if drift is None:
            continue
        k = topic[e["event_id"]]
        if e["ts"] >= drift["at_ms"]:
            late_new += k == drift["to"]
            late_old += k == drift["from"]
        else:
            early_old += k == drift["from"]
            assert k != drift["to"]
    assert late_new > late_old and late_old == 0 and early_old > 0
    for info in drifting.values():
        assert info["from"] != info["to"]


def test_lexical_topics_are_clusters_of_words_not_of_the_retrieval_embedding(tmp_path):
    """``topics="lexical"``: the users' topics (and so the ground truth) come from TF-IDF + SVD of the articles, not
    from the embedder the retriever uses: a constant embedder, which cannot tell topics apart, changes nothing."""

    class Constant(HashEmbedder):
        """FAKE embedder: every text gets the same vector (no topic information in the retrieval space)."""

        def embed(self, texts):
            return np.ones((len(texts), self.dim), np.float32) / np.sqrt(self.dim)

    articles, tweets = synthetic_articles(), synthetic_tweets()
    cfg = SimConfig(**{**SMALL, "topics": "lexical", "lexical_dims": 12})
    meta = simulate(articles, tweets, Constant(), cfg, tmp_path / "lex")
    again = simulate(articles, tweets, HashEmbedder(), cfg, tmp_path / "lex2")
    assert meta["config"]["topics"] == "lexical"
    assert (tmp_path / "lex" / "events.jsonl").read_bytes() == (tmp_path / "lex2" / "events.jsonl").read_bytes()
    catalogue = pd.read_parquet(tmp_path / "lex" / "catalogue.parquet")
    purity = catalogue.groupby("topic")["category"].agg(lambda c: c.value_counts().iloc[0] / len(c))
    assert purity.mean() > 0.9  # the ten synthetic word topics are found from the words alone
    assert meta["n_tweets_attached"] > 0


def test_an_unknown_topic_space_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown topic space"):
        simulate(synthetic_articles(), synthetic_tweets(), HashEmbedder(), SimConfig(**{**SMALL, "topics": "x"}),
                 tmp_path / "x")
