"""The CLI's read path: what a ranker reads from a real (SQLite) Feast store."""

from __future__ import annotations

import json
import time

from feature_repo.config import FeatureStoreConfig
from feature_repo.store import open_store, push_rows
from interests_cli import main


def test_features_get_prints_what_a_ranker_reads(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("INTERESTS_FEAST_DATA_DIR", str(tmp_path))
    store = open_store(FeatureStoreConfig(data_dir=tmp_path), apply=True)
    now = int(time.time() * 1000)
    push_rows(store, [{"user_id": "u7", "request_id": "r1", "queries": ["ecb rate decision", "arsenal injuries"],
                       "query_embeddings": [[1.0, 0.0], [0.0, 1.0]], "interest_vector": [0.6, 0.8],
                       "model_version": "keyphrase@1", "generated_at": now, "last_event_at": now - 1000,
                       "freshness_ms": 42}])
    assert main(["features", "get", "u7"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["queries"] == ["ecb rate decision", "arsenal injuries"]
    assert shown["model_version"] == "keyphrase@1" and shown["freshness_ms"] == 42
    assert shown["query_embeddings"] == "<2 x 2>"
    # a user without features: printed with empty values, and the exit code says so
    assert main(["features", "get", "nobody"]) == 1


def test_reward_weights_parse_names_and_weights(capsys):
    import argparse

    import pytest

    from interests_cli import reward_weights

    assert reward_weights("closeness=4, relevance=2,count") == {"closeness": 4.0, "relevance": 2.0, "count": 1.0}
    with pytest.raises(argparse.ArgumentTypeError, match="name=weight"):
        reward_weights("closeness=lots")
    # the type of --rewards: a malformed item is a usage error of `train grpo` (exit 2), before anything loads
    with pytest.raises(SystemExit) as exited:
        main(["train", "grpo", "--rewards", "closeness=lots"])
    assert exited.value.code == 2
    assert "--rewards: 'closeness=lots' is not name=weight" in capsys.readouterr().err


def test_train_options_reach_the_trainers_config():
    from interests_cli import parser
    from interests_cli.train import _grpo_config

    args = parser().parse_args(["train", "grpo", "--micro-batch", "4", "--lora-top-layers", "0", "--rewards",
                                "closeness=4,format=1", "--steps", "7"])
    cfg = _grpo_config(args)
    assert (cfg.micro_batch, cfg.policy.lora_top_layers, cfg.steps) == (4, 0, 7)
    assert cfg.weights == {"closeness": 4.0, "format": 1.0}
