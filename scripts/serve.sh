#!/usr/bin/env bash
# Sets everything up, then runs the server on SQLite at http://127.0.0.1:8000
# (data in ./var, created on first start). Extra options go to `python -m server serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/python -m server serve "$@"
