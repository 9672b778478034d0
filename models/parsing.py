"""Parses a model's raw output into a clean list of queries, and validates it. Lenient about format (bullets,
numbering, quotes, comma-joined lists), strict about content (length, duplicates, echoed instructions, PII)."""

from __future__ import annotations

import re

from models.privacy import contains_pii
from models.text import content_words

MIN_CHARS, MAX_CHARS, MAX_WORDS = 3, 80, 8
_BULLET = re.compile(r"^\s*(?:[-*•·]+\s*|(?:\d+[.):]|\(\d+\)|[a-z][.)])\s+)", re.IGNORECASE)
_PREFIX = re.compile(r"^\s*(?:search\s+)?(?:query|queries|q)\s*\d*\s*[:\-]\s*", re.IGNORECASE)
_QUOTES = "\"'“”‘’`"
_ECHO = re.compile(r"https?:|www\.|\.com\b|search quer|this reader|this user|the reader|the user|<\s*/?\s*activity|news read|pages visited|social activity|"
                   r"instructions|system prompt|as an ai", re.IGNORECASE)


class InvalidOutput(ValueError):
    """The output holds no usable query."""


def _candidates(text: str) -> list[str]:
    pieces = []
    for line in re.split(r"[\n;]+", text):
        line = _PREFIX.sub("", _BULLET.sub("", line)).strip().strip(_QUOTES).strip()
        if not line:
            continue
        # a comma-joined list on one line ("a, b, c") counts as several queries
        if "," in line and len(line.split()) > MAX_WORDS:
            pieces.extend(p.strip() for p in line.split(","))
        else:
            pieces.append(line)
    return pieces


def normalise(query: str) -> str:
    # quotes again after the punctuation: '"query".' is a quoted query followed by a full stop
    return " ".join(query.strip().strip(_QUOTES).strip().rstrip(".!?:").strip().strip(_QUOTES).strip().split())


def parse_queries(text: str, max_queries: int) -> list[str]:
    """Up to ``max_queries`` distinct, valid queries in output order. Raises :class:`InvalidOutput` when none."""
    out, seen = [], set()
    for piece in _candidates(text):
        query = normalise(piece)
        key = query.lower()
        if not (MIN_CHARS <= len(query) <= MAX_CHARS) or len(query.split()) > MAX_WORDS or key in seen:
            continue
        if _ECHO.search(query) or contains_pii(query) or not re.search(r"[^\W\d_]", query):
            continue
        seen.add(key)
        out.append(query)
        if len(out) == max_queries:
            break
    if not out:
        raise InvalidOutput(f"no valid query in the model output: {text[:200]!r}")
    return out


def grounded(queries: list[str], history_texts: list[str]) -> list[str]:
    """Keep the queries that share a content word with the user's own signals. A small model otherwise copies the
    prompt's worked example or invents topics; a query about nothing the user did is not an interest feature."""
    vocabulary = set().union(*(content_words(t) for t in history_texts)) if history_texts else set()
    return [q for q in queries if content_words(q) & vocabulary]
