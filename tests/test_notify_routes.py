"""The url of every kind of notification (server/notify/kinds.py) opens a screen the phone
app knows (pwa/src/app.jsx ROUTES, with each area's routes spread in from
pwa/src/areas/index.js), so a tap never lands on "page not found"."""

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
    "subject_kind": "fund", "subject_id": "fund-th-1", "seq": 2, "period_kind": "quarter",
    "training_id": "7d2e0000-0000-4000-8000-000000000006", "signup_id": "7d2e0000-0000-4000-8000-000000000007",
    "review_id": "7d2e0000-0000-4000-8000-000000000008", "round_id": "7d2e0000-0000-4000-8000-000000000009",
    "project_id": "7d2e0000-0000-4000-8000-00000000000a", "visit_id": "7d2e0000-0000-4000-8000-00000000000b",
}


def app_routes() -> list[tuple[re.Pattern[str], str]]:
    """(pattern, the route's source line) for each entry of ROUTES in app.jsx and of the
    ``routes`` of each area (``pwa/src/areas/<area>/index.js``), which AREAS in
    ``pwa/src/areas/index.js`` lists and app.jsx spreads into ROUTES."""
    src = ROOT / "pwa" / "src"
    source = (src / "app.jsx").read_text(encoding="utf-8")
    blocks = [source.split("export const ROUTES = [", 1)[1].split("\n];", 1)[0]]
    assert "...AREA_ROUTES" in blocks[0], "the areas' routes are not spread into ROUTES"
    listing = (src / "areas" / "index.js").read_text(encoding="utf-8")
    listed = listing.split("export const AREAS = [", 1)[1].split("]", 1)[0]
    for area in sorted((src / "areas").glob("*/index.js")):
        name = f"{area.parent.name.upper()}_AREA"
        assert name in listed, f"{area} is not in AREAS"
        blocks.append(area.read_text(encoding="utf-8").split("  routes: [", 1)[1].split("\n  ],", 1)[0])
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
    assert matching, f"{name}: {content.url} matches no route of the app (pwa/src/app.jsx, pwa/src/areas/)"
    assert "open: true" not in matching[0]  # never the enrolment screen
