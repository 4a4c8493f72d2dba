"""A revocation from the command line is audited too (actor ``system``)."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.serverproc import ROOT


def _cli(*args: str, data_dir: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "server", *args, "--data-dir", str(data_dir)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_device_revoke_on_the_command_line_leaves_an_audit_row(tmp_path: Path) -> None:
    issued = _cli("token", "issue", "--user", "admin-1", "--role", "admin", data_dir=tmp_path)
    found = re.search(r"token id: (\S+)", issued)
    assert found is not None, issued
    token_id = found.group(1)
    _cli("device", "revoke", "--token-id", token_id, "--lost", data_dir=tmp_path)
    with sqlite3.connect(tmp_path / "charity.db") as db:
        rows = db.execute("SELECT action, actor_id, target_id, detail FROM audit_log").fetchall()
    assert rows == [("device.revoke_lost", "system", token_id, '{"via":"cli"}')]
