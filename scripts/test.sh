#!/usr/bin/env bash
# Sets everything up, then checks and tests, cheapest first and stopping at the first failure:
# ruff (lint), mypy (strict types: schemas/, sync/, server/), then the whole test suite with
# pytest (SQLite and PostgreSQL; it also runs the phone app's JS unit tests, see
# tests/test_pwa_units.py). Arguments go to pytest.
# PostgreSQL tests skip with a reason when no server answers on 127.0.0.1:5432,
# unless CHARITY_REQUIRE_POSTGRES=1 (CI) turns that skip into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
echo "test: ruff check" >&2
.venv/bin/ruff check --quiet schemas sync server scripts tests
echo "test: mypy (strict)" >&2
.venv/bin/mypy                        # files and options: [tool.mypy] in pyproject.toml
echo "test: pytest" >&2
exec .venv/bin/python -m pytest "$@"
