"""A real redis-server for the Redis online-store tests, started on a free port in a temporary folder (never a
system service). Missing redis-server fails these tests with what to install: a skipped test is not a pass."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from streams.demo import free_ports
from tests.feature_repo.procs import stop


@pytest.fixture(scope="session")
def redis_server_addr(tmp_path_factory):
    """``host:port`` of a fresh redis-server (no persistence) for the session."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is not installed: the Redis online-store tests need the real server. Install it "
                    "with `apt-get install redis-server` (.ci/run does this), then run the tests again.",
                    pytrace=False)
    import redis

    folder = tmp_path_factory.mktemp("redis")
    (port,) = free_ports(1)
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", "",
                             "--appendonly", "no", "--logfile", str(folder / "redis.log")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
    deadline = time.monotonic() + 20
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"redis-server exited with {proc.returncode}: {(folder / 'redis.log').read_text()}")
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    pytest.fail(f"redis-server on port {port} did not answer PING in 20 s")
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        client.close()
        stop(proc, timeout=10)


@pytest.fixture
def redis_store_cfg(redis_server_addr, tmp_path):
    """A Feast config on the session's redis-server, with its own registry folder and an empty database."""
    import redis

    from feature_repo.config import FeatureStoreConfig

    host, port = redis_server_addr.split(":")
    redis.Redis(host=host, port=int(port)).flushall()
    return FeatureStoreConfig(data_dir=tmp_path / "feast", online_store="redis", redis_connection=redis_server_addr)
