"""A short greedy list topped up from the model's own samples: only grounded queries about what the list does not
mention yet, sample by sample, counted in ``topped_up``; a full list is never sampled; the fill comes after."""

from __future__ import annotations

import pytest

from models.config import GeneratorConfig
from models.generators.base import Generation, QueryGenerator, UserContext
from models.generators.fill import Filled
from models.generators.topup import TopUp, topped_up

HISTORY = ["Fed holds interest rates as inflation cools", "SpaceX Starship test flight ends in explosion",
           "Best sourdough starter recipe"]


class Sampling(QueryGenerator):
    """FAKE model: fixed greedy lists, fixed samples per user (a stand-in for TransformersGenerator)."""

    version = "m@1"

    def __init__(self, greedy, samples):
        self.greedy, self.samples, self.sampled = greedy, samples, []

    def generate(self, contexts):
        return [Generation(list(q)) for q in self.greedy[: len(contexts)]]

    def sample(self, contexts, n, temperature):
        self.sampled.append(([c.user_id for c in contexts], n, temperature))
        return [Generation([], candidates=[list(s) for s in self.samples[c.user_id][:n]]) for c in contexts]


class Fixed(QueryGenerator):
    version = "keyphrase@1"

    def __init__(self, lists):
        self.lists = lists

    def generate(self, contexts):
        return [Generation(list(q)) for q in self.lists[: len(contexts)]]


def users(n):
    return [UserContext(f"u{i}", [{"domain": "search", "kind": "search", "text": t, "ts": 1} for t in HISTORY])
            for i in range(n)]


def test_topped_up_takes_grounded_new_queries_sample_by_sample():
    samples = [["fed interest rates cut", "starship test flight"],  # the first repeats "rates": skipped
               ["crypto moon coin", "sourdough starter recipe", "starship explosion"]]  # ungrounded; new; "starship"
    assert topped_up(["fed rates"], samples, HISTORY, 5) == ["fed rates", "starship test flight",
                                                            "sourdough starter recipe"]
    assert topped_up(["fed rates"], samples, HISTORY, 2) == ["fed rates", "starship test flight"]
    assert topped_up(["fed rates"], [[], []], HISTORY, 5) == ["fed rates"]


def test_only_short_lists_are_sampled_and_the_rows_say_what_was_added():
    full = ["fed interest rates", "starship test flight"]
    model = Sampling([full, ["fed rates"], []], {"u1": [["sourdough starter", "starship flight"]],
                                                 "u2": [["starship explosion", "fed inflation"]]})
    out = TopUp(model, n=3, temperature=0.7, num_queries=2).generate(users(3))
    assert model.sampled == [(["u1", "u2"], 3, 0.7)]  # one call, the short and the empty lists only
    assert out[0].queries == full and out[0].topped_up == 0
    assert out[1].queries == ["fed rates", "sourdough starter"] and out[1].topped_up == 1
    assert out[2].queries == ["starship explosion", "fed inflation"] and out[2].topped_up == 2
    assert out[2].error == "" and out[2].version == ""  # the model's own queries: its version, no maker named


def test_the_fill_completes_what_the_samples_left_short_and_counts_apart():
    model = Sampling([["fed rates"]], {"u0": [["starship flight"]]})
    filler = Fixed([["sourdough starter recipe"]])
    [out] = Filled(TopUp(model, 2, 0.8, 3), filler, 3).generate(users(1))
    assert out.queries == ["fed rates", "starship flight", "sourdough starter recipe"]
    assert out.topped_up == 1 and out.filled == 1 and out.version == "m@1+keyphrase@1"


def test_a_top_up_needs_a_sampling_model_and_a_temperature():
    with pytest.raises(ValueError, match="cannot sample"):
        TopUp(Fixed([]), 2, 0.8, 5)
    with pytest.raises(ValueError, match="temperature"):
        TopUp(Sampling([], {}), 2, 0.0, 5)
    with pytest.raises(ValueError, match="BEST_OF_N"):
        GeneratorConfig(top_up=2, best_of_n=4)
    with pytest.raises(ValueError, match="TOP_UP"):
        GeneratorConfig(top_up=-1)


def test_a_list_a_chooser_picks_from_is_topped_up_past_the_asked_for_number():
    full = ["fed interest rates", "starship test flight"]  # full at 2 asked for, short of a pool of 4
    model = Sampling([full], {"u0": [["sourdough starter", "starship explosion", "inflation cools"]]})
    [out] = TopUp(model, n=1, temperature=0.7, num_queries=2, limit=4).generate(users(1))
    assert model.sampled == [(["u0"], 1, 0.7)]
    assert out.queries == [*full, "sourdough starter", "inflation cools"] and out.topped_up == 2
    with pytest.raises(ValueError, match="at least 2"):
        TopUp(model, 1, 0.7, num_queries=2, limit=1)
