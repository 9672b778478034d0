"""Real words only: a decoding rule under which every word the model writes is one the validator accepts.

A small model spells a word it half knows as a new one ("imeanance seoul ousted", "blockage poroshet zakhark"): the
validator drops such a query as invented (``models/parsing.py: query_words_problem``), and on the benchmark's test
users that was 30 % of the student's raw queries. This rule makes the model finish a real word instead. A word
counts as real when it is in the news vocabulary (``models/vocabulary.py``) or among the words of its own prompt
(the user's activity, which the prompt shows): the same test the validator applies, over the words the model can see.

At each step only the row's best :data:`TOP_K` tokens are looked at, best first: a token may go on with the current
word only while the word stays the start of a real one, and may end a word (a space, a line break, punctuation, the
end of the output) only when the word is complete. Words shorter than three letters are not checked, as in the
validator. A word of another script must be one of the prompt's own: the validator leaves such words alone, and a
small model otherwise escapes the rule through them ("artемis", Cyrillic letters in "artemis"). Greedy decoding
takes the best allowed token (the same choice as masking the whole vocabulary); sampling draws among the allowed
tokens of the top :data:`TOP_K`. A row none of whose top tokens is allowed keeps its best one: its line is then
dropped by the validator, as before.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable, Sequence

import torch

from models.text import STOPWORDS
from models.vocabulary import CHECKED_MIN_CHARS, VOCABULARY_MIN_SHARE, corpus_vocabulary, known_forms, word_forms

TOP_K = 64
_WORD = re.compile(r"[^\W\d_]+")
_RUN = re.compile(r"(?:[^\W\d_]|\ufffd)+|.", re.DOTALL)  # a run of letters, or one other character


class Lexicon:
    """Words a query may use: ``complete(word)`` when one of its forms is known, ``starts(prefix)`` when some known
    word begins with it (a complete word starts itself)."""

    def __init__(self, forms: Iterable[str]):
        self.forms = frozenset(forms)
        self.sorted = sorted(self.forms)

    def complete(self, word: str) -> bool:
        return bool(word_forms(word) & self.forms)

    def starts(self, prefix: str) -> bool:
        i = bisect.bisect_left(self.sorted, prefix)
        return (i < len(self.sorted) and self.sorted[i].startswith(prefix)) or self.complete(prefix)


class RowLexicon:
    """The shared news lexicon together with one prompt's own words."""

    def __init__(self, news: Lexicon, own: Lexicon):
        self.news, self.own = news, own

    def complete(self, word: str) -> bool:
        return self.news.complete(word) or self.own.complete(word)

    def starts(self, prefix: str) -> bool:
        return self.news.starts(prefix) or self.own.starts(prefix)


@functools.cache
def news_lexicon() -> Lexicon:
    """The shipped news vocabulary (every word's forms) as a :class:`Lexicon`, built once per process."""
    return Lexicon(corpus_vocabulary())


def prompt_words(prompt: str) -> set[str]:
    """The lower-cased words of a prompt (letters only), the words a query may take from it."""
    return {w.lower() for w in _WORD.findall(prompt)}


def activity_words(prompt: str) -> set[str]:
    """The lower-cased words of the prompt's last ``<activity>`` block (the user's own signals; a worked example's
    block comes before it), or of the whole prompt when it has none."""
    tag = "<activity>\n"
    start, end = prompt.rfind(tag), prompt.rfind("</activity>")
    return prompt_words(prompt[start + len(tag):end] if 0 <= start < end else prompt)


@functools.cache
def stopword_lexicon() -> Lexicon:
    """The stopwords alone: with it, the own-words rule lets a row write only its user's words and function words."""
    return Lexicon(known_forms(STOPWORDS))


def checked(word: str) -> bool:
    """Does the rule check ``word``: is it at least :data:`models.vocabulary.CHECKED_MIN_CHARS` long?"""
    return len(word) >= CHECKED_MIN_CHARS


