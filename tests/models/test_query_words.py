"""The validator on the copied and invented queries a served teacher wrote for the sample users (issue: "What a new
user sees today"): a query copied from the prompt's worked example survives only when the reader's own activity
makes it up, and a garbled word is never served."""

from __future__ import annotations

import pytest

from models.parsing import copies_prompt, grounded, own_words, query_words_problem
from models.prompt import EXAMPLE_ANSWER, fixed_texts
from models.vocabulary import (build_vocabulary, corpus_vocabulary, covered_share, known_forms, unknown_words,
                               word_forms, write_vocabulary)

CHIP_ORDER = "Samsung wins Tesla order for next-generation AI inference chips"  # u013's only Tesla signal
BARGE = "Blue Origin's New Glenn lands booster on barge"  # u020
SABALENKA = "Sabalenka ends year as world number one for third straight season"  # u022
MARS = "NASA probe uses Mars gravity assist on the way to the asteroid belt"  # u024
TESLA_FAN = "Tesla cuts Model Y prices in China as BYD sales surge"


@pytest.mark.parametrize("query, history", [
    ("tesla model y price cut china", [CHIP_ORDER, "Nvidia earnings beat forecasts"]),  # u013
    ("byd ev sales 2026", ["Arsenal beat Chelsea in the London derby"]),  # u014: no Tesla or tennis signal at all
    ("alcaraz wimbledon final highlights", ["Arsenal beat Chelsea in the London derby"]),  # u035
    ("tesla model y water vapour", ["Water vapour found on a distant exoplanet", "Tesla recalls cars"]),  # u010
    ("tesla model y price germany", ["Germany's economy shrinks as exports fall"]),  # u011
])
def test_queries_copied_from_the_worked_example_are_rejected(query, history):
    own, _ = own_words(history)
    assert copies_prompt(query, own)
    assert grounded([query], history) == []


def test_an_exact_example_query_is_rejected_even_for_a_reader_of_the_example_story():
    own, _ = own_words([TESLA_FAN, "best home ev charger"])
    assert copies_prompt("byd ev sales 2026", own) and copies_prompt("home ev charger reviews", own)


@pytest.mark.parametrize("query, history", [
    ("tesla model y price cut china", [TESLA_FAN]),  # their own story, in their own words
    ("wimbledon highlights", ["Wimbledon: Djokovic wins the final in five sets"]),  # "highlights" alone is no copy
    ("samsung tesla chip order", [CHIP_ORDER]),
])
def test_a_readers_own_words_are_no_copy_even_where_the_example_has_them(query, history):
    own, _ = own_words(history)
    assert not copies_prompt(query, own)
    assert grounded([query], history) == [query]


@pytest.mark.parametrize("query, history, word", [
    ("threslons gallojae landing on barge", [BARGE], "threslons"),  # u020
    ("dragapelenka third season", [SABALENKA], "dragapelenka"),  # u022
    ("tres leytes mars gravity assist", [MARS], "leytes"),  # u024
])
def test_invented_words_are_rejected(query, history, word):
    own, check = own_words(history)
    assert check
    assert query_words_problem(query, own, check) == f"invented word {word!r}"
    assert grounded([query], history) == []


def test_words_of_the_readers_activity_pass_even_when_the_news_vocabulary_lacks_them():
    assert "sabalenka" not in corpus_vocabulary()  # the 2017 corpus predates her
    assert grounded(["sabalenka world number one"], [SABALENKA]) == ["sabalenka world number one"]
    assert grounded(["new glenn booster landing"], [BARGE]) == ["new glenn booster landing"]  # "landing": a form


def test_the_vocabulary_check_is_left_out_for_a_reader_writing_mostly_in_another_language():
    history = ["Sondage: la gauche progresse dans les circonscriptions rurales"]
    own, check = own_words(history)
    assert covered_share(history, corpus_vocabulary()) < 0.6 and not check
    assert query_words_problem("gauche circonscriptions sondages", own, check) is None


