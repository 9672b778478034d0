"""Configuration objects: environment variables, topic names."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.settings import cache_dir
from feature_repo.config import FeatureStoreConfig
from models.config import GeneratorConfig
from streams.config import StreamsConfig


def test_streams_from_env_reads_each_field_type():
    cfg = StreamsConfig.from_env({
        "INTERESTS_BOOTSTRAP_SERVERS": "broker:29092",
        "INTERESTS_EVENT_PARTITIONS": "8",
        "INTERESTS_DRIFT_THRESHOLD": "0.4",
        "INTERESTS_STATE_DIR": "/tmp/interests-state",
    })
    assert cfg.bootstrap_servers == "broker:29092"
    assert cfg.event_partitions == 8 and isinstance(cfg.event_partitions, int)
    assert cfg.drift_threshold == 0.4 and isinstance(cfg.drift_threshold, float)
    assert cfg.state_dir == Path("/tmp/interests-state") and isinstance(cfg.state_dir, Path)


def test_streams_from_env_keeps_defaults_for_unset_and_ignores_other_variables():
    cfg = StreamsConfig.from_env({"HOME": "/nowhere", "INTERESTS_NOT_A_FIELD": "1"})
    assert cfg == StreamsConfig()


def test_streams_from_env_overrides_win_over_the_environment():
    cfg = StreamsConfig.from_env({"INTERESTS_BATCH_SIZE": "8"}, batch_size=2)
    assert cfg.batch_size == 2


def test_streams_from_env_reads_os_environ_by_default(monkeypatch):
    monkeypatch.setenv("INTERESTS_WEB_PORT", "0")
    assert StreamsConfig.from_env().web_port == 0


@pytest.mark.parametrize("name, raw", [("INTERESTS_EVENT_PARTITIONS", "four"), ("INTERESTS_BATCH_SIZE", "1.5"),
                                       ("INTERESTS_COOLDOWN_S", "soon")])
def test_invalid_number_raises_value_error_naming_the_variable(name, raw):
    with pytest.raises(ValueError, match=name) as info:
        StreamsConfig.from_env({name: raw})
    assert repr(raw) in str(info.value)


def test_topic_names_are_prefixed_and_end_in_v1():
    cfg = StreamsConfig(topic_prefix="acme")
    names = [*cfg.event_topics.values(), cfg.privacy_topic, cfg.by_user_topic, cfg.dlq_topic, cfg.regen_topic,
             cfg.queries_topic]
    assert len(set(names)) == len(names)
    for name in names:
        assert name.startswith("acme.") and name.endswith(".v1")
    assert cfg.event_topics["click"] == "acme.events.click.v1"


def test_topic_partitions_lists_every_topic():
    cfg = StreamsConfig(event_partitions=6, regen_partitions=3)
    partitions = cfg.topic_partitions()
    expected = {*cfg.event_topics.values(), cfg.privacy_topic, cfg.by_user_topic, cfg.dlq_topic, cfg.regen_topic,
                cfg.queries_topic}
    assert set(partitions) == expected
    assert all(partitions[t] == 6 for t in [*cfg.event_topics.values(), cfg.privacy_topic])
    assert partitions[cfg.by_user_topic] == 6 and partitions[cfg.dlq_topic] == 1
    assert partitions[cfg.regen_topic] == 3 and partitions[cfg.queries_topic] == 3


def test_domain_weights_follow_the_fields():
    assert StreamsConfig(weight_browse=0.1).domain_weights == {"click": 1.0, "search": 1.0, "social": 0.8,
                                                              "browse": 0.1}


def test_cache_dir_follows_interests_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("INTERESTS_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path
    assert StreamsConfig().state_dir == tmp_path / "state"
    assert GeneratorConfig().model_dir == tmp_path / "models" / "smollm2-135m-instruct"


def test_generator_from_env_reads_gen_variables():
    cfg = GeneratorConfig.from_env({"INTERESTS_GEN_BATCH_SIZE": "32", "INTERESTS_GEN_BACKEND": "keyphrase",
                                    "INTERESTS_GEN_RETRY_TEMPERATURE": "0", "INTERESTS_GEN_MODEL_DIR": "/m"})
    assert cfg.batch_size == 32 and cfg.backend == "keyphrase"
    assert cfg.retry_temperature == 0.0 and cfg.model_dir == Path("/m")


def test_generator_from_env_ignores_stream_variables():
    assert GeneratorConfig.from_env({"INTERESTS_BATCH_SIZE": "99"}).batch_size == GeneratorConfig().batch_size


def test_generator_from_env_reads_os_environ_by_default(monkeypatch):
    monkeypatch.setenv("INTERESTS_GEN_BATCH_SIZE", "7")
    assert GeneratorConfig.from_env().batch_size == 7


def test_generator_invalid_int_names_the_variable():
    with pytest.raises(ValueError, match="INTERESTS_GEN_BATCH_SIZE='many' is not a valid int"):
        GeneratorConfig.from_env({"INTERESTS_GEN_BATCH_SIZE": "many"})


@pytest.mark.parametrize("make", [StreamsConfig.from_env, GeneratorConfig.from_env, FeatureStoreConfig.from_env])
def test_an_explicit_empty_environment_gives_the_defaults(monkeypatch, make):
    for name in ("INTERESTS_BATCH_SIZE", "INTERESTS_GEN_BATCH_SIZE", "INTERESTS_FEAST_ONLINE_STORE"):
        monkeypatch.setenv(name, "7" if "BATCH" in name else "redis")
    assert make({}) == make.__self__()


def test_feature_store_from_env_reads_online_store():
    cfg = FeatureStoreConfig.from_env({"INTERESTS_FEAST_ONLINE_STORE": "redis",
                                       "INTERESTS_FEAST_REDIS_CONNECTION": "redis:6379,db=2"})
    assert cfg.online_store == "redis" and cfg.redis_connection == "redis:6379,db=2"


def test_feature_store_from_env_ignores_other_variables():
    assert FeatureStoreConfig.from_env({"INTERESTS_ONLINE_STORE": "redis"}).online_store == "sqlite"


def test_generator_on_invalid_defaults_to_stale_and_reads_the_environment():
    assert GeneratorConfig().on_invalid == "stale"
    assert GeneratorConfig.from_env({"INTERESTS_GEN_ON_INVALID": "fallback"}).on_invalid == "fallback"


@pytest.mark.parametrize("env, message", [
    ({"INTERESTS_GEN_ON_INVALID": "retry"}, "INTERESTS_GEN_ON_INVALID"),
    ({"INTERESTS_GEN_ON_INVALID": "fallback", "INTERESTS_GEN_FALLBACK": ""}, "INTERESTS_GEN_FALLBACK"),
    ({"INTERESTS_GEN_BEST_OF_N": "0"}, "INTERESTS_GEN_BEST_OF_N"),
    ({"INTERESTS_GEN_BEST_OF_N": "4", "INTERESTS_GEN_SAMPLE_TEMPERATURE": "0"}, "INTERESTS_GEN_SAMPLE_TEMPERATURE"),
    ({"INTERESTS_GEN_REWARD_WEIGHTS": "structure"}, "name=weight"),
    ({"INTERESTS_GEN_REWARD_WEIGHTS": "structure=high"}, "name=weight"),
    ({"INTERESTS_GEN_REWARD_WEIGHTS": "=1"}, "name=weight"),
    ({"INTERESTS_GEN_REWARD_WEIGHTS": "diversity=-1"}, ">= 0"),
])
def test_generator_config_refuses_bad_serving_settings_naming_the_variable(env, message):
    with pytest.raises(ValueError, match=message):
        GeneratorConfig.from_env(env)


def test_generator_best_of_n_settings():
    cfg = GeneratorConfig.from_env({"INTERESTS_GEN_BEST_OF_N": "8", "INTERESTS_GEN_SAMPLE_TEMPERATURE": "1.1",
                                    "INTERESTS_GEN_REWARD_WEIGHTS": " structure = 2 ,grounding=0.25"})
    assert cfg.best_of_n == 8 and cfg.sample_temperature == 1.1
    assert cfg.reward_weight_map() == {"structure": 2.0, "grounding": 0.25}
    assert GeneratorConfig().best_of_n == 1 and GeneratorConfig().reward_weight_map() is None


def test_portable_writes_the_cache_folder_as_its_setting(tmp_path, monkeypatch):
    from common.settings import portable

    monkeypatch.setenv("INTERESTS_CACHE", str(tmp_path / "cache"))
    assert portable(f"{tmp_path}/cache/train/teacher") == "$INTERESTS_CACHE/train/teacher"
    assert portable("/elsewhere/run") == "/elsewhere/run"
