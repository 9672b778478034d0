"""The command line's contract: `--help` works for every command and subcommand (found by walking the parser, so a
new command is covered without touching this file), a usage error exits 2 with the command's usage, a domain error
prints `error: ...` and exits 1."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from interests_cli import main, parser

ROOT = Path(__file__).resolve().parent.parent


def walk(p: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """``(path, parser)`` of the root, every command group and every command under it."""
    yield path, p
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk(sub, (*path, name))


COMMANDS = list(walk(parser()))


def test_the_walk_finds_the_nested_commands():
    paths = {path for path, _ in COMMANDS}
    assert {("train", "grpo"), ("stream", "load"), ("stream", "worker"), ("model", "publish"), ("health",)} <= paths
    assert ("bench",) not in paths  # the stream load benchmark is `interests stream load`


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS], ids=lambda path: " ".join(path) or "interests")
def test_help_of_every_command(path, capsys):
    with pytest.raises(SystemExit) as exited:
        main([*path, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: {' '.join(('interests', *path))} [-h]"), out[:200]


@pytest.mark.parametrize("path, p", COMMANDS[1:], ids=[" ".join(path) for path, _ in COMMANDS[1:]])
def test_every_command_runs_a_handler_or_needs_a_subcommand(path, p):
    groups = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
    if groups:
        assert groups[0].required and p.get_default("func") is None, path
    else:
        assert callable(p.get_default("func")) and p.get_default("parser") is p, path


USAGE_ERRORS = [
    ["train"],  # a group without its subcommand
    ["model", "publish"],  # no PATH (and no --version)
    ["model", "publish", "folder"],  # no --version
    ["model", "publish", "folder", "--version", "v2", "--metrics", "not json"],
    ["model", "use"],
    ["train", "grpo", "--no-such-option"],
    ["train", "grpo", "--rewards", "closeness=lots"],
    ["train", "distill"],  # no --teacher
    ["train", "package", "--adapter", "run/adapter"],  # no --version
    ["train", "retrain", "--events", "events.jsonl", "--since", "2026-12-01"],  # no --until
    ["train", "retrain", "--from", "file", "--since", "2026-12-01", "--until", "2026-12-02"],  # no --events
    ["train", "retrain", "--from", "kafka", "--events", "events.jsonl", "--since", "1", "--until", "2"],
    ["train", "retrain", "--events", "events.jsonl", "--bootstrap", "h:9092", "--since", "1", "--until", "2"],
    ["train", "retrain", "--from", "s3", "--since", "2026-12-01", "--until", "2026-12-02"],
    ["train", "retrain", "--since", "2026-12-02", "--until", "2026-12-01"],  # an empty range
    ["train", "retrain", "--since", "yesterday-ish", "--until", "2026-12-01"],
    ["train", "study", "--stages", "train,nope"],
    ["train", "export-histories", "--coverage-judge", "judge"],  # an option of grpo/distill only
    ["stream", "load", "--embedder", "nope"],
    ["stream", "load", "--phases", "throughput,nope"],
    ["stream", "load", "--rates", "fast"],
    ["bench", "load"],  # the old name
    ["features", "get"],  # no USER
    ["data", "mind"],  # no PATH
    ["data", "simulate", "--refresh"],  # an option of `data fetch` only
    ["noise", "train"],  # no SIM_DIR
    ["kafka", "status", "--verbose"],  # an option of `kafka install` only
    ["health", "--only", "broker,disk"],
    ["eval", "--generator", "all", "--data", "bench-data", "--channels", "--split", "train"],
    ["--log-level", "loud", "health"],
]


@pytest.mark.parametrize("argv", USAGE_ERRORS, ids=" ".join)
def test_a_usage_error_exits_2_with_the_usage(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: interests") and ": error: " in err, err


def test_a_leaf_reports_an_unknown_option_with_its_own_usage(capsys):
    with pytest.raises(SystemExit):
        main(["train", "grpo", "--no-such-option"])
    err = capsys.readouterr().err
    assert err.startswith("usage: interests train grpo") and "unrecognized arguments: --no-such-option" in err


def test_a_domain_error_prints_error_and_exits_1(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("INTERESTS_GEN_REGISTRY_DIR", str(tmp_path / "registry"))
    assert main(["model", "use", "no-such-version"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no model named") and "Traceback" not in err
    assert main(["replay", str(tmp_path / "missing.jsonl")]) == 1
    # the last line: a warning about a file a library left open may be logged first when garbage is collected
    assert capsys.readouterr().err.splitlines()[-1].startswith("error: no event file")
    assert main(["train", "package", "--adapter", str(tmp_path / "no-adapter"), "--version", "v9",
                 "--out", str(tmp_path / "shipped")]) == 1
    assert capsys.readouterr().err.startswith("error: ")
    assert not (tmp_path / "shipped").exists()


def test_python_m_interests_cli_runs_the_same_command_line():
    run = subprocess.run([sys.executable, "-m", "interests_cli", "stream", "load", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("usage: interests stream load")


def test_train_package_writes_the_decoding_rule_and_the_default_mark(tmp_path, capsys):
    from models.config import MODEL_NAME

    adapter = tmp_path / "run" / "adapter"
    adapter.mkdir(parents=True)
    (adapter / "manifest.json").write_text(json.dumps({"base": f"{MODEL_NAME}@grpo-v1", "layers": [0, 1]}))
    before = tmp_path / "shipped" / "before"
    before.mkdir(parents=True)
    (before / "manifest.json").write_text(json.dumps({"name": MODEL_NAME, "version": "before", "default": True}))
    assert main(["train", "package", "--adapter", str(adapter), "--version", "after", "--out",
                 str(tmp_path / "shipped" / "after"), "--no-repeat-ngram", "3", "--default"]) == 0
    shipped = json.loads((tmp_path / "shipped" / "after" / "manifest.json").read_text())
    assert shipped["decoding"] == {"no_repeat_ngram": 3} and shipped["default"] is True
    assert shipped["base"] == f"{MODEL_NAME}@grpo-v1"
    assert "default" not in json.loads((before / "manifest.json").read_text())
    assert "not before" in capsys.readouterr().out
