"""The one configuration object of the Feast side. Fields read ``INTERESTS_FEAST_<FIELD>`` from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from common.settings import cache_dir, from_env


@dataclass(frozen=True)
class FeatureStoreConfig:
    data_dir: Path = field(default_factory=lambda: cache_dir() / "state" / "feast")  # registry + SQLite store
    online_store: str = "sqlite"  # "sqlite" (embedded, default) or "redis" (deployment)
    redis_connection: str = "127.0.0.1:6379"  # host:port[,db=N] when online_store is "redis"
    project: str = "interests"
    offline_log: bool = True  # also append every written row to the offline store (Parquet under data_dir/offline)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "FeatureStoreConfig":
        return from_env(cls, os.environ if env is None else env, overrides, prefix="INTERESTS_FEAST_")
