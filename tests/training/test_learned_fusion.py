"""The learned fusion of the centroid and a generator's queries: trained on other users, it ranks as the served
ranker ranks, it learns which channel the next clicks come from, and the benchmark reports and deploys it."""

from __future__ import annotations

import numpy as np
import pytest

from common import ranking
from models import ranker as rk
from models.embeddings import HashEmbedder
from models.recall import Fusion, fuse_channels
from tests.training.test_simulate import run_sim
from training.channels import Channels, learned_row
from training.evaluate import Benchmark, make_baseline
from training.learned_fusion import LEARNED, RULE, LearnedFusion, deploy_margin, deployed, fit_learned
from training.report import fused_row, targets


META = {"command": "interests benchmark", "commit": "abc", "machine": "cpu", "seconds": 60.0,
        "load_average": {"start": [1.0], "end": [1.0]}}


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("fusion-bench")
    run_sim(root, n_users=120, events_per_user=30)
    return Benchmark.load(root)


@pytest.fixture(scope="module")
def setting(bench):
    from models.generators.base import UserContext

    channels = Channels(bench, HashEmbedder())
    users = sorted(bench.histories)
    keyphrase = make_baseline("keyphrase")
    queries = {u: keyphrase.generate([UserContext(u, bench.histories[u])])[0].queries for u in users}
    return channels, users, queries


def test_the_learned_fusion_ranks_as_the_served_ranker_ranks(setting):
    channels, users, queries = setting
    train, test = users[:80], users[80:]
    fusion = fit_learned(channels, train, queries, seed=0)
    assert fusion is not None and fusion.users == 80 and 0.0 <= fusion.cv_ndcg <= 1.0
    # each training user's score when their fold was held out: the cross-validated mean is their mean
    assert set(fusion.held_out) == set(train) and fusion.cv_ndcg == pytest.approx(
        np.mean(list(fusion.held_out.values())), abs=1e-4)
    assert set(fusion.ranker.feature_names()) == set(rk.BASE_FEATURES + rk.QUERY_FEATURES + rk.WORD_FEATURES
                                                     + rk.USER_FEATURES)  # hybrid search: the word features too
    lists = fusion.lists(channels, test, queries)
    news = rk.NewsIndex(channels.index, {}, {}, channels.lexical)
    for user in test:
        read = channels.bench.clicked.get(user, set())
        assert len(lists[user]) == 10 and not read & set(lists[user])  # read articles are never recommended
        served = fusion.ranker.rank(news, channels.feature_row(user, queries[user]), 0, k=10, exclude=read)
        assert lists[user] == [r.article_id for r in served]
    described = fusion.to_json()
    assert described["method"] == LEARNED and described["training_users"] == 80
    assert described["rule"].startswith("learned: LightGBM")


def test_the_learned_fusion_learns_where_the_next_clicks_come_from(setting):
    """Every reader's next clicks made the query channel's first two articles the centroid's list lacks: the fusion
    learns to put them first, where the centroid has none of them."""
    channels, users, queries = setting
    planted = Benchmark(root=None, catalogue=channels.bench.catalogue, embeddings=channels.bench.embeddings,
                        histories=channels.bench.histories, clicked=channels.bench.clicked, targets={},
                        users=channels.bench.users)
    mine = Channels(planted, HashEmbedder())
    for user in users:
        centroid = set(mine.history_lists(user)[0])
        planted.targets[user] = [a for a in mine.query_list(user, queries[user]) if a not in centroid][:2]
    fusion = fit_learned(mine, users[:80], queries, seed=0)
    test = [u for u in users[80:] if planted.targets[u]]
    assert len(test) > 20
    lists = fusion.lists(mine, test, queries)
    learned = np.mean([ranking.ndcg_at_k(lists[u], planted.targets[u], 10) for u in test])
    centroid = np.mean([ranking.ndcg_at_k(mine.history_lists(u)[0], planted.targets[u], 10) for u in test])
    equal = np.mean([ranking.ndcg_at_k(fuse_channels(mine.history_lists(u)[0], mine.query_list(u, queries[u]), 10,
                                                     Fusion("rrf", weight=1.0), 0), planted.targets[u], 10)
                     for u in test])
    assert centroid == 0.0 and learned > equal + 0.1


