"""Goods gifts are capped like money (docs/security.md, "Caps on amounts and goods"): items
per gift, quantity and value per line in the published schema, the gift's total in the
mutator; a refused gift leaves the public live totals where they were."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.donations import (
    MAX_GOODS_ITEMS,
    MAX_GOODS_TOTAL_FEN,
    MAX_ITEM_QUANTITY,
    MAX_ITEM_VALUE_FEN,
)
from schemas.export import contract_schema
from server.domain import build_registry
from server.settings import Settings
from tests.conftest import Api
from tests.donation_setup import STATION, build_world, phone
from tests.helpers import file_ref, new_id

pytestmark = pytest.mark.anyio


def goods(items: list[dict[str, Any]], event_id: str) -> dict[str, Any]:
    return {"id": new_id(), "station": STATION, "kind": "goods", "direction": "undirected",
            "event_id": event_id, "donor": {"organisation": "某某超市", "wants_receipt": False},
            "items": items, "attachments": [file_ref(b"a photo of the goods")]}
    # (a photo, as a gift above goods_photo_line_fen needs one: tests/test_attachments.py)


def item(quantity: int = 1, value_fen: int = 1_000, name: str = "大米") -> dict[str, Any]:
    return {"name": name, "quantity": quantity, "unit": "袋", "estimated_value_fen": value_fen}


async def totals(api: Api, event_id: str) -> dict[str, Any]:
    response = await api.http.get(f"/api/v1/public/events/{event_id}")
    assert response.status_code == 200
    return dict(response.json())


async def test_oversized_goods_gifts_are_rejected_and_the_live_totals_stay(api: Api) -> None:
    world = await build_world(api)
    p = await phone(world, "staff2")
    ok = await p.device.send("donation.record", goods([item(10, 20_000)], world.event_id))
    assert ok["status"] == "applied", ok
    before = await totals(api, world.event_id)
    assert before["goods_value_fen"] == 20_000 and before["goods_count"] == 1

    cases = {
        # the reviewer's gift: 1,000 lines at 100 million yuan each
        "thousand_lines": [item(1, 10_000_000_000, f"物品{i}") for i in range(1000)],
        "too_many_lines": [item(1, 100, f"物品{i}") for i in range(MAX_GOODS_ITEMS + 1)],
        "line_quantity": [item(MAX_ITEM_QUANTITY + 1)],
        "line_value": [item(1, MAX_ITEM_VALUE_FEN + 1)],
        # every line within its cap, their sum above the gift's
        "total": [item(1, MAX_ITEM_VALUE_FEN, f"物品{i}")
                  for i in range(MAX_GOODS_TOTAL_FEN // MAX_ITEM_VALUE_FEN + 1)],
    }
    for case, items in cases.items():
        result = await p.device.send("donation.record", goods(items, world.event_id))
        assert result["status"] == "rejected", (case, result)
        assert result["code"] == "invalid_args", (case, result)
        assert result["message"]["zh"] and result["message"]["en"], case
        if case != "total":  # the schema's refusal names the path
            assert "items" in result["message"]["en"], (case, result)
        else:
            assert "10,000,000" in result["message"]["zh"] and "several" in result["message"]["en"]
    assert await totals(api, world.event_id) == before

    at_caps = [item(MAX_ITEM_QUANTITY, MAX_GOODS_TOTAL_FEN // MAX_GOODS_ITEMS, f"物品{i}")
               for i in range(MAX_GOODS_ITEMS)]  # exactly at every cap: accepted
    assert (await p.device.send("donation.record", goods(at_caps, world.event_id)))[
        "status"] == "applied"
    after = await totals(api, world.event_id)
    assert after["goods_value_fen"] == 20_000 + MAX_GOODS_TOTAL_FEN


async def test_a_goods_correction_cannot_lift_the_value_above_the_cap(api: Api) -> None:
    world = await build_world(api)
    p = await phone(world, "staff2")
    gift = goods([item(10, 20_000)], world.event_id)
    assert (await p.device.send("donation.record", gift))["status"] == "applied"
    refused = await world.manager.send("donation.correct", {
        "id": new_id(), "donation_id": gift["id"], "action": "correct",
        "new_amount_fen": MAX_GOODS_TOTAL_FEN + 1, "reason": "估值更正"})
    assert refused["status"] == "rejected" and refused["code"] == "invalid_args", refused
    assert (await totals(api, world.event_id))["goods_value_fen"] == 20_000


def test_the_published_schema_carries_the_static_caps() -> None:
    """The phone validates against this document (pwa/scripts/validators.mjs)."""
    registry = build_registry(Settings())
    text = str(contract_schema(registry.args_types(), registry.record_shapes()))
    assert f"'maxItems': {MAX_GOODS_ITEMS}" in text
    assert f"'maximum': {MAX_ITEM_QUANTITY}" in text
    assert f"'maximum': {MAX_ITEM_VALUE_FEN}" in text
