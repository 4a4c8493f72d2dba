"""The phone app's JavaScript unit tests (``pwa/tests/*.test.js``: HLC stamps, backoff with
full jitter, Retry-After, the pending overlay), run by Node's own test runner."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.serverproc import ROOT


def test_node_unit_tests_pass() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed; the phone app needs Node.js 20+ (see docs/pwa.md)")
    if not (ROOT / "pwa" / "node_modules").is_dir():
        pytest.fail("pwa/node_modules is missing: run ./scripts/setup.sh")
    done = subprocess.run([node, "--test", "tests/"], cwd=ROOT / "pwa", capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "# pass" in done.stdout and "# fail 0" in done.stdout, done.stdout[-2000:]
