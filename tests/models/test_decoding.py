"""No n-gram twice within a completion; the prompt is not looked at."""

from __future__ import annotations

import pytest
import torch

from models.decoding import NoRepeatInCompletion


def test_the_token_that_would_repeat_a_generated_trigram_is_banned():
    rule = NoRepeatInCompletion(3, prompt_len=2)
    # prompt [9, 9]; generated 5 6 1 5 6: the trigram (5, 6, 1) was written, so after (5, 6) token 1 is banned
    ids = torch.tensor([[9, 9, 5, 6, 1, 5, 6], [9, 9, 5, 6, 1, 7, 8]])
    scores = rule(ids, torch.zeros(2, 10))
    assert scores[0, 1] == float("-inf") and torch.isfinite(scores[0, [0, 2, 3, 4, 5, 6, 7, 8, 9]]).all()
    assert torch.isfinite(scores[1]).all()  # (7, 8) was never followed by anything


def test_ngrams_of_the_prompt_may_be_copied():
    rule = NoRepeatInCompletion(2, prompt_len=3)
    ids = torch.tensor([[4, 5, 4, 4]])  # prompt 4 5 4; generated 4: (4, 5) is in the prompt only
    assert torch.isfinite(rule(ids, torch.zeros(1, 8))).all()


def test_n_below_two_is_refused():
    with pytest.raises(ValueError):
        NoRepeatInCompletion(1, prompt_len=0)
