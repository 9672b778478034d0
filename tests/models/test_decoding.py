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


def test_list_complete_stops_a_row_once_it_has_written_its_lines():
    import torch

    from models.decoding import ListComplete

    stop = ListComplete(2, prompt_len=2, newline_ids=[9, 10])  # 9 = "\n", 10 = "\n\n" in this toy vocabulary
    ids = torch.tensor([[9, 9, 1, 9, 2, 9],    # the prompt's line breaks do not count; two in the completion
                        [1, 1, 1, 10, 2, 3],   # one break token
                        [1, 1, 2, 3, 4, 5]])
    assert stop(ids, None).tolist() == [True, False, False]
    with pytest.raises(ValueError):
        ListComplete(0, 2, [9])
    long_line = ListComplete(5, prompt_len=1, newline_ids=[9], max_line_tokens=3)
    ids = torch.tensor([[7, 1, 9, 1, 1, 1],    # its second line has run 3 tokens: no query is that long
                        [7, 1, 1, 9, 1, 1],    # 2 tokens since its break
                        [7, 1, 1, 1, 9, 1]])
    assert long_line(ids, None).tolist() == [True, False, False]


def test_newline_tokens_of_the_students_tokenizer():
    from models.decoding import newline_tokens
    from tests.tiny_models import student_tokenizer

    tokenizer = student_tokenizer()
    ids = newline_tokens(tokenizer)
    assert tokenizer("\n", add_special_tokens=False)["input_ids"][0] in ids
    assert all("\n" in tokenizer.decode([i]) for i in ids) and len(ids) < 1000
    assert tokenizer("tennis", add_special_tokens=False)["input_ids"][0] not in ids


def test_stop_at_list_ends_generation_after_the_asked_lines(tmp_path, monkeypatch):
    from models.config import GeneratorConfig
    from models.generators.transformers_backend import TransformersGenerator
    from tests.tiny_models import save_tiny_llama

    folder = save_tiny_llama(tmp_path / "tiny", manifest={"name": "tiny", "version": "t"})
    generator = TransformersGenerator(folder, GeneratorConfig(max_new_tokens=12, num_queries=2, stop_at_list=True,
                                                              engine="transformers"))
    newline = generator.tokenizer("\n", add_special_tokens=False)["input_ids"][0]
    word = generator.tokenizer("news", add_special_tokens=False)["input_ids"][0]
    script = [word, newline, word, newline] + [word] * 8  # a model that would ramble after its two lines

    def forced(input_ids, scores):  # the tiny model writes the script, whatever it would have chosen
        step = input_ids.shape[1] - forced.prompt_len
        scores[:] = float("-inf")
        scores[:, script[step]] = 0.0
        return scores

    real = generator.model.generate

    def generate(**kwargs):
        from transformers import LogitsProcessorList

        forced.prompt_len = kwargs["input_ids"].shape[1]
        return real(**kwargs, logits_processor=LogitsProcessorList([forced]))

    monkeypatch.setattr(generator.model, "generate", generate)
    [text] = generator.complete(["<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"])
    assert text.split() == ["news", "news"]  # without the rule the row would write all 12 tokens
