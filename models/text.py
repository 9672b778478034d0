"""Small text helpers shared by the generators and the output validator."""

from __future__ import annotations

import re

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers him his how i if in into is it its itself just me more most my no nor not now of off on once only or other
    our out over own same she should so some such than that the their them then there these they this those
    through to too under until up very was we were what when where which while who whom why will with would you
    your new says said say after amid over vs via how why what live latest update updates news today week year
    http https www com html""".split()
)
_WORD = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*")
# words that lead into or close a shared post or a comment ("Worth a read:", "Interesting:", "Thoughts on",
# "what do you think?"): never a query's word, as a reader would not search them
POST_WORDS = frozenset("read worth interesting important thoughts think piece thread wow breaking rt lol omg".split())
_LEAD_IN = re.compile(r"^(?:(?:worth a read|must read|good piece on|so true about|thoughts on|read|interesting|"
                      r"important|breaking)\b[\s:,\-–—]*)+", re.IGNORECASE)


def strip_lead_in(text: str) -> str:
    """``text`` without a post's lead-in words at its start: "read george osborne" is "george osborne"."""
    return _LEAD_IN.sub("", text).strip()


def content_words(text: str) -> set[str]:
    """Lower-cased words of 3+ characters that are not stopwords or numbers."""
    return {w for w in (m.group(0).lower() for m in _WORD.finditer(text))
            if len(w) >= 3 and w not in STOPWORDS and not w.isdigit()}
