#!/usr/bin/env bash
# Creates .venv (Python 3.11+) and installs the project with its test tools from the
# hash-checked requirements.lock.
# Idempotent and quick when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# Exactly the versions and files in requirements.lock (./scripts/lock.sh makes it), then the
# project itself; again whenever the lock or pyproject.toml changes.
stamp=.venv/.installed-$(cat pyproject.toml requirements.lock | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --require-hashes -r requirements.lock
  .venv/bin/python -m pip install --quiet --no-deps -e .
  rm -f .venv/.installed-* && touch "$stamp"
fi

# The phone app (pwa/): `npm ci` when the lock file changed, the build when any of its
# sources changed (same stamp idea as above), so a fresh clone serves the built app.
if [ "${CHARITY_SKIP_PWA_BUILD:-}" != "1" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "setup: npm not found; the phone app (pwa/) needs Node.js 20+ and npm to build." >&2
    echo "       Install them, or set CHARITY_SKIP_PWA_BUILD=1 to run the API without the app." >&2
    exit 1
  fi
  lock_stamp=pwa/node_modules/.installed-$(sha256sum pwa/package-lock.json | cut -c1-16)
  if [ ! -f "$lock_stamp" ]; then
    (cd pwa && npm ci --no-audit --no-fund --loglevel=error)
    touch "$lock_stamp"
  fi
  # the server's JSON Schema, which the app checks mutations against (rewritten only when changed)
  .venv/bin/python pwa/scripts/dump_schema.py
  sources_hash=$(cd pwa && find index.html vite.config.js package.json package-lock.json src scripts -type f \
    -not -name validators.js -print0 \
    | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
  build_stamp=pwa/dist/.built-$sources_hash
  if [ ! -f "$build_stamp" ]; then
    (cd pwa && npm run --silent build)
    touch "$build_stamp"
  fi
fi