def walk(word: str, text: str, lexicon) -> tuple[bool, str]:
    """``(allowed, the word in progress after it)``: what writing ``text`` does to a row whose current word so far
    is ``word``. Each run of letters extends the word, which must stay the start of a real word; anything else ends
    it, and an ended word must be complete. The word in progress is followed whether or not the text is allowed (a
    row that had no allowed token wrote one anyway). A character split across tokens ("\ufffd" until its last byte
    comes) is checked once whole."""
    allowed = True
    for run in _RUN.findall(text):
        if run[0].isalpha() or run[0] == "\ufffd":
            word += run.lower()
            allowed = allowed and not (checked(word) and not lexicon.starts(word.split("\ufffd", 1)[0]))
        else:
            allowed = allowed and not (checked(word) and not lexicon.complete(word))
            word = ""
    return allowed, word


class RealWords:
    """A ``LogitsProcessor`` that keeps each row to real words (module docstring). ``row_words[i]`` are the own
    words of the prompt row ``i`` decodes (repeat them for several samples per prompt); a row whose entry is None
    is not checked (a reader the news vocabulary does not speak for). ``token_text(id)`` is a token's text as it
    decodes in the middle of a line (a leading space kept); ``end_ids`` end a row and count as a line break."""

    def __init__(self, news: Lexicon, row_words: Sequence[set[str] | None], prompt_len: int, token_text,
                 end_ids: Iterable[int] = (), greedy: bool = True, top_k: int = TOP_K):
        self.rows = [None if words is None else RowLexicon(news, Lexicon(known_forms(words))) for words in row_words]
        self.prompt_len, self.token_text, self.greedy, self.top_k = prompt_len, token_text, greedy, top_k
        self.end_ids = set(end_ids)
        self.words = [""] * len(self.rows)  # each row's word in progress
        self.allowed = self.blocked = 0  # tokens looked at that the rule let through / turned away

    def _text(self, token: int) -> str:
        return "\n" if token in self.end_ids else self.token_text(token)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if input_ids.shape[0] != len(self.rows):
            raise ValueError(f"{input_ids.shape[0]} rows decoding, {len(self.rows)} prompts' words given")
        if input_ids.shape[1] > self.prompt_len:  # the token each row wrote at the last step
            for row, token in enumerate(input_ids[:, -1].tolist()):
                if self.rows[row] is not None:
                    self.words[row] = walk(self.words[row], self._text(token), self.rows[row])[1]
        k = min(self.top_k, scores.shape[1])
        top = torch.topk(scores, k, dim=1)
        keep = torch.zeros_like(scores, dtype=torch.bool)
        for row, (values, ids) in enumerate(zip(top.values.tolist(), top.indices.tolist())):
            lexicon = self.rows[row]
            if lexicon is None:
                keep[row] = True
                continue
            chosen = []
            for value, token in zip(values, ids):
                if value == float("-inf"):
                    break
                if walk(self.words[row], self._text(token), lexicon)[0]:
                    chosen.append(token)
                    self.allowed += 1
                    if self.greedy:
                        break
                else:
                    self.blocked += 1
            keep[row, chosen or ids[:1]] = True
        return scores.masked_fill(~keep, float("-inf"))


def row_words(prompts: Sequence[str], news: Lexicon, n: int = 1, words_of=prompt_words) -> list[set[str] | None]:
    """Each decoding row's own words for ``prompts`` (``n`` rows per prompt): ``words_of(prompt)`` (the prompt's
    words, or :func:`activity_words`), or None where fewer than :data:`models.vocabulary.VOCABULARY_MIN_SHARE` of
    them are news words (the rule stands aside for a reader who writes in another language, as the validator
    does)."""
    out: list[set[str] | None] = []
    for prompt in prompts:
        words = words_of(prompt)
        checked_words = [w for w in words if checked(w)]
        share = sum(news.complete(w) for w in checked_words) / len(checked_words) if checked_words else 1.0
        out.extend([words if share >= VOCABULARY_MIN_SHARE else None] * n)
    return out
