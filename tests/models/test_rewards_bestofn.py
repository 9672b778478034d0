"""models.rewards and models.bestofn: the rewards pinned on hand-made cases, the weighted choice, and the BestOfN wrapper.

Embeddings come from the FAKE HashEmbedder (signed feature hashing of words): texts sharing words are close and
distinct words are orthogonal, so the expected cosines are exact fractions. One collision of this hash is used on
purpose: "golf" and "final" land in the same bucket with opposite signs (cosine -1).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.bestofn import BestOfN
from models.embeddings import HashEmbedder
from models.generators.base import Generation, QueryGenerator, UserContext
from models.retrieval import ArticleIndex
from models.rewards import (
    DEFAULT_WEIGHTS,
    REWARDS,
    RewardContext,
    RewardSkipped,
    alignment,
    choose,
    diversity,
    grounding,
    score,
    structure,
)

EMB = HashEmbedder()  # FAKE embedder
HISTORY = ["Tennis final in Paris", "Stock market rally continues"]


def ctx(index=None, top_k=2, history=HISTORY, embedder=EMB) -> RewardContext:
    return RewardContext(list(history), embedder, index, top_k)


def index_of(titles: dict[str, str]) -> ArticleIndex:
    return ArticleIndex(list(titles), EMB.embed(list(titles.values())))


def test_hash_fake_behaves_as_the_tests_assume():
    v = EMB.embed(["tennis", "chess", "golf", "final"])
    assert v[0] @ v[1] == pytest.approx(0.0)
    assert v[2] @ v[3] == pytest.approx(-1.0)  # the collision used by the cap test


# --- structure -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("queries, expected", [
    (["tennis news", "chess openings"], 1.0),
    (["tennis news"], 1.0),
    ([], 0.0),  # the output did not parse
    (["tennis news", "Tennis News"], 0.0),  # a duplicate
    (["tennis news", "visit https://example.com"], 0.0),  # a URL: echoed / not a query
    (["tennis news", "x" * 100], 0.0),  # too long
    (["12345"], 0.0),  # no letter
    (["call me at jane.doe@example.com"], 0.0),  # personal data
])
def test_structure_is_one_for_a_valid_list_else_zero(queries, expected):
    assert structure(queries, ctx()) == expected


# --- diversity -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("queries, expected", [
    (["tennis", "chess"], 1.0),  # orthogonal
    (["tennis open", "tennis open wimbledon"], 1 - 2 / math.sqrt(6)),  # cos = 2 / (sqrt 2 * sqrt 3)
    (["tennis", "chess", "tennis chess"], (1 + 2 * (1 - 1 / math.sqrt(2))) / 3),
    (["golf", "final"], 1.0),  # cosine -1: the distance 2 is capped at 1
    (["tennis"], 0.0),  # fewer than two queries
    ([], 0.0),
])
def test_diversity_is_the_capped_intra_list_diversity(queries, expected):
    assert diversity(queries, ctx()) == pytest.approx(expected, abs=1e-6)


# --- alignment -------------------------------------------------------------------------------------------------

ARTICLES = {"a1": "tennis", "a2": "tennis open", "a3": "chess", "a4": "stock market"}


@pytest.mark.parametrize("queries, expected", [
    (["tennis"], (1 + 1 / math.sqrt(2)) / 2),  # top-2: a1 (1.0), a2 (0.707)
    (["chess"], 0.5),  # a3 (1.0), then a 0.0 article
    (["tennis", "chess"], ((1 + 1 / math.sqrt(2)) / 2 + 0.5) / 2),  # mean over queries
    (["stock rates"], 0.25),  # a4 at cos 1/2, then 0.0
    ([], 0.0),
])
def test_alignment_is_the_mean_cosine_to_the_top_k_articles(queries, expected):
    assert alignment(queries, ctx(index_of(ARTICLES), top_k=2)) == pytest.approx(expected, abs=1e-6)


def test_alignment_top_k_defaults_to_ten_and_uses_all_hits_when_fewer():
    rc = RewardContext(HISTORY, EMB, index_of(ARTICLES))
    assert rc.top_k == 10
    # four articles only: tennis scores 1.0, 0.707, 0, 0
    assert alignment(["tennis"], rc) == pytest.approx((1 + 1 / math.sqrt(2)) / 4, abs=1e-6)


def test_alignment_clips_negative_cosines_to_zero():
    assert alignment(["golf"], ctx(index_of({"x": "final"}), top_k=1)) == 0.0


def test_alignment_without_an_index_is_skipped():
    with pytest.raises(RewardSkipped):
        alignment(["tennis"], ctx(index=None))


# --- grounding -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("queries, expected", [
    (["tennis scores", "chess openings"], 0.5),
    (["paris tennis", "stock market news"], 1.0),
    (["chess openings"], 0.0),
    ([], 0.0),
])
def test_grounding_is_the_share_of_queries_sharing_a_content_word(queries, expected):
    assert grounding(queries, ctx()) == expected


# --- score and choose ------------------------------------------------------------------------------------------

def test_default_weights_are_one_for_every_reward():
    assert DEFAULT_WEIGHTS == {"structure": 1.0, "diversity": 1.0, "alignment": 1.0, "grounding": 1.0}
    assert set(REWARDS) == set(DEFAULT_WEIGHTS)


def test_score_is_the_weighted_sum_and_skips_alignment_without_an_index():
    queries = ["tennis scores", "chess openings"]  # structure 1, diversity 1 (no shared word), grounding 0.5
    total, values = score(queries, ctx())
    assert values == pytest.approx({"structure": 1.0, "diversity": 1.0, "grounding": 0.5})
    assert total == pytest.approx(2.5)
    total, values = score(queries, ctx(), {"structure": 2.0, "diversity": 0.0, "grounding": 4.0})
    assert values == pytest.approx({"structure": 1.0, "grounding": 0.5})  # weight 0: not computed
    assert total == pytest.approx(4.0)


def test_score_includes_alignment_with_an_index():
    total, values = score(["chess"], ctx(index_of(ARTICLES), top_k=2))
    # structure 1, diversity 0 (one query), alignment 0.5, grounding 0 (chess is not in the history)
    assert values == pytest.approx({"structure": 1.0, "diversity": 0.0, "alignment": 0.5, "grounding": 0.0})
    assert total == pytest.approx(1.5)


def test_score_rejects_unknown_weights():
    with pytest.raises(ValueError, match="unknown rewards"):
        score(["tennis"], ctx(), {"novelty": 1.0})


def test_score_accepts_further_reward_functions():
    rewards = {**REWARDS, "short": lambda queries, context: 1.0 if len(queries) <= 1 else 0.0}
    total, values = score(["tennis final"], ctx(), {"short": 3.0, "grounding": 1.0}, rewards)
    assert values == {"short": 1.0, "grounding": 1.0} and total == 4.0


def test_choose_takes_the_argmax_and_the_first_of_ties():
    candidates = [["chess openings"], ["tennis final", "stock market"], ["tennis final", "stock market"], []]
    best, totals = choose(candidates, ctx())
    assert best == 1  # the second and third tie: the first of them wins
    assert totals[1] == totals[2] == pytest.approx(3.0) and totals[3] == 0.0


def test_choose_with_eligibility_and_with_nothing_eligible():
    candidates = [["tennis final", "stock market"], ["chess openings"]]
    assert choose(candidates, ctx(), eligible=lambda c: c == ["chess openings"])[0] == 1
    assert choose(candidates, ctx(), eligible=lambda c: False)[0] == -1
    with pytest.raises(ValueError):
        choose([], ctx())


# --- the wrapper -----------------------------------------------------------------------------------------------

class Sampler(QueryGenerator):
    """FAKE sampling generator: returns scripted candidates per user (the first as its own pick)."""

    n = 3

    def __init__(self, scripts: dict[str, list[list[str]]], version="fake@1"):
        self.scripts, self.version, self.closed = scripts, version, False

    def generate(self, contexts):
        out = []
        for c in contexts:
            candidates = self.scripts.get(c.user_id, [])
            first = candidates[0] if candidates else []
            out.append(Generation(first, raw=f"raw-{c.user_id}", error="" if first else "sampler error",
                                  candidates=candidates))
        return out

    def close(self):
        self.closed = True


class CountingEmbedder(HashEmbedder):
    """FAKE embedder counting its calls."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def embed(self, texts):
        self.calls.append(list(texts))
        return super().embed(texts)


