"""The real-words decoding rule (models/realwords.py) on hand-made vocabularies and scores, the real news lexicon,
and the backend's wiring (a tiny model, the real SmolLM2 tokenizer)."""

from __future__ import annotations

import pytest
import torch

from models.realwords import Lexicon, RealWords, RowLexicon, news_lexicon, row_words, walk
from models.vocabulary import known_forms

NEWS = Lexicon(known_forms({"blockade", "poroshenko", "impeachment", "seoul", "price", "the"}))
# a toy vocabulary: token id -> its text
TOKENS = {0: " bloc", 1: "kage", 2: "kad", 3: "\n", 4: "e", 5: " poro", 6: "shet", 7: "shenko", 8: " seoul",
          9: " imean", 10: " impeach", 11: "ment", 12: " prices", 13: " zx", 14: "'s", 15: " 2026"}


def rule(rows, greedy=True, prompt_len=2, end_ids=(99,)):
    return RealWords(NEWS, rows, prompt_len, lambda t: TOKENS.get(t, " qqqq"), end_ids, greedy=greedy)


def scores(prefs: dict[int, float], width: int = 100) -> torch.Tensor:
    row = torch.full((width,), -10.0)
    for token, value in prefs.items():
        row[token] = value
    return row


def step(processor, written: list[list[int]], prefs: list[dict[int, float]]) -> torch.Tensor:
    """Feed each row's tokens one step at a time as generate does, then score the next step with ``prefs``."""
    prompt = [[1000, 1001] for _ in written]
    width = max(len(w) for w in written)
    for t in range(width):
        processor(torch.tensor([p + w[:t] for p, w in zip(prompt, written)]), torch.zeros((len(written), 100)))
    processor.allowed = processor.blocked = 0
    ids = torch.tensor([p + w for p, w in zip(prompt, written)])
    return processor(ids, torch.stack([scores(p) for p in prefs]))


def test_walk_keeps_real_words_and_their_starts():
    assert walk("", " impeach", NEWS) == (True, "impeach")
    assert walk("impeach", "ment", NEWS) == (True, "impeachment")
    assert walk("", " imean", NEWS)[0] is False  # no news word starts "imea"
    assert walk("bloc", "kage", NEWS)[0] is False
    assert walk("bloc", "kad", NEWS) == (True, "blockad")
    assert walk("blockad", "\n", NEWS) == (False, "")  # "blockad" is no word: refused (the word ends all the same)
    assert walk("blockade", "\n", NEWS) == (True, "")
    assert walk("", " prices", NEWS) == (True, "prices")  # a form of "price"
    assert walk("", " zx", NEWS) == (True, "zx")  # under three letters: not checked, as in the validator
    assert walk("seoul", "'s", NEWS) == (True, "s")  # the apostrophe ends the word
    assert walk("", " café", NEWS)[0] is False  # a word with other letters must be the prompt's own
    own = RowLexicon(NEWS, Lexicon(known_forms({"café"})))
    assert walk("", " café", own) == (True, "café") and walk("", " caf\ufffd", own) == (True, "caf\ufffd")
    assert walk("", " art", Lexicon({"artemis"}))[0] and not walk("art", "ем", own)[0]  # "artемis"
    assert walk("", " 2026", NEWS) == (True, "")


def test_greedy_takes_the_best_token_that_keeps_the_word_real():
    processor = rule([set()])
    out = step(processor, [[0]], [{1: 5.0, 2: 4.0, 3: 3.0}])  # after " bloc": "kage" is best, "kad" second
    assert out[0].argmax().item() == 2
    assert torch.isinf(out[0, 1]) and torch.isinf(out[0, 3])
    assert processor.blocked == 1 and processor.allowed == 1


def test_a_word_in_progress_must_be_finished_before_the_line_ends():
    processor = rule([set()])
    out = step(processor, [[0, 2]], [{3: 5.0, 99: 4.5, 4: 1.0}])  # "blockad": newline and the end token refused
    assert out[0].argmax().item() == 4


def test_the_prompts_own_words_count_as_real():
    processor = rule([{"poroshet"}, set()])
    out = step(processor, [[5], [5]], [{6: 5.0, 7: 1.0}, {6: 5.0, 7: 1.0}])
    assert out[0].argmax().item() == 6  # the first prompt holds "poroshet"
    assert out[1].argmax().item() == 7  # the second does not: "poroshenko" it is


def test_an_unchecked_row_and_a_row_without_any_allowed_token_keep_their_best():
    processor = rule([None, set()])
    out = step(processor, [[9], [9]], [{11: 5.0}, {11: 5.0}])  # " imean" was written (teacher-forced here)
    assert not torch.isinf(out[0]).any()  # None: the rule stands aside
    assert out[1].argmax().item() == 11 and torch.isinf(out[1]).sum() == 99


def test_sampling_keeps_every_allowed_token_of_the_top():
    processor = rule([set()], greedy=False)
    out = step(processor, [[]], [{8: 3.0, 9: 2.9, 10: 2.8, 0: 2.7}])
    kept = set(torch.nonzero(~torch.isinf(out[0])).flatten().tolist())
    assert {8, 10, 0} <= kept and 9 not in kept


def test_row_count_must_match():
    with pytest.raises(ValueError, match="2 rows"):
        rule([set()])(torch.zeros((2, 3), dtype=torch.long), torch.zeros((2, 100)))


def test_row_words_repeat_per_sample_and_stand_aside_for_another_language():
    news = news_lexicon()
    rows = row_words(["Read: Fed raises interest rates again", "Der Bundestag beschließt heute Gesetzentwurf "
                      "über Wohnungsbau und Mietpreisbremse"], news, n=2)
    assert rows[0] == rows[1] and "fed" in rows[0]
    assert rows[2] is None and rows[3] is None


def test_the_news_lexicon_knows_news_words_and_not_garbled_ones():
    news = news_lexicon()
    assert news.complete("impeachment") and news.complete("elections") and news.starts("impeach")
    assert not news.starts("imeanan") and not news.complete("threslons")


def test_the_own_words_rule_lets_a_row_write_only_its_users_words_and_stopwords():
    from models.realwords import activity_words, stopword_lexicon

    prompt = ("You write queries. <activity>\n- click: Seoul weighs blockade\n</activity> example answer\n"
              "<activity>\n- search: poroshenko impeachment vote\n</activity>\nQueries:")
    words = activity_words(prompt)
    assert {"poroshenko", "impeachment", "vote"} <= words and not {"seoul", "queries", "example"} & words
    assert activity_words("no block here") == {"no", "block", "here"}
    own = RealWords(stopword_lexicon(), [words], 2, lambda t: TOKENS.get(t, " qqqq"), (99,))
    out = step(own, [[5]], [{6: 5.0, 7: 1.0}])  # " poro": "shet" is no word of the user's, "shenko" is
    assert out[0].argmax().item() == 7
    own = RealWords(stopword_lexicon(), [words], 2, lambda t: TOKENS.get(t, " qqqq"), (99,))
    out = step(own, [[3]], [{8: 5.0, 10: 1.0}])  # after a line break: " seoul" is a news word but not this user's
    assert out[0].argmax().item() == 10
    assert "activity" not in words
    rows = row_words([prompt], Lexicon(known_forms(words)), n=2, words_of=activity_words)
    assert rows == [words, words]
