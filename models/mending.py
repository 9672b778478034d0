"""A misspelt name in a model's query put back as the reader wrote it: "medvedvedev kremlin" for a reader of
Medvedev, "uk chancellor ossborne" for a reader of Osborne, "jams webb" for a reader of James Webb.

A 135M model copies names letter by letter and slips: about a quarter of its raw queries on the benchmark hold a
word that is neither the reader's nor the news vocabulary's, and the validator drops the whole query. Where such a
word is plainly one of the reader's own words misspelt, the query is worth keeping with the reader's spelling:
a word the reader searched or read is one they recognise. A word is mended only when

- it is not the reader's (no form of it is in their signals) and is either unknown to the news vocabulary or a slip
  of one of their words (:func:`models.vocabulary.garbled_words`: "jams" of "james", "prim" of "prime");
- one of the reader's words starts with the same letter and is close to it (:data:`MIN_SIMILARITY` of
  :class:`difflib.SequenceMatcher`'s ratio), and is not merely its start with letters added at the end
  ("penspy" is not "pens", "chosenian" is not "chosen": a word with a tail of noise is not a misspelling of it).

The mended query then goes through the whole validator like any other; a query with a word no rule mends is left
as it was (and the validator drops it). The closest word wins; ties go to the more frequent word in the
reader's signals, then the alphabetically first.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Iterable

from models.parsing import fold, looks_like_instruction, own_words
from models.text import STOPWORDS
from models.vocabulary import CHECKED_MIN_CHARS, corpus_vocabulary, garbled_words, word_forms

MIN_SIMILARITY = 0.8  # "envay" -> "envoy" (0.8) mended; "trumney" -> "romney" (0.77) and "nytch" -> "nyt" not
MAX_ADDED_TAIL = 1  # "kimi" -> "kim" (one letter added at the end) mended; "penspy" -> "pens" not
_TOKEN = re.compile(r"[^\W_]+")


class Mender:
    """Mends the queries of one reader, given the texts of their signals (:meth:`mend`)."""

    def __init__(self, history_texts: Iterable[str]):
        texts = [t for t in history_texts if not looks_like_instruction(t)]  # never mend into an injection's words
        self.counts = Counter(w for t in texts for w in _TOKEN.findall(fold(t)))  # the reader's words as written
        self.written = set(self.counts)
        self.own, self.check_vocabulary = own_words(texts)
        self.targets = sorted(w for w in self.written
                              if w.isascii() and w.isalpha() and len(w) >= CHECKED_MIN_CHARS and w not in STOPWORDS)

    def _repair(self, word: str) -> tuple[bool, str | None]:
        """``(whether word needs mending, the reader's word it misspells or None)`` for ``word`` (folded letters):
        it needs mending when it is a slip of the reader's word, or neither theirs nor a news word."""
        if len(word) < CHECKED_MIN_CHARS or not word.isascii() or not word.isalpha():
            return False, None
        slipped = garbled_words(word, self.written, self.own)  # [] for the reader's own word, in any form
        if slipped:
            return True, slipped[0][1]
        forms = word_forms(word)
        if not self.check_vocabulary or forms & self.own or forms & corpus_vocabulary():
            return False, None
        return True, self._closest(word)

    def _closest(self, word: str) -> str | None:
        """The reader's word closest to ``word`` under the rules of the module docstring, or None."""
        best, best_key = None, None
        matcher = difflib.SequenceMatcher(autojunk=False)
        matcher.set_seq2(word)
        for own in self.targets:
            if own[0] != word[0] or (word.startswith(own) and len(word) - len(own) > MAX_ADDED_TAIL):
                continue
            matcher.set_seq1(own)
            if matcher.real_quick_ratio() < MIN_SIMILARITY or matcher.quick_ratio() < MIN_SIMILARITY:
                continue
            ratio = matcher.ratio()
            if ratio < MIN_SIMILARITY:
                continue
            key = (ratio, self.counts[own])
            if best_key is None or key > best_key:  # ties: the alphabetically first (targets are sorted)
                best, best_key = own, key
        return best

    def word(self, word: str) -> str | None:
        """The reader's word that ``word`` (folded letters) misspells, or None (see the module docstring)."""
        return self._repair(word)[1]

    def mend(self, query: str) -> str:
        """``query`` with each word that misspells one of the reader's replaced by it (folded, as the validator
        compares words); ``query`` itself when nothing needs mending or a word needs it and cannot be mended (the
        validator then decides on the query as written)."""
        folded = fold(query)
        out, position = [], 0
        for match in _TOKEN.finditer(folded):
            if match.start() < position:
                continue  # a word already taken as a mended word's tail
            needed, mended = self._repair(match.group())
            if not needed:
                continue
            if mended is None:
                return query
            out += [folded[position:match.start()], mended]
            position = match.end()
            if mended.startswith(match.group()):  # "spill way" for "spillway": the tail is the next word
                tail = re.match(rf"[\s-]*{re.escape(mended[len(match.group()):])}\b", folded[position:])
                position += tail.end() if tail else 0
        if not out:
            return query
        return " ".join("".join([*out, folded[position:]]).split())

    def mend_all(self, queries: list[str]) -> list[str]:
        """Each of ``queries`` mended (:meth:`mend`), the order kept and a mended query that repeats an earlier one
        dropped."""
        out: list[str] = []
        for query in queries:
            mended = self.mend(query)
            if mended not in out:
                out.append(mended)
        return out


def mend_queries(queries: list[str], history_texts: Iterable[str]) -> list[str]:
    """``queries`` mended for the reader of ``history_texts`` (:meth:`Mender.mend_all`)."""
    return Mender(history_texts).mend_all(queries) if queries else []
