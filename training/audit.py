"""What a served query list is made of, counted over benchmark users: how many queries each user got and from
whom (the model, the fill, the fallback), and how many repeat the prompt's fixed text or hold an invented word,
a garbled copy of the user's own word ("amazon prim login") or a run of their words with one swapped for a word
they never wrote ("nigerian puppet performers" for "chinese puppet performers"), both in the served lists (0 is the
target: the validator drops them) and in the model's raw output (what the validator had to drop)."""

from __future__ import annotations

from collections import Counter

import numpy as np

from models.parsing import (InvalidOutput, own_words, parse_queries, query_words_problem, signal_words,
                            written_words)


def by_other(row: dict, model: str | None) -> bool:
    """Did another generator than ``model`` (the served version; the fallback) write the row's list whole?"""
    maker = str(row.get("made_by") or "").split("+", 1)[0]
    return bool(model and maker and maker != model)


def model_queries(row: dict, model: str | None) -> int:
    """How many of a row's served queries the model wrote: all but the fill's, none when the fallback wrote it."""
    return 0 if by_other(row, model) else len(row.get("queries") or []) - int(row.get("filled") or 0)


def audit(per_user: list[dict], histories: dict[str, list[dict]], num_queries: int = 5, model: str | None = None
          ) -> dict:
    """Counts over ``per_user`` evaluation rows (``training/evaluate.py``: queries, made_by, filled, raw);
    ``model`` is the served version, so that a list the fallback made counts no query as the model's."""
    served = [r.get("queries") or [] for r in per_user]
    copies = invented = garbled = swapped = raw_copies = raw_invented = raw_garbled = raw_swapped = raw_queries = 0
    for row, queries in zip(per_user, served):
        texts = [s["text"] for s in histories[row["user_id"]]]
        own, check = own_words(texts)
        written, signals = written_words(texts), signal_words(texts)
        for q in queries:
            problem = query_words_problem(q, own, check, written, signals)
            copies += problem == "copies the prompt"
            invented += bool(problem and problem.startswith("invented"))
            garbled += bool(problem and problem.startswith("garbled"))
            swapped += bool(problem and problem.startswith("swapped"))
        try:
            raw = parse_queries(row.get("raw") or "", num_queries * 4)
        except InvalidOutput:
            raw = []
        raw_queries += len(raw)
        # the copy check comes first
        problems = [query_words_problem(q, own, check, written, signals) or "" for q in raw]
        raw_copies += sum(p == "copies the prompt" for p in problems)
        raw_invented += sum(p.startswith("invented") for p in problems)
        raw_garbled += sum(p.startswith("garbled") for p in problems)
        raw_swapped += sum(p.startswith("swapped") for p in problems)
    filled = [int(r.get("filled") or 0) for r in per_user]
    makers = Counter(r.get("made_by", "") for r, q in zip(per_user, served) if q)
    return {
        "users": len(per_user),
        "mean_queries": round(float(np.mean([len(q) for q in served])), 3) if served else 0.0,
        "mean_model_queries": round(float(np.mean([model_queries(r, model) for r in per_user])), 3)
        if served else 0.0,
        "users_without_list": sum(not q for q in served),
        # lists another generator (the fallback) wrote whole: counted when the served version is known
        "users_by_fallback_alone": sum(1 for r in per_user if r.get("queries") and by_other(r, model))
        if model else None,
        # queries the model's own samples added to a short list (models/generators/topup.py): counted as the model's
        "users_topped_up": sum(int(r.get("topped_up") or 0) > 0 for r in per_user),
        "topped_up_queries": sum(int(r.get("topped_up") or 0) for r in per_user),
        "users_filled": sum(f > 0 for f in filled),
        "filled_queries": sum(filled),
        "lists_by_maker": dict(makers.most_common()),
        "served_prompt_copies": copies,
        "served_invented": invented,
        "served_garbled": garbled,
        "served_swapped": swapped,
        "raw_queries": raw_queries,
        "raw_prompt_copies": raw_copies,
        "raw_invented": raw_invented,
        "raw_garbled": raw_garbled,
        "raw_swapped": raw_swapped,
    }
