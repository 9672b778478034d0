"""Settings from the environment and the cache folder: what every package's one settings object is built with."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path


def cache_dir() -> Path:
    """Where environments, jars, converted models and runtime state live (outside the clone)."""
    return Path(os.environ.get("INTERESTS_CACHE", Path.home() / ".cache" / "interests"))


def portable(text: str) -> str:
    """``text`` with this machine's cache folder written as ``$INTERESTS_CACHE``: what a committed manifest, model
    card or result may say about a path."""
    return str(text).replace(str(cache_dir()), "$INTERESTS_CACHE")


def from_env(cls, env=None, overrides=None, prefix="INTERESTS_"):
    """Build a frozen dataclass from ``<prefix><FIELD>`` variables, casting to each field's type."""
    env = os.environ if env is None else env
    values = {}
    for f in dataclasses.fields(cls):
        raw = env.get(f"{prefix}{f.name.upper()}")
        if raw is None:
            continue
        kind = f.type if isinstance(f.type, type) else {"int": int, "float": float, "bool": bool, "Path": Path}.get(
            str(f.type), str
        )
        try:
            if kind is bool:
                values[f.name] = raw.strip().lower() in {"1", "true", "yes", "on"}
            else:
                values[f.name] = kind(raw)
        except ValueError:
            raise ValueError(f"{prefix}{f.name.upper()}={raw!r} is not a valid {kind.__name__}") from None
    values.update(overrides or {})
    return cls(**values)
