"""models.generators.keyphrase: the deterministic non-LLM baseline."""

from __future__ import annotations

from models.generators.base import Generation, UserContext
from models.generators.keyphrase import STOPWORDS, KeyphraseGenerator, candidate_phrases, key_phrases

DAY = 86_400_000


def sig(text, ts, domain="click"):
    return {"domain": domain, "kind": domain, "text": text, "ts": ts}


HISTORY = [
    sig("Tesla cuts prices in China as BYD sales surge", 10 * DAY),
    sig("best home ev charger", 9 * DAY, "search"),
    sig("Arsenal beat Chelsea at the Emirates", 8 * DAY),
    sig("Wimbledon final: Alcaraz saves three match points", 7 * DAY, "social"),
]


def test_phrases_come_from_the_history():
    words = {w for s in HISTORY for w in s["text"].lower().replace(":", " ").split()}
    phrases = key_phrases(HISTORY, 10)
    assert phrases
    for phrase in phrases:
        assert set(phrase.split()) <= words


def test_stopwords_are_excluded():
    for phrase in key_phrases(HISTORY, 10):
        assert not set(phrase.split()) & STOPWORDS


def test_candidate_phrases_split_at_stopwords_punctuation_and_digits():
    assert candidate_phrases("The Fed raises rates, again in 2026") == [["fed", "raises", "rates"]]
    assert candidate_phrases("one two three four five six", max_words=4) == [
        ["one", "two", "three", "four"], ["five", "six"]]


def test_a_shared_posts_lead_in_never_joins_the_title():
    # the simulator's and a reader's share templates: the lead-in and the question are not search words
    assert candidate_phrases("Worth a read: Osborne takes job") == [["osborne", "takes", "job"]]
    assert candidate_phrases("Interesting: threat looms") == [["threat", "looms"]]
    assert candidate_phrases("Fed holds rates - what do you think?") == [["fed", "holds", "rates"]]
    assert candidate_phrases("Important: Tories vote") == [["tories", "vote"]]
    # a word's own hyphen and apostrophe stay inside it
    assert candidate_phrases("Macron's rate-setting panel") == [["macron's", "rate-setting", "panel"]]


def test_newer_signal_outranks_same_weight_phrase_in_an_older_one():
    old_first = [sig("quantum computing breakthrough", 1 * DAY), sig("solar panel subsidies", 10 * DAY)]
    new_first = [sig("quantum computing breakthrough", 10 * DAY), sig("solar panel subsidies", 1 * DAY)]
    assert key_phrases(old_first, 2) == ["solar panel subsidies", "quantum computing breakthrough"]
    assert key_phrases(new_first, 2) == ["quantum computing breakthrough", "solar panel subsidies"]


def test_domain_weight_breaks_ties_at_equal_age():
    history = [sig("quantum computing breakthrough", DAY, "browse"), sig("solar panel subsidies", DAY, "search")]
    assert key_phrases(history, 1) == ["solar panel subsidies"]


def test_no_chosen_phrase_is_contained_in_another():
    history = [sig("electric vehicle tax credit", 3 * DAY), sig("electric vehicle", 2 * DAY, "search"),
               sig("vehicle tax credit", DAY), sig("electric vehicle tax", DAY)] + HISTORY
    phrases = [set(p.split()) for p in key_phrases(history, 10)]
    for i, a in enumerate(phrases):
        for j, b in enumerate(phrases):
            if i != j:
                assert not a <= b


def test_single_words_need_to_recur():
    assert key_phrases([sig("Tesla", DAY)], 5) == []
    assert key_phrases([sig("Tesla", DAY), sig("Tesla", DAY)], 5) == ["tesla"]


def test_returns_at_most_n_phrases():
    assert len(key_phrases(HISTORY, 2)) == 2
    assert len(key_phrases(HISTORY, 100)) <= 100
    assert key_phrases(HISTORY, 2) == key_phrases(HISTORY, 10)[:2]


def test_personal_data_is_not_a_phrase():
    phrases = key_phrases([sig("mail jane.doe@example.com about tennis lessons", DAY)], 5)
    assert not any("jane" in p or "example" in p for p in phrases)


def test_empty_history_gives_empty_list():
    assert key_phrases([], 5) == []


def test_generator_sets_error_for_empty_history():
    [result] = KeyphraseGenerator(3).generate([UserContext("u1", [])])
    assert result == Generation([], error=result.error)
    assert result.error


def test_generator_returns_one_generation_per_context_in_order():
    contexts = [UserContext("a", HISTORY), UserContext("b", []), UserContext("c", HISTORY[:1])]
    results = KeyphraseGenerator(3).generate(contexts)
    assert len(results) == 3
    assert results[0].queries == key_phrases(HISTORY, 3) and not results[0].error
    assert results[1].queries == [] and results[1].error
    assert results[2].queries == key_phrases(HISTORY[:1], 3)


def test_generator_is_deterministic_and_respects_num_queries():
    gen = KeyphraseGenerator(num_queries=2)
    first = gen.generate([UserContext("a", HISTORY)])
    assert first == gen.generate([UserContext("a", HISTORY)])
    assert len(first[0].queries) == 2


def test_version():
    assert KeyphraseGenerator.version == "keyphrase@1"
    assert KeyphraseGenerator().version == "keyphrase@1"
