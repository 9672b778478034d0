"""The reference ranker end to end on a small simulated benchmark: feature rows written to and read back from a real
Feast offline store at the impression time (the rows written after it never reach the training set), candidates,
two LightGBM rankers on the same candidates, and their evaluation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from models import ranker as rk
from models.embeddings import HashEmbedder
from tests.training.test_simulate import run_sim
from training import ranker as tr
from training.evaluate import Benchmark


@pytest.fixture(scope="module")
def small_bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("ranker-bench")
    run_sim(root, n_users=160, events_per_user=30)
    return Benchmark.load(root)


@pytest.fixture(scope="module")
def report(small_bench, tmp_path_factory):
    work = tmp_path_factory.mktemp("ranker-work")
    return tr.measure(small_bench, "keyphrase", HashEmbedder(), work, eval_users=40, train_users=100), work


def test_the_rankers_train_on_the_offline_stores_rows_and_are_scored_per_group(report):
    out, work = report
    assert out["train_users"] >= 50 and out["test_users"] >= 20
    rows = out["rows"]
    for name in tr.ROWS:
        entry = rows[name]["all"]
        mean, low, high = entry["ndcg@10"]
        assert 0.0 <= low <= mean <= high <= 1.0
        assert 0.0 < entry["ctr@5"][0] < 1.0
    for name in ("ranker + queries", "ranker without queries"):
        assert 0.5 < rows[name]["all"]["auc"][0] <= 1.0  # the scores separate next clicks from the rest
    lift = rows["lift (with - without queries)"]["all"]["ndcg@10"]
    assert lift[1] <= lift[0] <= lift[2]
    # the simulator knows each user's true topics: the share of a top 5 on them, and its paired lift
    for name in tr.ROWS:
        mean, low, high = rows[name]["all"][tr.ON_INTEREST]
        assert 0.0 <= low <= mean <= high <= 1.0
    assert rows["ranker + queries"]["all"][tr.ON_INTEREST][0] > 0.2  # a trained ranker's top 5 is mostly on topic
    assert tr.ON_INTEREST in rows["lift (with - without queries)"]["cold"]
    best = rows["over the best channel"]
    assert best["channel"] in tr.UNRANKED
    per = out["per_user"]
    assert best["all"]["ndcg@10"][0] == pytest.approx(np.mean([r["ndcg@10"] for r in per["ranker + queries"]])
                                                     - np.mean([r["ndcg@10"] for r in per[best["channel"]]]))
    # the queries are searched by their words too (hybrid), so the rankers with them read the word features
    assert set(out["feature_gain"]["ranker + queries"]) == set(rk.BASE_FEATURES + rk.QUERY_FEATURES + rk.WORD_FEATURES
                                                               + rk.USER_FEATURES)
    assert set(out["feature_gain"]["ranker + queries, no activity"]) == set(rk.BASE_FEATURES + rk.QUERY_FEATURES
                                                                            + rk.WORD_FEATURES)
    assert set(out["feature_gain"]["ranker without queries"]) == set(rk.BASE_FEATURES + rk.USER_FEATURES)
    assert len(out["per_user"]["ranker + queries"]) == out["test_users"]
    json.dumps({k: v for k, v in out.items() if k != "per_user"})  # the report is plain JSON


def test_the_training_set_is_read_point_in_time_from_the_offline_store(small_bench, report):
    from feature_repo.config import FeatureStoreConfig
    from feature_repo.store import open_store

    out, work = report
    cfg = FeatureStoreConfig(data_dir=work / "feast")
    store = open_store(cfg)
    at = tr.impression_ms(small_bench)
    users = [r["user_id"] for r in out["per_user"]["ranker + queries"]][:10]
    before = tr.read_at(store, cfg, users, at)
    assert all(r["model_version"] != tr.LEAK_VERSION and r["queries"] is not None for r in before.values())
    for user, row in before.items():  # the history's activity travels with the row
        assert row["history_length"] == len(small_bench.histories[user]) > 0
        shares = [row[f"{d}_share"] for d in ("click", "search", "social", "browse")]
        assert sum(shares) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(AssertionError, match="after the impression"):  # later, the leak rows are what was current
        tr.read_at(store, cfg, users, at + 2 * 3_600_000)
    assert tr.read_at(store, cfg, users, at - 3_600_000)[users[0]]["queries"] is None  # nothing written yet


def test_a_saved_ranker_loads_and_ranks_a_feature_row_with_reasons(small_bench, report):
    _, work = report
    ranker = rk.Ranker.load(work / "ranker")
    assert ranker.with_queries and ranker.meta["generator"] == "keyphrase"
    news = rk.NewsIndex.from_folder(small_bench.root, ranker.popularity)
    embedder = HashEmbedder()
    queries = ["vaccine measles outbreak", "rocket launch orbit"]
    row = {"interest_vector": embedder.embed(["vaccine clinic dose"])[0].tolist(), "queries": queries,
           "query_embeddings": embedder.embed(queries).tolist()}
    top = ranker.rank(news, row, tr.impression_ms(small_bench), k=60)
    assert len(top) == 60 and [t.score for t in top] == sorted((t.score for t in top), reverse=True)
    assert all(t.channels for t in top)
    by_queries = [t for t in top if "queries" in t.channels]
    assert by_queries and all(t.query in queries and repr(t.query) in t.reason() for t in by_queries)
    assert ranker.rank(news, {"interest_vector": None}, 0) == []
    other = {"interest_vector": embedder.embed(["rocket orbit"])[0].tolist(), "queries": None,
             "query_embeddings": None}
    many = ranker.rank_many(news, [row, {"interest_vector": None}, other, row], tr.impression_ms(small_bench), k=60)
    one_by_one = [ranker.rank(news, r, tr.impression_ms(small_bench), k=60) for r in (row, {}, other, row)]
    assert [[(t.article_id, t.channels, t.query) for t in ranked] for ranked in many] == \
        [[(t.article_id, t.channels, t.query) for t in ranked] for ranked in one_by_one]
    for batched, alone in zip(many, one_by_one):
        assert [t.score for t in batched] == pytest.approx([t.score for t in alone])
    as_arrays = {k: np.asarray(v) for k, v in row.items()}  # the shape an offline-store frame gives
    assert [t.article_id for t in ranker.rank(news, as_arrays, tr.impression_ms(small_bench), k=60)] == \
        [t.article_id for t in top]
    # trained on the hybrid query search, it needs the news index's word index to gather the same candidates
    assert ranker.query_search == "hybrid" and ranker.meta["query_search"] == "hybrid" and news.lexical is not None
    assert ranker.words and set(rk.WORD_FEATURES) <= set(ranker.feature_names())
    with pytest.raises(rk.RankerError, match="word index"):
        ranker.rank(rk.NewsIndex(news.index, news.published_ms), row, 0)


def test_the_ranker_is_compared_per_user_with_the_best_unranked_list():
    def users(values, groups=("cold", "warm", "warm", "drift")):
        return [{"user_id": f"u{i}", "group": g, "ndcg@10": v, "ctr@5": 0.5} for i, (v, g) in
                enumerate(zip(values, groups))]

    per_user = {"ranker + queries": users([0.5, 0.4, 0.3, 0.2]), "centroid": users([0.1, 0.1, 0.1, 0.1]),
                "queries": users([0.2, 0.5, 0.1, 0.4]), "centroid + queries (RRF)": users([0.2, 0.2, 0.2, 0.2])}
    out = tr.over_best_channel(per_user)
    assert tr.ON_INTEREST not in out["all"]  # a benchmark without true topics (MIND) has no on-interest share
    assert out["channel"] == "queries"  # the highest mean NDCG@10 over all users (0.3)
    assert out["all"]["ndcg@10"][0] == pytest.approx(0.05)  # (0.3 - 0.1 + 0.2 - 0.2) / 4, paired
    assert out["cold"]["ndcg@10"][0] == pytest.approx(0.3) and out["warm"]["ndcg@10"][0] == pytest.approx(0.05)
    assert out["all"]["ctr@5"][0] == pytest.approx(0.0)


def test_gather_unions_the_channels_and_features_have_the_named_columns():
    from models.retrieval import ArticleIndex

    vectors = np.eye(6, dtype=np.float32)
    news = rk.NewsIndex(ArticleIndex([f"a{i}" for i in range(6)], vectors), {f"a{i}": 0 for i in range(6)},
                        {"a1": 2.0})
    cands = rk.gather(news, vectors[0] + 0.1 * vectors[1], [vectors[3]], depth=2, exclude={"a2"})
    assert cands.ids[:2] == ["a0", "a1"] and "a3" in cands.ids and "a2" not in cands.ids
    i3 = cands.ids.index("a3")
    assert cands.channels_of(i3) == ["queries"] and cands.channels_of(0) == ["centroid"]
    x = rk.features(news, cands, now_ms=3_600_000, with_queries=True, context=True)
    names = rk.feature_names(with_queries=True, context=True)
    assert x.shape == (len(cands.ids), len(names))
    assert x[0, names.index("age_hours")] == pytest.approx(1.0)
    assert x[1, names.index("log_popularity")] == 2.0 and x[0, names.index("log_popularity")] == 0.0
    assert x[i3, names.index("rank_queries")] == 1 and x[0, names.index("rank_queries")] == rk.MISSING_RANK
    assert rk.features(news, cands, 0, with_queries=False).shape[1] == len(rk.BASE_FEATURES)
    row = {"history_length": 4, "click_share": 0.25, "search_share": 0.75, "social_share": 0.0, "browse_share": None}
    with_user = rk.features(news, cands, 0, with_queries=False, row=row)
    names = rk.feature_names(with_queries=False, user=True)
    assert with_user.shape == (len(cands.ids), len(names)) and names[-len(rk.USER_FEATURES):] == list(rk.USER_FEATURES)
    assert (with_user[:, names.index("history_length")] == 4).all()
    assert (with_user[:, names.index("search_share")] == 0.75).all()
    assert np.isnan(with_user[:, names.index("browse_share")]).all()  # unknown: missing to LightGBM, not zero
    # the query texts add their word search: a5's title matches the query's words, its vector matches nothing
    from models.lexical import LexicalIndex

    worded = rk.NewsIndex(news.index, news.published_ms, lexical=LexicalIndex(
        [f"a{i}" for i in range(6)], ["", "", "", "", "", "measles vaccine clinic"]))
    dense_only = rk.gather(worded, vectors[0], [vectors[3]], depth=2)
    hybrid = rk.gather(worded, vectors[0], [vectors[3]], depth=2, queries=["measles vaccine"])
    assert "a5" not in dense_only.ids and "a5" in hybrid.ids
    assert hybrid.channels_of(hybrid.ids.index("a5")) == ["queries"]
    [batched] = rk.gather_many(worded, [{"interest_vector": vectors[0], "query_embeddings": [vectors[3]],
                                         "queries": ["measles vaccine"]}], depth=2, hybrid=True)
    assert batched.ids == hybrid.ids
    no_queries = rk.gather(news, vectors[0], None, depth=2)
    assert no_queries.channels_of(0) == ["centroid"] and no_queries.cos_queries.shape == (len(no_queries.ids), 0)


def test_word_features_say_how_the_queries_words_match_each_candidate():
    from models.lexical import LexicalIndex
    from models.retrieval import ArticleIndex

    ids = [f"a{i}" for i in range(5)]
    texts = ["measles vaccine clinic opens", "vaccine trial results", "rocket launch delayed", "", "budget vote"]
    news = rk.NewsIndex(ArticleIndex(ids, np.eye(5, dtype=np.float32)), {a: 0 for a in ids},
                        lexical=LexicalIndex(ids, texts))
    queries = ["measles vaccine", "rocket launch"]
    cands = rk.gather(news, np.eye(5)[3], np.eye(5)[[0, 2]], depth=5, queries=queries)
    names = rk.feature_names(with_queries=True, words=True)
    assert names[-len(rk.WORD_FEATURES):] == list(rk.WORD_FEATURES)
    x = rk.features(news, cands, 0, with_queries=True, words=True)
    assert x.shape == (len(cands.ids), len(names))
    col = {n: x[:, names.index(n)] for n in rk.WORD_FEATURES}
    row = {a: cands.ids.index(a) for a in ("a0", "a1", "a2", "a4")}
    # a0 is the best match of "measles vaccine" in the whole index, a1 shares one of its words, a4 none of either
    assert col["bm25_query_share_max"][row["a0"]] == pytest.approx(1.0)
    assert col["bm25_query_share_max"][row["a2"]] == pytest.approx(1.0)
    assert 0 < col["bm25_query_share_max"][row["a1"]] < 1
    assert col["bm25_query_max"][row["a0"]] > col["bm25_query_max"][row["a1"]] > 0
    assert col["bm25_query_mean"][row["a0"]] == pytest.approx(col["bm25_query_max"][row["a0"]] / 2)
    assert col["n_queries_matching"][row["a0"]] == 1 and col["n_queries_matching"][row["a4"]] == 0
    assert all(col[n][row["a4"]] == 0 for n in rk.WORD_FEATURES)
    # without the query texts the word features are unknown (NaN), not zero; without queries they are zero
    dense = rk.features(news, rk.gather(news, np.eye(5)[3], np.eye(5)[[0, 2]], depth=5), 0, True, words=True)
    assert np.isnan(dense[:, -len(rk.WORD_FEATURES):]).all()
    none = rk.features(news, rk.gather(news, np.eye(5)[3], [], depth=5, queries=[]), 0, True, words=True)
    assert (none[:, -len(rk.WORD_FEATURES):] == 0).all()
    # one user at a time or many at once: the same word features
    [batched] = rk.gather_many(news, [{"interest_vector": np.eye(5)[3], "query_embeddings": np.eye(5)[[0, 2]],
                                       "queries": queries}], depth=5, hybrid=True)
    assert batched.ids == cands.ids
    assert rk.features(news, batched, 0, True, words=True) == pytest.approx(x)
    # a ranker with the word features gathers by the hybrid search, or it would read them as unknown
    with pytest.raises(rk.RankerError, match="hybrid"):
        rk.Ranker(None, with_queries=True, query_search="dense", words=True)


def _push_user(small_bench, data_dir, user: str) -> dict:
    """The user's feature row, as the generator worker writes it, in a real SQLite online store."""
    from feature_repo.config import FeatureStoreConfig
    from feature_repo.store import open_store, write_rows

    cfg = FeatureStoreConfig(data_dir=data_dir)
    row = tr.feature_rows(small_bench, [user], {user: ["vaccine measles outbreak", "rocket launch orbit"]},
                          HashEmbedder(), tr.impression_ms(small_bench), "keyphrase@1")[0]
    write_rows(open_store(cfg, apply=True), cfg, [row])
    return row


