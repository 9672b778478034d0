"""A short model list completed by the key-phrase filler: only phrases about what the list does not mention yet,
counted and named in the row's version; an empty list is left to the invalid-output policy."""

from __future__ import annotations

from models.generators.base import Generation, QueryGenerator, UserContext
from models.generators.fill import Filled, complete_list


class Fixed(QueryGenerator):
    """FAKE generator returning fixed query lists in order (a stand-in for the model and for the filler)."""

    def __init__(self, version, lists):
        self.version, self.lists, self.seen = version, lists, []

    def generate(self, contexts):
        self.seen.append([c.user_id for c in contexts])
        return [Generation(list(q)) for q in self.lists[: len(contexts)]]


def users(n):
    return [UserContext(f"u{i}", [{"domain": "search", "kind": "search", "text": "x", "ts": 1}]) for i in range(n)]


def test_complete_list_adds_only_phrases_that_share_no_word_with_the_list():
    queries = ["federal reserve rates"]
    extra = ["reserve bank", "spacex starship launch", "starship test", "sourdough starter", "rate hike"]
    # "reserve bank": shares "reserve"; "starship test": shares "starship" with an added one; "rate hike": "rate"
    # is a form of "rates"
    assert complete_list(queries, extra, 5) == ["federal reserve rates", "spacex starship launch",
                                                 "sourdough starter"]
    assert complete_list(queries, extra, 2) == ["federal reserve rates", "spacex starship launch"]
    assert complete_list(["a b c", "d e f"], ["x y z"], 2) == ["a b c", "d e f"]  # full already


def test_short_lists_are_filled_and_say_so_full_and_empty_lists_are_left_alone():
    model = Fixed("m@1", [["federal reserve rates"], ["one two three", "four five six"], []])
    filler = Fixed("keyphrase@1", [["spacex starship launch", "federal reserve"], ["sourdough starter"]])
    out = Filled(model, filler, num_queries=2).generate(users(3))
    assert filler.seen == [["u0"]]  # only the short, non-empty list is filled
    assert out[0].queries == ["federal reserve rates", "spacex starship launch"]
    assert out[0].filled == 1 and out[0].version == "m@1+keyphrase@1"
    assert out[1].queries == ["one two three", "four five six"] and out[1].filled == 0 and out[1].version == ""
    assert out[2].queries == [] and out[2].filled == 0  # the worker's stale/fallback policy decides


def test_a_filler_with_nothing_new_leaves_the_list_and_its_version_unchanged():
    model = Fixed("m@1", [["storm warning coast"]])
    filler = Fixed("keyphrase@1", [["storm coast", "coast warning"]])
    [out] = Filled(model, filler, num_queries=3).generate(users(1))
    assert out.queries == ["storm warning coast"] and out.filled == 0 and out.version == ""
