"""The non-LLM baseline: salient key phrases of the recent history (RAKE-style phrase scoring with recency and
domain weights). Cheap, deterministic, and the comparison point for the student model."""

from __future__ import annotations

import math
import re
from collections import defaultdict

from models.generators.base import Generation, QueryGenerator, UserContext
from models.parsing import validate
from models.privacy import scrub
from models.text import POST_WORDS, STOPWORDS

DOMAIN_WEIGHT = {"click": 1.0, "search": 1.3, "social": 0.8, "browse": 0.6}
_SPLIT = re.compile(r"[^\w'\-]+")


def candidate_phrases(text: str, max_words: int = 4) -> list[list[str]]:
    """Runs of non-stopwords between stopwords and digits, capped at ``max_words``: RAKE's candidates.
    A post's lead-in and closing words (:data:`models.text.POST_WORDS`: "Worth a read:", "Interesting:", "what do
    you think?") end a phrase like a stopword, so they never join the title they frame. Other punctuation does not
    end one: ending phrases at every comma and colon cut the key phrases' NDCG@10 on the benchmark's lexical truth
    from 0.140 to 0.128 (`docs/results/2026-12-06-fusion-paired.md`)."""
    phrases, current = [], []
    for token in _SPLIT.split(text):
        word = token.strip("'-").lower()
        if not word or word in STOPWORDS or word in POST_WORDS or word.isdigit() or len(word) < 2:
            if current:
                phrases.append(current)
            current = []
            continue
        current.append(word)
        if len(current) == max_words:
            phrases.append(current)
            current = []
    if current:
        phrases.append(current)
    return phrases


def key_phrases(history: list[dict], n: int) -> list[str]:
    """Top ``n`` phrases of a history (newest first), no phrase contained in a better one."""
    weights = []
    newest = max((s["ts"] for s in history), default=0)
    for signal in history:
        age_days = max(newest - signal["ts"], 0) / 86_400_000
        recency = math.exp(-math.log(2) * age_days / 3.0)
        weights.append(recency * DOMAIN_WEIGHT.get(signal["domain"].lower(), 0.5))
    freq, degree = defaultdict(float), defaultdict(float)
    phrase_weight = defaultdict(float)
    for signal, weight in zip(history, weights):
        for phrase in candidate_phrases(scrub(signal["text"])):
            for word in phrase:
                freq[word] += weight
                degree[word] += weight * len(phrase)
            phrase_weight[tuple(phrase)] += weight
    scored = []
    for phrase, weight in phrase_weight.items():
        word_score = sum(degree[w] / freq[w] for w in phrase)
        # multi-word phrases read as queries; a lone word only when it recurs
        if len(phrase) == 1 and freq[phrase[0]] < 1.5:
            continue
        scored.append((word_score * weight, phrase))
    scored.sort(key=lambda item: (-item[0], item[1]))
    chosen: list[tuple[str, ...]] = []
    for _, phrase in scored:
        words = set(phrase)
        if any(words <= set(c) or set(c) <= words for c in chosen):
            continue
        chosen.append(phrase)
        if len(chosen) == n:
            break
    return [" ".join(p) for p in chosen]


class KeyphraseGenerator(QueryGenerator):
    version = "keyphrase@1"

    def __init__(self, num_queries: int = 5):
        self.num_queries = num_queries

    def generate(self, contexts: list[UserContext]) -> list[Generation]:
        out = []
        for context in contexts:
            # phrases from signals that read as instructions (injections) are dropped by the shared validator
            queries = validate(key_phrases(context.history, self.num_queries * 2),
                               [s["text"] for s in context.history])[: self.num_queries]
            out.append(Generation(queries, error="" if queries else "no key phrase in the history"))
        return out