def user(uid, *texts):
    return UserContext(uid, [{"domain": "click", "kind": "click", "text": t, "ts": 1} for t in texts])


def test_bestofn_picks_the_highest_scoring_candidate_per_user():
    inner = Sampler({
        "u1": [["tennis final", "tennis final paris"], ["tennis final", "stock market"], ["chess openings"]],
        "u2": [["chess openings"], ["golf news"]],
    })
    results = BestOfN(inner, HashEmbedder()).generate([user("u1", *HISTORY), user("u2", "golf news today")])
    assert results[0].queries == ["tennis final", "stock market"]  # grounded and more diverse than the first
    assert results[0].candidates == inner.scripts["u1"] and results[0].raw == "raw-u1" and results[0].error == ""
    assert results[1].queries == ["golf news"]  # the only grounded candidate


def test_bestofn_keeps_only_the_grounded_queries_of_the_chosen_candidate():
    inner = Sampler({"u1": [["tennis final", "chess openings"]]})
    [result] = BestOfN(inner, HashEmbedder()).generate([user("u1", *HISTORY)])
    assert result.queries == ["tennis final"]


def test_bestofn_never_picks_a_candidate_without_a_grounded_query():
    # the ungrounded candidate scores higher on diversity, but cannot be written
    inner = Sampler({"u1": [["chess openings", "golf swing"], ["tennis final"]]})
    [result] = BestOfN(inner, HashEmbedder(), weights={"diversity": 10.0, "grounding": 0.0}).generate(
        [user("u1", *HISTORY)])
    assert result.queries == ["tennis final"]


