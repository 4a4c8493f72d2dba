#!/usr/bin/env bash
# Sets everything up, then runs the whole test suite (SQLite and PostgreSQL).
# PostgreSQL tests skip with a reason when no server answers on 127.0.0.1:5432,
# unless CHARITY_REQUIRE_POSTGRES=1 (CI) turns that skip into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
