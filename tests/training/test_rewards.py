"""The training rewards and the environment on a small hand-made benchmark (hashing embedder)."""

from __future__ import annotations

import numpy as np
import pytest

from training.rewards import REWARDS, check_weights, composite, interest_clusters

# five distinct searches: no two share all but one of three or more words (models.parsing.repeats)
GOOD = "fed interest rate hikes\nmortgage rates fed decision\nfed raises december\nbond yields fed\nfed signals more"


def ctx(env, user="u0", n=1):
    return env.contexts([user] * n)


def test_every_reward_is_registered_and_returns_unit_scores(env):
    completions = [GOOD, "news\nlatest news", "Sure! Here are some queries:", "arsenal striker january"]
    contexts = ctx(env, "u0", len(completions))
    for name, reward in REWARDS.items():
        scores = reward([""] * len(completions), completions, contexts)
        assert len(scores) == len(completions), name
        assert all(0.0 <= s <= 1.0 for s in scores), (name, scores)


def test_format_needs_exactly_the_asked_number_of_clean_lines(env):
    contexts = ctx(env, "u0", 4)
    scores = REWARDS["format"]([""] * 4, [GOOD, "fed rates\nfed rates\nbond yields\nfed\nmortgage rates",
                                              "Here are your queries:\n" + GOOD, "fed rates"], contexts)
    assert scores == [1.0, 0.0, 0.0, 0.0]


def test_count_is_the_share_of_the_asked_queries_serving_would_write(env):
    contexts = ctx(env, "u0", 4)
    copied = "fed rates december\ntesla model y price cut china\nalcaraz wimbledon final highlights"
    invented = "fed rates december\nfed threslons gallojae"
    scores = REWARDS["count"]([""] * 4, [GOOD, copied, invented, "arsenal striker january"], contexts)
    assert scores == [1.0, 0.2, 0.2, 0.0]  # copies of the worked example and invented words earn nothing


def test_content_rewards_prefer_on_topic_queries(env):
    on_topic, off_topic = GOOD, "arsenal striker january\narsenal chelsea derby"
    contexts = ctx(env, "u0", 2)  # u0 reads about rates
    for name in ("alignment", "relevance"):
        on, off = REWARDS[name](["", ""], [on_topic, off_topic], contexts)
        assert on > off, (name, on, off)
    # off-topic queries are not grounded in u0's history: serving would write none of them
    assert contexts[1].served(off_topic) == []


def test_relevance_finds_the_held_out_click(env):
    [score] = REWARDS["relevance"]([""], ["fed rates mortgage\nfed rate hikes decision"], ctx(env, "u0"))
    assert score > 0.3


def test_closeness_is_the_best_cosine_of_any_query_to_each_held_out_click(env):
    contexts = ctx(env, "u0", 3)
    on_topic, off_topic = "fed rates mortgage\nfed rate hikes decision", "fed arsenal striker"
    on, off, nothing = REWARDS["closeness"](["", "", ""], [on_topic, off_topic, "Sure!"], contexts)
    assert on > off > 0.0 and nothing == 0.0
    # by hand: per click, the best cosine over the served queries, then the mean over clicks
    context = contexts[0]
    clicks = context.rc.index.vectors(context.targets)
    queries = context.rc.vectors(context.served(on_topic))
    assert len(clicks) and on == pytest.approx(float(np.mean(np.clip((clicks @ queries.T).max(axis=1), 0, 1))))


def test_specificity_penalises_generic_queries(env):
    from training.rewards import query_specificity

    scorers = env.scorers
    vec = env.embedder.embed(["news today", "mortgage rates fed decision"])
    assert query_specificity("news today", vec[0], scorers) < query_specificity("mortgage rates fed decision",
                                                                              vec[1], scorers)


def test_diversity_and_coverage_move_the_right_way(env):
    same = "fed rates\nfed rates december"
    contexts = ctx(env, "u0", 2)
    d_same, d_good = REWARDS["diversity"](["", ""], [same, GOOD], contexts)
    assert d_good >= d_same
    [cov] = REWARDS["coverage"]([""], [GOOD], ctx(env, "u0"))
    assert cov > 0.0


def test_composite_is_the_weighted_mean_and_weights_are_checked(env):
    contexts = ctx(env, "u0", 2)
    total, per = composite(["", ""], [GOOD, "nonsense"], contexts, {"format": 3.0, "alignment": 1.0})
    assert set(per) == {"format", "alignment"}
    expected = (3 * np.asarray(per["format"]) + np.asarray(per["alignment"])) / 4
    assert total.tolist() == pytest.approx(expected.tolist())
    with pytest.raises(ValueError, match="unknown rewards"):
        check_weights({"fluency": 1.0})
    with pytest.raises(ValueError, match="positive weight"):
        check_weights({"alignment": 0.0})


def test_interest_clusters_group_similar_vectors():
    a, b = np.eye(4, dtype=np.float32)[0], np.eye(4, dtype=np.float32)[1]
    centroids = interest_clusters(np.stack([a, a * 0.99 + b * 0.01, b, b]), threshold=0.9)
    assert centroids.shape == (2, 4)
    single = interest_clusters(np.stack([a, b]), threshold=0.9)  # no cluster of two: keep all
    assert single.shape == (2, 4)


def test_env_hands_out_training_users_only(env):
    assert env.train_users() == [f"u{i}" for i in range(6)]
    assert env.scorers.click_model is not None
    assert env.scorers.click_model.report["clicks"] == 12


def test_judge_scores_parse_and_a_judge_model_plugs_in_as_coverage(env, tiny_base):
    from training.judge import JudgeCoverage, parse_score
    from training.rewards import composite

    assert parse_score("8") == 0.8 and parse_score("Score: 10/10") == 1.0 and parse_score("none") == 0.0
    judge = JudgeCoverage(str(tiny_base), dtype="float32")  # a tiny random model: any answer, parsed into [0, 1]
    contexts = ctx(env, "u0", 2)
    scores = judge(["", ""], [GOOD, "nonsense"], contexts)
    assert len(scores) == 2 and all(0.0 <= s <= 1.0 for s in scores)
    assert "<activity>" in judge.prompt(contexts[0], GOOD)
    total, per = composite(["", ""], [GOOD, "nonsense"], contexts, {"coverage": 1.0}, {"coverage": judge})
    assert per["coverage"] == scores


def test_the_retrieving_rewards_search_as_the_query_channel_is_served(train_bench):
    from models.embeddings import HashEmbedder
    from models.retrieval import retrieve
    from training.env import RewardEnv

    hybrid = RewardEnv.from_folder(train_bench, HashEmbedder(), click_model=False)
    dense = RewardEnv.from_folder(train_bench, HashEmbedder(), click_model=False, query_search="dense")
    assert hybrid.lexical is not None and dense.lexical is None
    queries = ["mortgage climb", "bond yields outlook"]
    h, d = hybrid.contexts(["u0"])[0], dense.contexts(["u0"])[0]
    assert h.ranked(queries) == retrieve(hybrid.index, h.rc.vectors(queries), exclude=h.exclude,
                                         lexical=hybrid.lexical, texts=queries)
    assert d.ranked(queries) == retrieve(dense.index, d.rc.vectors(queries), exclude=d.exclude)
    assert h.ranked(queries) != d.ranked(queries)
    # the word search puts the two articles with the queries' words at the top of the fused list
    assert set(h.ranked(queries)[:2]) == {"rates-2", "rates-3"}
    with pytest.raises(ValueError, match="query search"):
        RewardEnv.from_folder(train_bench, HashEmbedder(), click_model=False, query_search="bm25")