def test_interests_rank_reads_the_online_store_and_prints_the_top_k_with_reasons(small_bench, report, tmp_path,
                                                                                monkeypatch, capsys):
    from interests_cli import main

    _, work = report
    user = small_bench.eval_users("test", limit=1)[0]
    monkeypatch.setenv("INTERESTS_FEAST_DATA_DIR", str(tmp_path / "feast"))
    _push_user(small_bench, tmp_path / "feast", user)
    args = ["rank", user, "ghost", "--ranker", str(work / "ranker"), "--k", "4",
            "--at", str(tr.impression_ms(small_bench))]
    assert main(args + ["--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert len(shown[user]) == 4 and shown["ghost"] == []
    assert all(r["channels"] and r["article_id"] in set(small_bench.catalogue["article_id"]) for r in shown[user])
    assert main(args) == 0
    text = capsys.readouterr().out
    assert f"{user}:" in text and "ghost: no features" in text and ("history centroid" in text or "query" in text)
    assert main(["rank", user, "--ranker", str(tmp_path / "none")]) == 1  # no trained ranker there: a clear error
    assert "no trained ranker" in capsys.readouterr().err


@pytest.mark.integration
def test_interests_rank_through_the_feature_server(small_bench, report, tmp_path, monkeypatch, capsys):
    from feature_repo.config import FeatureStoreConfig
    from interests_cli import main
    from tests.feature_repo.procs import stop
    from tests.feature_repo.test_feature_server import start_server

    _, work = report
    user = small_bench.eval_users("test", limit=1)[0]
    monkeypatch.setenv("INTERESTS_FEAST_DATA_DIR", str(tmp_path / "feast"))
    _push_user(small_bench, tmp_path / "feast", user)
    proc, url = start_server(FeatureStoreConfig(data_dir=tmp_path / "feast"), tmp_path / "server.log")
    try:
        args = ["rank", user, "--ranker", str(work / "ranker"), "--k", "3", "--at", str(tr.impression_ms(small_bench))]
        assert main(args + ["--json"]) == 0
        direct = json.loads(capsys.readouterr().out)
        assert main(args + ["--json", "--server", url]) == 0
        assert json.loads(capsys.readouterr().out) == direct  # the same features either way, the same ranking
    finally:
        stop(proc, timeout=40)


def test_the_ranker_retrains_from_the_event_log_and_the_offline_store_of_a_range(small_bench, tmp_path):
    from datetime import datetime, timezone

    from feature_repo import offline
    from feature_repo.config import FeatureStoreConfig
    from training.retrain import file_rows

    events = list(file_rows(small_bench.root / "events.jsonl"))
    since, until = min(e["ts"] for e in events), max(e["ts"] for e in events) + 1
    cut = since + int((until - since) * 0.8)
    cfg = FeatureStoreConfig(data_dir=tmp_path / "feast")
    users = sorted(small_bench.histories)
    queries = {u: [s["text"] for s in small_bench.histories[u][:3]] for u in users}
    rows = tr.feature_rows(small_bench, users, queries, HashEmbedder(), cut - 60_000, "keyphrase@1")
    offline.append(cfg, rows, datetime.fromtimestamp((cut - 60_000) / 1000, tz=timezone.utc))
    later = [{**r, "model_version": tr.LEAK_VERSION} for r in rows]  # written after the cut: must not be read
    offline.append(cfg, later, datetime.fromtimestamp((cut + 3_600_000) / 1000, tz=timezone.utc))

    out = tr.retrain(iter(events), small_bench.root, cfg, since, until, tmp_path / "work")
    assert out["training_set"]["cut_ms"] == cut
    assert out["users_with_features"] > 0 and out["train_users"] > out["test_users"] > 0
    assert 0.0 <= out["rows"]["ranker + queries"]["all"]["ndcg@10"][0] <= 1.0
    ranker = rk.Ranker.load(tmp_path / "work" / "ranker")
    assert ranker.meta["retrain"]["cut_ms"] == cut and ranker.meta["impression_ms"] == cut
