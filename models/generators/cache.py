"""Completions remembered by prompt, for offline evaluation: a benchmark rerun after a change of the validator, the
fill or the fusion reads the model's outputs back instead of generating them again (minutes of CPU per 100 users).

One JSON line per completion in an append-only file; the key is a hash of the model version, the templated prompt
and the decoding settings, so another model, prompt or temperature never reads a stale entry. Off unless
``INTERESTS_GEN_COMPLETION_CACHE`` names a file; the generator worker never sets it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


class CompletionCache:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._items: dict[str, list[str]] = {}
        if self.path.exists():
            with self.path.open(encoding="utf-8") as handle:
                for line in handle:
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError:  # a line cut by a killed run: that completion is made again
                        continue
                    self._items[row["key"]] = row["completions"]

    @staticmethod
    def key(version: str, prompt: str, **settings) -> str:
        text = json.dumps([version, prompt, sorted(settings.items())], ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def get(self, key: str) -> list[str] | None:
        return self._items.get(key)

    def put(self, key: str, completions: list[str]) -> None:
        self._items[key] = list(completions)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"key": key, "completions": list(completions)}, ensure_ascii=False) + "\n")

    def __len__(self) -> int:
        return len(self._items)
