"""Decoding rules of the generator's own: no n-gram repeated within a completion.

A 135M model decoding greedily falls into loops ("mould pipes", "mould pipes", ... until the token budget ends):
the parser keeps one copy, so the list ends short and the rest of the budget is wasted. Banning any n-gram already
written *in the completion* makes the model move on to another query. Unlike transformers' own
``no_repeat_ngram_size``, the prompt is not looked at: a query may still copy words of the user's activity.
"""

from __future__ import annotations

import torch


class NoRepeatInCompletion:
    """A ``LogitsProcessor``: the token that would complete an ``n``-gram already present in the generated part of a
    row (tokens after ``prompt_len``) gets probability 0."""

    def __init__(self, n: int, prompt_len: int):
        if n < 2:
            raise ValueError(f"n must be >= 2, got {n}")
        self.n, self.prompt_len = n, prompt_len

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        generated = input_ids[:, self.prompt_len:]
        if generated.shape[1] < self.n:
            return scores
        rows = generated.tolist()
        for row, tokens in enumerate(rows):
            prefix = tuple(tokens[len(tokens) - self.n + 1:])
            banned = {tokens[i + self.n - 1] for i in range(len(tokens) - self.n + 1)
                      if tuple(tokens[i:i + self.n - 1]) == prefix}
            if banned:
                scores[row, list(banned)] = float("-inf")
        return scores
