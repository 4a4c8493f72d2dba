#!/usr/bin/env bash
# Refreshes requirements.lock: every Python package (runtime and the dev/test tools) pinned to
# one version with the sha256 of each of its files, for any OS and Python 3.11+ (markers keep
# e.g. uvloop off Windows). Run it after editing the dependencies in pyproject.toml; it keeps
# the pins it can, `./scripts/lock.sh --upgrade` (or `--upgrade-package NAME`) takes newer
# releases. Commit the lock with the change. Needs PyPI. ./scripts/setup.sh then installs
# exactly this with `pip install --require-hashes`.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
PYTHON="${PYTHON:-python3}"
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
"$PYTHON" -m venv "$tools"
"$tools/bin/python" -m pip install --quiet "uv==$UV_VERSION"
"$tools/bin/uv" pip compile pyproject.toml --extra dev \
  --universal --python-version 3.11 --generate-hashes \
  --custom-compile-command ./scripts/lock.sh \
  --quiet --output-file requirements.lock "$@"