def test_word_forms_match_inflections_both_ways():
    assert word_forms("prices") >= {"prices", "price", "pric"}
    assert "launch" in word_forms("launched") and "city" in word_forms("cities")
    known = known_forms({"price", "launch"})
    assert unknown_words("prices launched glorbix", known) == ["glorbix"]
    assert unknown_words("uk ev 2026", set()) == []  # short words and numbers are left to the other checks


def test_every_fixed_text_of_the_prompt_is_known_to_the_copy_check():
    texts = fixed_texts()
    assert any("<activity>" in t for t in texts) and all(a in texts for a in EXAMPLE_ANSWER)


def test_vocabulary_is_built_from_words_seen_twice_and_written_deterministically(tmp_path):
    words = build_vocabulary(["Storm hits coast", "storm warning", "Typo qwzx once", "Élan élan 2026 2026"])
    assert words == ["storm"]
    a, b = write_vocabulary(words, tmp_path / "a.txt.gz"), write_vocabulary(words, tmp_path / "b.txt.gz")
    assert a.read_bytes() == b.read_bytes()
    assert "storm" in corpus_vocabulary(a) and "the" in corpus_vocabulary(a)  # stopwords are always words


def test_the_shipped_vocabulary_holds_the_news_words_and_not_the_garbled_ones():
    vocabulary = corpus_vocabulary()
    assert len(vocabulary) > 30_000
    assert {"election", "reserve", "booster", "gravity"} <= vocabulary
    assert not {"threslons", "gallojae", "dragapelenka", "leytes"} & vocabulary


def test_a_missing_vocabulary_file_names_the_command_that_writes_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="interests data vocabulary"):
        corpus_vocabulary(tmp_path / "missing.txt.gz")


def test_a_year_the_reader_never_wrote_is_invented():
    history = ["Carbon emissions cuts agreed at COP31", "nvidia earnings q3 fiscal 2027"]
    own, check = own_words(history)
    assert query_words_problem("carbon emissions cuts 2022", own, check) == "invented year '2022'"
    assert query_words_problem("nvidia earnings fiscal 2027", own, check) is None
    assert grounded(["carbon emissions cuts 2022", "carbon emissions cuts"], history) == ["carbon emissions cuts"]


def test_a_number_the_reader_never_wrote_is_invented():
    history = ["Carbon emissions cuts agreed at COP31", "gta 6 trailer", "OpenAI ships GPT-5 to all users"]
    own, check = own_words(history)
    assert query_words_problem("cop311 in the japan rate hike", own, check) == "invented number 'cop311'"
    assert query_words_problem("gta 627", own, check) == "invented number '627'"
    assert query_words_problem("top 10 carbon cuts", own, check) == "invented number '10'"
    assert query_words_problem("cop31 carbon cuts", own, check) is None  # written whole
    assert query_words_problem("gta 6 release date", own, check) is None
    assert query_words_problem("gpt5 users", own, check) is None  # written as its letter and digit runs
    assert grounded(["gta 627", "gta 6 trailer reaction"], history) == ["gta 6 trailer reaction"]


@pytest.mark.parametrize("word, own", [
    ("prim", "prime"), ("hak", "hakuto"), ("jax", "jaxa"),  # the start of the user's word, cut short
    ("iphon", "iphone"), ("amazn", "amazon"), ("mdoel", "model"), ("modeel", "model"),  # one letter dropped, swapped, added
])
def test_a_slip_of_the_users_word_is_found(word, own):
    from models.vocabulary import slip_of

    assert slip_of(word, {own, "news"}) == own


