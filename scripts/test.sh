#!/usr/bin/env bash
# Sets everything up, then checks and tests, cheapest first and stopping at the first failure:
# ruff (lint), mypy (strict types: schemas/, sync/, server/), then the whole test suite with
# pytest in parallel workers (SQLite and PostgreSQL; it also runs the phone app's JS unit
# tests, see
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
# In parallel: CHARITY_TEST_WORKERS processes (default 4: most of a test waits on the
# database, a server process or the browser, so even 2 cores keep 4 busy); the longest tests
# go first (tests/conftest.py). `-n 0` runs in one process.
exec .venv/bin/python -m pytest -n "${CHARITY_TEST_WORKERS:-4}" --dist load "$@"
