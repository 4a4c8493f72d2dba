"""The url of every kind of notification (server/notify/kinds.py) opens a screen the phone
app knows (pwa/src/app.jsx ROUTES), so a tap never lands on "page not found"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.notify.kinds import KINDS

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = {
    "station": "TH-001", "district": "天河区", "donation_id": "7d2e0000-0000-4000-8000-000000000001",
    "event_id": "7d2e0000-0000-4000-8000-000000000002", "kind": "money", "amount_fen": 500000,
    "donor_display": "王女士", "count": 2, "hours": 48, "log_ids": ["a", "b"],
    "issue_id": "7d2e0000-0000-4000-8000-000000000003", "code": "conflict_recorded",
    "user_id": "li", "mutation": "event.update", "correction_id": "7d2e0000-0000-4000-8000-000000000004",
    "requested_by": "zhang", "fund_id": "fund-th-1", "fund_name": "助学基金", "available_fen": 100,
    "low_water_fen": 100000, "pending": 3, "client_id": "7d2e0000-0000-4000-8000-000000000005",
}


def app_routes() -> list[tuple[re.Pattern[str], str]]:
    """(pattern, the route's source line) for each entry of ROUTES in app.jsx, and of the
    route lists an area keeps in its own ``routes.js`` and spreads into ROUTES."""
    source = (ROOT / "pwa" / "src" / "app.jsx").read_text(encoding="utf-8")
    blocks = [source.split("export const ROUTES = [", 1)[1].split("\n];", 1)[0]]
    for area in sorted((ROOT / "pwa" / "src").rglob("routes.js")):
        name = area.parent.name.upper()
        assert f"...{name}_ROUTES" in blocks[0], f"{area} is not spread into ROUTES"
        blocks.append(area.read_text(encoding="utf-8"))
    found = []
    for line in "\n".join(blocks).splitlines():
        m = re.search(r"pattern: /(.+?)/, screen", line)
        if m:
            found.append((re.compile(m.group(1)), line.strip()))
    return found


def test_routes_are_read_from_app_jsx() -> None:
    routes = app_routes()
    assert len(routes) >= 10
    assert any(p.match("/inbox") for p, _ in routes)
    assert not any(p.match("/no-such-screen") for p, _ in routes)


@pytest.mark.parametrize("name", sorted(KINDS))
def test_each_kind_url_is_an_app_route(name: str) -> None:
    content = KINDS[name].build(SAMPLE)
    assert content.url.startswith("/#/"), content.url
    path = content.url[2:].split("?", 1)[0]
    matching = [line for pattern, line in app_routes() if pattern.match(path)]
    assert matching, f"{name}: {content.url} matches no route in pwa/src/app.jsx"
    assert "open: true" not in matching[0]  # never the enrolment screen
