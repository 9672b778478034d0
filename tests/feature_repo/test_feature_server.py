"""A ranker's lookup through Feast's HTTP feature server (``interests features serve``, a real process) over the
real online store, SQLite and Redis: rows pushed after the server started are served with queries and embeddings."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from feature_repo.config import FeatureStoreConfig
from feature_repo.server import FeatureServerError, healthy, lookup
from feature_repo.store import open_store, push_rows
from streams.demo import free_ports
from tests.feature_repo.procs import stop
from tests.feature_repo.rows import feature_row

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def start_server(cfg: FeatureStoreConfig, log: Path):
    (port,) = free_ports(1)
    env = {**os.environ, "INTERESTS_FEAST_DATA_DIR": str(cfg.data_dir), "INTERESTS_FEAST_ONLINE_STORE": cfg.online_store,
           "INTERESTS_FEAST_REDIS_CONNECTION": cfg.redis_connection}
    proc = subprocess.Popen([sys.executable, "-m", "interests_cli", "features", "serve", "--port", str(port)], env=env,
                            cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while not healthy(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the feature server did not come up (exit {proc.poll()}): {log.read_text()[-3000:]}")
        time.sleep(0.5)
    return proc, url


@pytest.fixture(params=["sqlite", "redis"])
def store_cfg(request, tmp_path):
    if request.param == "redis":
        return request.getfixturevalue("redis_store_cfg")
    return FeatureStoreConfig(data_dir=tmp_path / "feast")


def test_ranker_lookup_over_http_returns_pushed_queries_and_embeddings(store_cfg, tmp_path):
    proc, url = start_server(store_cfg, tmp_path / "feature-server.log")
    try:
        rows = [feature_row("alice", ["arsenal title race", "saka injury news"], seed=1),
                feature_row("bob", ["ecb interest rates", "euro inflation"], seed=2)]
        push_rows(open_store(store_cfg, apply=True), rows)  # as the generator worker does, after the server started

        got = lookup(url, ["alice", "ghost", "bob"])
        assert [r["user_id"] for r in got] == ["alice", "ghost", "bob"]
        for read, row in ((got[0], rows[0]), (got[2], rows[1])):
            assert read["queries"] == row["queries"]
            embeddings = np.asarray(read["query_embeddings"], dtype=np.float32)
            assert embeddings.shape == (len(row["queries"]), 384)
            np.testing.assert_allclose(embeddings, np.asarray(row["query_embeddings"]), rtol=1e-6)
            assert read["model_version"] == row["model_version"]
        assert got[1]["queries"] is None and got[1]["query_embeddings"] is None  # unknown user: NOT_FOUND

        push_rows(open_store(store_cfg), [feature_row("alice", ["new season preview"], seed=9)])
        assert lookup(url, ["alice"])[0]["queries"] == ["new season preview"]  # no restart, no cache in the way
    finally:
        stop(proc, timeout=40)


def test_lookup_against_nothing_says_which_server_did_not_answer():
    (port,) = free_ports(1)
    with pytest.raises(FeatureServerError, match=f"127.0.0.1:{port}"):
        lookup(f"http://127.0.0.1:{port}", ["alice"], timeout=1)
