"""Decoding rules of the generator's own: no n-gram repeated within a completion, and a row that has written its
whole list stops.

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


def newline_tokens(tokenizer) -> list[int]:
    """Ids of the vocabulary's tokens whose text holds a line break (``"\n"``, ``"\n\n"``, ``".\n"`` ...)."""
    vocab = tokenizer.get_vocab()
    ids = [i for i in vocab.values() if "\n" in tokenizer.decode([i])]
    return sorted(ids)


class ListComplete:
    """A ``StoppingCriteria``: a row is done once its generated part (tokens after ``prompt_len``) holds
    ``num_queries`` line breaks (it has written a whole list), or once its current line has run ``max_line_tokens``
    tokens without a break (no query is that long: the parser refuses a line of more than 8 words or 80 characters,
    and a line cut here is dropped as unfinished); ``generate`` ends the batch when every row is done or has ended.
    One rambling row ("jim jim jim ...") otherwise keeps the whole batch decoding to the token limit. The parser
    reads a line after the ``num_queries``-th only in place of an invalid or repeated one: the rule trades those
    spare lines for time (``INTERESTS_GEN_STOP_AT_LIST``)."""

    def __init__(self, num_queries: int, prompt_len: int, newline_ids: list[int], max_line_tokens: int = 24):
        if num_queries < 1 or max_line_tokens < 1:
            raise ValueError(f"num_queries and max_line_tokens must be >= 1, got {num_queries}, {max_line_tokens}")
        self.num_queries, self.prompt_len, self.max_line_tokens = num_queries, prompt_len, max_line_tokens
        self.newline_ids = torch.tensor(sorted(set(newline_ids)), dtype=torch.long)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs) -> torch.BoolTensor:
        generated = input_ids[:, self.prompt_len:]
        is_break = torch.isin(generated, self.newline_ids.to(generated.device))
        width = generated.shape[1]
        positions = torch.arange(width, device=generated.device).expand_as(generated)
        last_break = torch.where(is_break, positions, torch.full_like(positions, -1)).max(dim=1).values
        line_tokens = width - 1 - last_break
        return (is_break.sum(dim=1) >= self.num_queries) | (line_tokens >= self.max_line_tokens)
