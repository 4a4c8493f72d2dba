"""Where shared test code lives: no test module imports another test module.

A helper imported from a ``test_*`` module drags that module's tests, fixtures and
registrations along and hides the helper where nobody looks for it. Shared code goes in
tests/devices.py (simulated phones), tests/helpers.py (argument builders),
tests/browser/steps.py (browser steps) or the conftest of its folder (fixtures).
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _is_test_module(dotted: str) -> bool:
    return any(part.startswith("test_") for part in dotted.split("."))


def _test_module_imports(path: Path) -> list[str]:
    """The test modules ``path`` imports (``import x``, ``from x import y``, relative too)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            names = [module, *(f"{module}.{alias.name}" for alias in node.names)]
            found += [name for name in names if _is_test_module(name)][:1]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if _is_test_module(alias.name)]
    return found


def test_the_check_sees_every_spelling(tmp_path: Path) -> None:
    """The check below finds such imports however they are written (it is not a check that
    can never fail)."""
    bad = tmp_path / "test_bad.py"
    bad.write_text("from tests.test_guarantees import Device\nimport tests.browser.test_pwa_tabs\n"
                   "from tests import test_notify\nfrom .test_people import x\n")
    assert _test_module_imports(bad) == ["tests.test_guarantees", "tests.browser.test_pwa_tabs",
                                         "tests.test_notify", ".test_people"]
    good = tmp_path / "test_good.py"
    good.write_text("from tests.devices import Device\nfrom tests import helpers\nimport pytest\n")
    assert _test_module_imports(good) == []


def test_no_test_module_imports_another() -> None:
    modules = sorted(TESTS.rglob("test_*.py"))
    assert len(modules) > 30  # the walk found the suite
    offenders = {
        str(path.relative_to(TESTS)): imported
        for path in modules
        if (imported := _test_module_imports(path))
    }
    assert offenders == {}, (
        "shared helpers belong in tests/devices.py, tests/helpers.py or tests/browser/steps.py, "
        f"not in a test module: {offenders}"
    )