def test_the_benchmark_reports_the_learned_fusion_beside_the_rule_and_says_which_it_deploys(bench):
    from training.benchmark import markdown, measure

    run = measure(bench, ["centroid", "keyphrase"], HashEmbedder(), eval_users=30, train_users=60)
    assert {"centroid + keyphrase", learned_row("keyphrase")} <= set(run["channels"])
    fusion = run["fusions"]["keyphrase"]
    assert fusion["learned"]["training_users"] <= run["train_users"]
    mean, se = fusion["learned"]["margin_over_rule"]
    assert se > 0 and fusion["deployed"] == (LEARNED if mean > se else RULE)
    per_user = run["channel_per_user"][learned_row("keyphrase")]
    assert len(per_user) == run["test_users"] and all(0.0 <= r["ndcg@10"] <= 1.0 for r in per_user)
    chosen = learned_row("keyphrase") if fusion["deployed"] == LEARNED else "centroid + keyphrase"
    assert set(run["paired"]) == {f"{chosen} - centroid", f"{learned_row('keyphrase')} - centroid + keyphrase"}
    shown = markdown({"meta": META, "truths": [{**run, "truth": "lexical"}]})
    assert "Paired differences" in shown and f"{mean:+.3f} ± {se:.3f} over the rule where chosen" in shown
    assert not measure(bench, ["keyphrase"], HashEmbedder(), eval_users=30, train_users=60, learn=False
                       )["fusions"]["keyphrase"].get("learned")


def test_no_learned_fusion_without_a_next_click_among_the_candidates(setting):
    channels, users, queries = setting
    empty = Benchmark(root=None, catalogue=channels.bench.catalogue, embeddings=channels.bench.embeddings,
                      histories=channels.bench.histories, clicked=channels.bench.clicked,
                      targets={u: [] for u in users}, users=channels.bench.users)
    assert fit_learned(Channels(empty, HashEmbedder()), users[:40], queries) is None
    assert fit_learned(channels, users[:3], queries) is None  # fewer users than folds


def test_the_learned_fusion_is_deployed_only_where_it_beat_the_rule_beyond_the_noise():
    rule = {"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4, "e": 0.0}  # e has no next click: not in the learned fusion's folds

    def learned(*scores):
        return LearnedFusion(ranker=None, users=4, held_out=dict(zip("abcd", scores)))

    ahead = learned(0.2, 0.3, 0.4, 0.5)  # +0.1 on every user with a next click, 0 on e: sd 0.0447
    assert deploy_margin(rule, ahead) == pytest.approx((0.08, 0.02))  # standard error 0.0447 / sqrt(5)
    assert deployed(rule, ahead) == LEARNED
    # a higher mean (+0.02) from one user (+0.3) against two losses (-0.1): within one standard error (0.073), the
    # rule stays; comparing the means alone deployed such a fusion
    level = learned(0.4, 0.1, 0.2, 0.4)
    assert deploy_margin(rule, level)[0] == pytest.approx(0.02) and deployed(rule, level) == RULE
    assert deployed(rule, learned(0.1, 0.2, 0.3, 0.4)) == RULE  # a tie keeps the rule
    assert deployed(rule, None) == RULE and deployed({}, ahead) == RULE


def _run(deploy: str) -> dict:
    def row(all_, warm, cold, drift):
        return {g: {"ndcg@10": [v, v, v]} for g, v in (("all", all_), ("warm", warm), ("cold", cold), ("drift", drift))}

    channels = {"centroid": row(0.10, 0.10, 0.10, 0.10), "multi-centroid": row(0.05, 0.05, 0.05, 0.05),
                "keyphrase": row(0.08, 0.08, 0.08, 0.08), "served": row(0.12, 0.12, 0.12, 0.12),
                "centroid + keyphrase": row(0.11, 0.11, 0.11, 0.11),
                learned_row("keyphrase"): row(0.12, 0.12, 0.12, 0.12),
                "centroid + served": row(0.12, 0.12, 0.09, 0.12),
                learned_row("served"): row(0.14, 0.15, 0.11, 0.13)}
    fusions = {n: {"rule": "RRF", "deployed": deploy, "learned": {"rule": "learned"}} for n in ("keyphrase", "served")}
    return {"truth": "lexical", "channels": channels, "fusions": fusions}


def test_the_targets_read_the_deployed_fusion():
    run = _run(LEARNED)
    assert fused_row(run, "served") == learned_row("served")
    claims = {claim: (measured, met) for claim, measured, met in targets({"truths": [run]})}
    assert claims[f"lexical: {learned_row('served')} >= 1.3x the centroid"] == ("1.40x", True)
    assert claims[f"lexical: {learned_row('served')} not below the centroid in any group"][1] is True
    rivals = claims[f"lexical: {learned_row('served')} above centroid + key phrases and the multi-centroid"]
    assert rivals[1] is True and learned_row("keyphrase") in rivals[0]  # its rival is fused the same way
    run = _run(RULE)
    assert fused_row(run, "served") == "centroid + served"
    claims = {claim: (measured, met) for claim, measured, met in targets({"truths": [run]})}
    assert claims["lexical: centroid + served >= 1.3x the centroid"] == ("1.20x", False)
    assert claims["lexical: centroid + served not below the centroid in any group"][1] is False  # cold 0.09
