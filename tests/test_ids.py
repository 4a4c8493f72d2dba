"""Time-ordered ids (sync.ids): what the project's clients generate, and proof that the
server still takes any UUID (the id form is a recommendation, not a rule)."""

from __future__ import annotations

import time
import uuid

import pytest

from sync.ids import new_id, uuid7
from tests.conftest import Api
from tests.helpers import event_args, mutation, station_args


def test_uuid7_has_version_variant_and_the_current_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    value = uuid.UUID(uuid7())
    after = time.time_ns() // 1_000_000
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert before <= value.int >> 80 <= after


def test_uuid7_sorts_in_the_order_made() -> None:
    made = []
    for _ in range(50):
        made.append(uuid7())
        time.sleep(0.0005)  # past the 1/4096 ms step, so no two share their time bits
    assert sorted(made) == made
    assert len(set(made)) == len(made)


@pytest.mark.anyio
async def test_random_uuid4_ids_and_keys_are_accepted(api: Api) -> None:
    admin = await api.token("admin-ids", "admin")
    client = str(uuid.uuid4())
    event_id, key = str(uuid.uuid4()), str(uuid.uuid4())
    body = (await api.push(admin, client, [
        mutation(1, "station.create", station_args()),
        mutation(2, "event.create", event_args(event_id), key=key),
        mutation(3, "event.create", event_args(new_id())),
    ])).json()
    assert [r["status"] for r in body["results"]] == ["applied", "applied", "applied"]
    again = (await api.push(admin, str(uuid.uuid4()), [
        mutation(1, "event.create", event_args(str(uuid.uuid4())), key=key),
    ])).json()
    assert [r["status"] for r in again["results"]] == ["duplicate"]
    snapshot = await api.snapshot(admin)
    assert ("event", event_id) in snapshot
