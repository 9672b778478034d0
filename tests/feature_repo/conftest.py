"""A real redis-server for the Redis online-store tests, started on a free port in a temporary folder (never a
system service). Missing redis-server fails these tests with what to install: a skipped test is not a pass."""

from __future__ import annotations

import shutil
from contextlib import ExitStack

import pytest

from streams.demo import local_redis


@pytest.fixture(scope="session")
def redis_server_addr(tmp_path_factory):
    """``host:port`` of a fresh redis-server (no persistence) for the session."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: the Redis online-store tests need the real server. Install it "
                    "with `apt-get install redis-server` (.ci/run does this), then run the tests again.",
                    pytrace=False)
    with ExitStack() as stack:
        try:
            addr = stack.enter_context(local_redis(tmp_path_factory.mktemp("redis")))
        except RuntimeError as exc:  # it did not start: its log says why
            pytest.fail(str(exc), pytrace=False)
        yield addr


@pytest.fixture
def redis_store_cfg(redis_server_addr, tmp_path):
    """A Feast config on the session's redis-server, with its own registry folder and an empty database."""
    import redis

    from feature_repo.config import FeatureStoreConfig

    host, port = redis_server_addr.split(":")
    redis.Redis(host=host, port=int(port)).flushall()
    return FeatureStoreConfig(data_dir=tmp_path / "feast", online_store="redis", redis_connection=redis_server_addr)
