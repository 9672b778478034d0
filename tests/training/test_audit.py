"""The audit of served lists: counts of queries, fills, fallbacks, and of prompt copies and invented words in the
served lists (must be none) and in the model's raw output (what the validator dropped)."""

from __future__ import annotations

from training.audit import audit

HISTORIES = {"u1": [{"text": "Samsung wins Tesla order for AI chips"}], "u2": [{"text": "Storm hits the coast"}],
             "u3": [{"text": "Election polls open"}]}


def test_audit_counts_makers_fills_and_what_the_validator_dropped():
    rows = [
        {"user_id": "u1", "queries": ["samsung tesla chips", "ai chip order"], "filled": 1,
         "made_by": "m@1+keyphrase@1", "raw": "samsung tesla chips\ntesla model y price cut china\nthreslons gallojae"},
        {"user_id": "u2", "queries": ["coast storm"], "filled": 0, "made_by": "keyphrase@1", "raw": "!!!"},
        {"user_id": "u3", "queries": [], "filled": 0, "made_by": "m@1", "raw": ""},
    ]
    report = audit(rows, HISTORIES)
    assert report["users"] == 3 and report["users_without_list"] == 1
    assert report["mean_queries"] == 1.0 and report["mean_model_queries"] == round(2 / 3, 3)
    # told the served version, the fallback's list (u2) counts none of its queries as the model's
    told = audit(rows, HISTORIES, model="m@1")
    assert told["mean_model_queries"] == round(1 / 3, 3) and told["users_by_fallback_alone"] == 1
    assert report["users_by_fallback_alone"] is None  # unknown without the served version
    assert report["users_filled"] == 1 and report["filled_queries"] == 1
    assert report["lists_by_maker"] == {"m@1+keyphrase@1": 1, "keyphrase@1": 1}
    assert report["served_prompt_copies"] == 0 and report["served_invented"] == 0
    assert report["raw_queries"] == 3 and report["raw_prompt_copies"] == 1 and report["raw_invented"] == 1


def test_a_copy_that_reached_a_served_list_is_counted():
    rows = [{"user_id": "u2", "queries": ["alcaraz wimbledon final highlights"], "raw": ""}]
    assert audit(rows, HISTORIES)["served_prompt_copies"] == 1


def test_a_garbled_copy_of_the_users_word_is_counted_apart_from_invented_ones():
    history = {"u1": [{"text": "Amazon Prime Day deals"}, {"text": "Samsung wins Tesla order for AI chips"}]}
    rows = [{"user_id": "u1", "queries": ["amazon prim deals", "samsung tesla chips"],
             "raw": "amazon prim deals\nsamsung tesla chips\nthreslons gallojae"}]
    report = audit(rows, history)
    assert report["served_garbled"] == 1 and report["served_invented"] == 0
    assert report["raw_garbled"] == 1 and report["raw_invented"] == 1


def test_a_swapped_word_is_counted_apart_from_garbled_and_invented_ones():
    history = {"u1": [{"text": "Thoughts on singapore's chinese puppet performers"}]}
    rows = [{"user_id": "u1", "queries": ["nigerian puppet performers", "chinese puppet performers"],
             "raw": "nigerian puppet performers\nsingapore performers"}]
    report = audit(rows, history)
    assert report["served_swapped"] == 1 and report["served_garbled"] == 0 and report["served_invented"] == 0
    assert report["raw_queries"] == 2 and report["raw_swapped"] == 1
