"""The push hot path builds rows as tuples and merges clocks once per batch: these
tests pin what that must keep (column lists that match the tables, a server clock
that ends up past every stamp of a batch, stored outcomes a duplicate repeats)."""

from __future__ import annotations

import uuid

import pytest

from sync.hlc import parse
from sync.push import OUTCOME_COLUMNS
from sync.tables import changes, mutations
from sync.timeutil import now_ms
from sync.unit import FEED_COLUMNS
from tests.conftest import Api
from tests.helpers import event_args, hlc, mutation, new_id, station_args

pytestmark = pytest.mark.anyio


def test_outcome_columns_are_the_mutations_table() -> None:
    assert sorted(OUTCOME_COLUMNS) == sorted(c.name for c in mutations.columns)


def test_feed_columns_are_the_change_table_but_its_sequence() -> None:
    assert sorted(FEED_COLUMNS) == sorted(c.name for c in changes.columns if c.name != "seq")


async def test_server_clock_passes_every_stamp_of_a_batch(api: Api) -> None:
    admin = await api.token("admin-clock", "admin")
    ahead = hlc("phone-a", offset_ms=30_000)  # a phone 30 s ahead: within the allowed lead
    behind = hlc("phone-a", offset_ms=-30_000)
    body = (await api.push(admin, str(uuid.uuid4()), [
        mutation(1, "station.create", station_args(), stamp=behind),
        mutation(2, "event.create", event_args(new_id()), stamp=ahead),
        mutation(3, "event.create", event_args(new_id()), stamp=behind),
    ])).json()
    assert [r["status"] for r in body["results"]] == ["applied"] * 3
    assert api.state.clock.now() > ahead
    assert parse(api.state.clock.now()).physical_ms < now_ms() + 31_000


async def test_a_rejected_outcome_is_repeated_with_its_reason(api: Api) -> None:
    admin = await api.token("admin-repeat", "admin")
    client = str(uuid.uuid4())
    key = new_id()
    unknown_station = event_args(new_id(), station="NO-SUCH")
    first = (await api.push(admin, client, [mutation(1, "event.create", unknown_station, key=key)])).json()
    assert first["results"][0]["status"] == "rejected"
    other_phone = str(uuid.uuid4())
    again = (await api.push(admin, other_phone, [mutation(1, "event.create", unknown_station, key=key)])).json()
    repeated = again["results"][0]
    assert repeated["status"] == "duplicate"
    assert (repeated["code"], repeated["message"], repeated["issue_id"]) == (
        first["results"][0]["code"], first["results"][0]["message"], first["results"][0]["issue_id"]
    )
