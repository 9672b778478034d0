"""A trimmed output vocabulary for the served model's head.

SmolLM2's output projection is tied to its 49,152-token embedding: in a decoding step its multiply-adds equal
about 8 of the teacher's 30 layers, while a query list is written with a few thousand tokens. A
:class:`TrimmedHead` computes logits for a kept set only (the tokens the teacher wrote in its lists,
:func:`written_tokens`, plus each batch's own prompt tokens, so a query can still copy any word of the user's
activity, plus the end and line-break tokens) and leaves every other token at ``-inf``. ``generate``, the logits
processors and the tokenizer keep working on the full vocabulary's ids.

The kept set also constrains what the model can write: it never emits a token outside it, which is the point
(words of neither the user's activity nor the teacher's lists are the invented words the validator rejects).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from pathlib import Path

import torch


class TrimmedHead(torch.nn.Module):
    """Logits over the full vocabulary in which only ``keep`` is computed (``hidden @ weight[keep].T``); every other
    token is ``-inf``. :meth:`keep_tokens` changes the kept set (per batch); the weight rows are gathered once per
    change."""

    def __init__(self, weight: torch.Tensor, keep: Iterable[int] = ()):
        super().__init__()
        self.weight = weight  # the full head (tied to the embeddings: not copied, not trained)
        self.vocab_size = weight.shape[0]
        self.keep_tokens(keep)

    def keep_tokens(self, keep: Iterable[int]) -> None:
        ids = sorted({int(i) for i in keep})
        if any(i < 0 or i >= self.vocab_size for i in ids):
            raise ValueError(f"a kept token id is outside the vocabulary of {self.vocab_size}")
        self.keep = torch.tensor(ids, dtype=torch.long, device=self.weight.device)
        self.rows = self.weight.detach().index_select(0, self.keep)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        part = hidden @ self.rows.T
        out = part.new_full((*hidden.shape[:-1], self.vocab_size), float("-inf"))
        out[..., self.keep] = part
        return out


def trim(model, keep: Iterable[int]) -> TrimmedHead:
    """Replace ``model``'s output projection by a :class:`TrimmedHead` over its weight (done once; later calls only
    change the kept set). Returns the head."""
    head = model.get_output_embeddings()
    if isinstance(head, TrimmedHead):
        head.keep_tokens(keep)
        return head
    if getattr(head, "bias", None) is not None:
        raise ValueError("a trimmed head needs an output projection without bias")
    trimmed = TrimmedHead(head.weight, keep)
    model.set_output_embeddings(trimmed)
    return trimmed


def written_tokens(tokenizer, texts: Iterable[str]) -> set[int]:
    """The token ids of ``texts`` (a teacher's lists) as the tokenizer splits them, plus the same lines with a
    leading space (a word mid-line is tokenized with its space)."""
    ids: set[int] = set()
    for text in texts:
        for line in text.splitlines():
            for variant in (line, " " + line):
                ids.update(tokenizer(variant, add_special_tokens=False)["input_ids"])
    return ids


def list_texts(path: Path | str) -> list[str]:
    """The lists of a KD cache or a hindsight-targets file (JSON lines, gzipped or not, with a ``text`` field each)."""
    path = Path(path)
    with (gzip.open if path.suffix == ".gz" else open)(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line)["text"] for line in handle if line.strip()]
