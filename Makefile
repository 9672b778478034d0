# The two commands: `make demo` (the whole path on the sample events) and `make test` (every test).
# Both set themselves up first (scripts/setup.sh: cached virtual environment keyed by the lock files, per-clone
# .venv, Kafka jars); a second run with nothing changed sets up in seconds.
SHELL := /bin/bash
PY := .venv/bin/python
# models and data come from installed packages only, never from a hub
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup demo test unit clean-state

setup:
	@bash scripts/setup.sh

demo: setup
	.venv/bin/interests demo

test: setup
	$(PY) -m pytest -ra

# the fast tests only (no broker, no LLM)
unit: setup
	$(PY) -m pytest -ra -m "not integration and not llm"

clean-state:
	rm -rf "$${INTERESTS_CACHE:-$$HOME/.cache/interests}/state" "$${INTERESTS_CACHE:-$$HOME/.cache/interests}/demo-run"
