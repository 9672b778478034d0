"""The compose file names real services, real commands of the CLI, the set-up jobs before the services, Redis as
the online store everywhere Feast is used, a GPU for the generator, and it passes `docker compose config`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from interests_cli import parser

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
FEAST_USERS = ("feast-apply", "generator-worker", "feature-server")


def test_compose_file_has_kafka_redis_setup_jobs_workers_and_feature_server():
    assert {"kafka", "redis", "topics", "feast-apply", "stream-worker", "generator-worker",
            "feature-server"} <= set(SERVICES)
    assert SERVICES["kafka"]["image"].startswith("apache/kafka:4.1")
    assert SERVICES["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert SERVICES["redis"]["image"].startswith("redis:")
    for name in ("stream-worker", "generator-worker"):
        assert SERVICES[name]["depends_on"]["topics"]["condition"] == "service_completed_successfully"
        assert SERVICES[name]["environment"]["INTERESTS_BOOTSTRAP_SERVERS"] == "kafka:9092"
    for name in ("generator-worker", "feature-server"):
        assert SERVICES[name]["depends_on"]["feast-apply"]["condition"] == "service_completed_successfully"
        assert SERVICES[name]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_every_feast_user_reads_and_writes_the_same_redis_and_registry():
    for name in FEAST_USERS:
        env = SERVICES[name]["environment"]
        assert env["INTERESTS_FEAST_ONLINE_STORE"] == "redis", name
        assert env["INTERESTS_FEAST_REDIS_CONNECTION"] == "redis:6379", name
        mounts = [v.split(":")[1] for v in SERVICES[name]["volumes"]]
        assert env["INTERESTS_FEAST_DATA_DIR"] in mounts, f"{name}: the registry folder is not the shared volume"


def test_generator_runs_vllm_on_a_reserved_gpu():
    generator = SERVICES["generator-worker"]
    devices = generator["deploy"]["resources"]["reservations"]["devices"]
    assert any(d["driver"] == "nvidia" and "gpu" in d["capabilities"] for d in devices)
    assert generator["environment"]["INTERESTS_GEN_BACKEND"] == "vllm"
    assert generator["build"]["args"]["WITH_VLLM"] == "1"
    assert "WITH_VLLM" in (ROOT / "Dockerfile").read_text()


def test_metrics_and_feature_server_ports_are_the_configured_ones():
    stream, generator = SERVICES["stream-worker"], SERVICES["generator-worker"]
    assert any(p.endswith(f":{stream['environment']['INTERESTS_METRICS_PORT']}") for p in stream["ports"])
    assert any(p.endswith(f":{generator['environment']['INTERESTS_GEN_METRICS_PORT']}") for p in generator["ports"])
    command = SERVICES["feature-server"]["command"]
    port = command[command.index("--port") + 1]
    assert any(p.endswith(f":{port}") for p in SERVICES["feature-server"]["ports"])
    assert command[command.index("--host") + 1] == "0.0.0.0"


def test_compose_commands_and_health_checks_are_valid_cli_invocations():
    for name, service in SERVICES.items():
        if "command" in service and not service.get("image", "").startswith(("apache/", "redis")):
            args = parser().parse_args(service["command"])  # raises SystemExit on an unknown command
            assert callable(args.func), name
        test = service.get("healthcheck", {}).get("test", [])
        if test[:2] == ["CMD", "interests"]:
            assert parser().parse_args(test[2:]).func.__name__ == "cmd_health", name


def test_compose_file_uses_no_v1_only_keys():
    assert "version" not in COMPOSE  # obsolete in Compose v2 (and not needed by v1.27+)
    assert set(COMPOSE) <= {"services", "volumes", "networks", "configs", "secrets"} | {
        k for k in COMPOSE if k.startswith("x-")}
    for name, service in SERVICES.items():
        assert not {"links", "external_links", "volume_driver", "cpu_shares", "mem_limit"} & set(service), name


def test_docker_compose_config_accepts_the_file(tmp_path):
    if shutil.which("docker-compose"):
        cmd = ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"]
    elif shutil.which("docker") and subprocess.run(["docker", "compose", "version"],
                                                   capture_output=True).returncode == 0:
        cmd = ["docker", "compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"]
    else:
        pytest.fail("neither `docker-compose` nor `docker compose` is installed: install docker-compose "
                    "(apt-get install docker-compose; .ci/run does it) to validate the deployment file",
                    pytrace=False)
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_schemas_check_command_passes(capsys):
    from interests_cli import main

    assert main(["schemas", "check"]) == 0
    assert "click_event v2 reads v1: compatible" in capsys.readouterr().out