def test_bestofn_leaves_users_without_grounded_candidates_empty_with_an_error():
    inner = Sampler({"u1": [["chess openings"], []], "u2": []})
    r1, r2 = BestOfN(inner, HashEmbedder()).generate([user("u1", *HISTORY), user("u2", *HISTORY)])
    # the fake's own pick ("chess openings") had no error: the wrapper names why nothing is kept
    assert r1.queries == [] and r1.candidates == [["chess openings"], []]
    assert r1.error.startswith("no candidate holds a query related to the user's signals")
    assert r2 == Generation([], "raw-u2", "sampler error")  # no candidates at all: passed through


def test_bestofn_treats_plain_queries_as_the_only_candidate():
    class OneShot(QueryGenerator):
        version = "kp@1"

        def generate(self, contexts):
            return [Generation(["tennis final"]) for _ in contexts]

    wrapper = BestOfN(OneShot(), HashEmbedder())
    assert wrapper.version == "kp@1+best-of-n"
    assert wrapper.generate([user("u1", *HISTORY)])[0].queries == ["tennis final"]


def test_bestofn_embeds_a_whole_batch_in_one_call_and_uses_the_index():
    embedder = CountingEmbedder()
    inner = Sampler({"u1": [["tennis final"], ["tennis open"]], "u2": [["stock market"], ["stock market rally"]]})
    index = ArticleIndex(list(ARTICLES), HashEmbedder().embed(list(ARTICLES.values())))
    results = BestOfN(inner, embedder, index=index, top_k=2).generate([user("u1", *HISTORY),
                                                                        user("u2", *HISTORY)])
    assert len(embedder.calls) == 1
    assert sorted(embedder.calls[0]) == sorted(["tennis final", "tennis open", "stock market", "stock market rally"])
    # "tennis open" matches a2 exactly and a1 at 0.707; "tennis final" only at 0.707 and 0.5
    assert results[0].queries == ["tennis open"]


def test_bestofn_version_names_n_and_close_closes_the_inner_generator():
    inner = Sampler({})
    wrapper = BestOfN(inner, HashEmbedder())
    assert wrapper.version == "fake@1+best-of-3"
    wrapper.close()
    assert inner.closed


def test_bestofn_rejects_unknown_weights():
    with pytest.raises(ValueError, match="unknown rewards"):
        BestOfN(Sampler({}), HashEmbedder(), weights={"nope": 1.0})


def test_reward_context_caches_embeddings():
    embedder = CountingEmbedder()
    rc = RewardContext(HISTORY, embedder)
    first = rc.vectors(["tennis", "chess"])
    again = rc.vectors(["chess", "tennis"])
    assert len(embedder.calls) == 1
    np.testing.assert_allclose(first[::-1], again)
    assert rc.vectors([]).shape == (0, embedder.dim)
