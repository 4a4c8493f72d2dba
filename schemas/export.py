"""JSON Schema of the whole contract, served at ``GET /api/v1/sync/schema``."""

from __future__ import annotations

from typing import Any

import msgspec

from schemas import donations, records, wire


def contract_schema(mutation_args: dict[tuple[str, int], type[msgspec.Struct]]) -> dict[str, Any]:
    """Messages, records and one args schema per registered (name, version)."""
    message_types: list[Any] = [
        wire.PushRequest,
        wire.PushResponse,
        wire.PullRequest,
        wire.PullResponse,
        wire.ErrorBody,
        records.StationRecord,
        records.EventRecord,
        records.ConflictRecord,
        records.SyncIssueRecord,
        *donations.RECORD_TYPES,
    ]
    ordered = sorted(mutation_args.items())
    schemas, components = msgspec.json.schema_components(
        message_types + [args for _, args in ordered], ref_template="#/$defs/{name}"
    )
    named = dict(zip([t.__name__ for t in message_types], schemas[: len(message_types)]))
    mutations = {
        f"{name}@{version}": schema
        for ((name, version), _), schema in zip(ordered, schemas[len(message_types) :])
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "protocol": wire.PROTOCOL_VERSION,
        "messages": named,
        "mutations": mutations,
        "$defs": components,
    }
