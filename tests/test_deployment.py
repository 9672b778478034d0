"""The compose file names real services, real commands of the CLI and the topic set-up before the workers."""

from __future__ import annotations

from pathlib import Path

import yaml

from interests_cli import parser

ROOT = Path(__file__).resolve().parent.parent


def test_compose_file_has_kafka_topics_and_both_workers():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"kafka", "topics", "stream-worker", "generator-worker"} <= set(services)
    assert services["kafka"]["image"].startswith("apache/kafka:4.1")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    for name in ("stream-worker", "generator-worker"):
        assert services[name]["depends_on"]["topics"]["condition"] == "service_completed_successfully"
        assert services[name]["environment"]["INTERESTS_BOOTSTRAP_SERVERS"] == "kafka:9092"


def test_compose_commands_are_valid_cli_invocations():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        if "command" in service:
            args = parser().parse_args(service["command"])  # raises SystemExit on an unknown command
            assert callable(args.func), name


def test_schemas_check_command_passes(capsys):
    from interests_cli import main

    assert main(["schemas", "check"]) == 0
    assert "click_event v2 reads v1: compatible" in capsys.readouterr().out