@pytest.mark.parametrize("word, own", [
    ("trade", "trader"), ("models", "model"), ("greatest", "great"), ("great", "greatest"),  # endings
    ("korean", "koreas"), ("iran", "iraq"), ("fleeing", "fleming"),  # a letter changed: real words
    ("art", "artemis"), ("prime", "prime"), ("fed", "feed"),  # too much cut; the word itself; 3-letter edits
    ("cop", "cop31"),  # a word with digits is left to the number check
])
def test_a_real_word_that_is_no_slip_passes(word, own):
    from models.vocabulary import slip_of

    assert slip_of(word, {own}) is None


def test_a_garbled_copy_of_the_readers_word_is_never_served():
    history = ["Amazon Prime Day deals start early", "Japanese lander Hakuto-R reaches lunar orbit"]
    queries = ["amazon prime day deals", "amazon prim deals", "japanese lander hak", "japanese lander hakuto-r orbit"]
    assert grounded(queries, history) == ["amazon prime day deals", "japanese lander hakuto-r orbit"]
    own, check = own_words(history)
    from models.parsing import written_words

    assert query_words_problem("amazon prim deals", own, check, written_words(history)) == \
        "garbled word 'prim' (the user wrote 'prime')"
    assert query_words_problem("amazon prim deals", own, check) is None  # without the user's words, no slip check
    webb = ["James Webb telescope finds carbon dioxide on exoplanet", "A model of planets"]
    own, check = own_words(webb)
    # "jams" and "james" share only the stem "jam": a slip, not a form of the reader's word
    assert query_words_problem("jams webb telescope", own, check, written_words(webb)) == \
        "garbled word 'jams' (the user wrote 'james')"
    assert grounded(["jams webb telescope", "james webb telescope", "telescope models"], webb) == \
        ["james webb telescope", "telescope models"]  # a form of the reader's own word stays theirs
    cop = ["Australia, as COP31 negotiations president, pushes fossil fuel transition roadmap"]
    assert grounded(["cop31 negotiations president pushes"], cop) == ["cop31 negotiations president pushes"]


def test_a_copy_with_one_word_swapped_for_one_the_reader_never_wrote_is_never_served():
    history = ["Thoughts on singapore's chinese puppet performers amandas?", "abortion jab",
               "King Mohammed VI ousts PM Abdelilah Benkirane", "tottenham next manager odds", "premier league table",
               "Germany rejected asylum seekers fear deportation"]
    queries = ["nigerian puppet performers",  # the wrong country
               "sudan jab", "moscow vi ousts pm abdelilah", "wanna next manager odds",  # the wrong thing, or junk
               "chinese puppet performers",  # the reader's own words
               "premier league fixtures", "abortion pill",  # the head changed: another question on the same thing
               "germany's rejected asylum seekers", "germany puppet performers",  # a form, or the reader's words joined
               ]
    assert grounded(queries, history) == ["chinese puppet performers", "premier league fixtures", "abortion pill",
                                          "germany's rejected asylum seekers", "germany puppet performers"]
    from models.parsing import signal_words, written_words

    own, check = own_words(history)
    assert query_words_problem("nigerian puppet performers", own, check, written_words(history),
                               signal_words(history)) == "swapped word 'nigerian' (the user wrote 'chinese')"
    assert query_words_problem("nigerian puppet performers", own, check) is None  # without the signals, no check


@pytest.mark.parametrize("words, signals, expected", [
    (["sudan", "jab"], [["abortion", "jab"]], ("sudan", "abortion")),
    (["abortion", "pill"], [["abortion", "jab"]], None),  # the last word: the head
    (["sudan", "the"], [["abortion", "the"]], None),  # no content word left as written
    (["sudan", "jab", "now"], [["abortion", "jab"]], None),  # no run of the same length
    (["us", "jab"], [["eu", "jab"]], None),  # too short to check
    (["floods", "jab"], [["abortion", "jab"], ["sudan", "flood"]], None),  # a form of the reader's word
])
def test_swapped_word_on_hand_made_cases(words, signals, expected):
    from models.vocabulary import known_forms, swapped_word

    known = known_forms({w for s in signals for w in s})
    assert swapped_word(words, signals, known) == expected
