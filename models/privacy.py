"""Scrubs personal data from user text before it reaches a model or a feature: emails, phone numbers, card-like
numbers, and secrets in URLs. Pure regex; conservative (a false positive costs a word, a miss leaks data)."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
# 13-19 digits, optionally grouped by spaces or dashes (payment cards)
_CARD = re.compile(r"(?<!\d)(?:\d[ \-]?){12,18}\d(?!\d)")
# phone numbers: optional +country, at least 7 digits with separators, parentheses allowed
_PHONE = re.compile(r"(?<![\w])(?:\+\d{1,3}[\s.\-]?)?(?:\(\d{1,4}\)[\s.\-]?)?\d{2,4}(?:[\s.\-]?\d{2,4}){2,4}(?![\w])")
_SECRET_PARAM = re.compile(r"(?i)(?:^|[&;])(?:access_token|token|api_key|apikey|key|sig|signature|secret|password|pwd|auth|"
                           r"session|sessionid|code)=")


def _clean_url(match: re.Match) -> str:
    url = match.group(0)
    base, _, query = url.partition("?")
    if query and _SECRET_PARAM.search(query):
        return base
    return url


_DATE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{4}$")


def _phone_like(candidate: str) -> bool:
    return sum(c.isdigit() for c in candidate) >= 7 and not _DATE.match(candidate.strip())


def scrub(text: str) -> str:
    """Replace personal data with placeholders: ``[email]``, ``[card]``, ``[phone]``; drop secret URL params."""
    text = _EMAIL.sub("[email]", text)
    text = _URL.sub(_clean_url, text)
    text = _CARD.sub(lambda m: "[card]" if sum(c.isdigit() for c in m.group(0)) >= 13 else m.group(0), text)
    text = _PHONE.sub(lambda m: "[phone]" if _phone_like(m.group(0)) else m.group(0), text)
    return text


def contains_pii(text: str) -> bool:
    return scrub(text) != text
