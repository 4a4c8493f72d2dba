"""JSON Schema of the whole contract, served at ``GET /api/v1/sync/schema``."""

from __future__ import annotations

from typing import Any

import msgspec

from schemas import wire

MESSAGES: tuple[type[msgspec.Struct], ...] = (
    wire.PushRequest, wire.PushResponse, wire.PullRequest, wire.PullResponse, wire.ErrorBody,
)


def contract_schema(
    mutation_args: dict[tuple[str, int], type[msgspec.Struct]],
    record_shapes: dict[str, type[msgspec.Struct]],
) -> dict[str, Any]:
    """Messages, one args schema per registered (name, version), and one record schema
    per registered record type (both as the registry has them: ``Registry.args_types``,
    ``Registry.record_shapes``). Records are also listed under ``messages`` by their
    Struct's name."""
    ordered = sorted(mutation_args.items())
    records = list(record_shapes.items())
    message_types: list[Any] = [*MESSAGES, *dict.fromkeys(shape for _, shape in records)]
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
        "records": {name: named[shape.__name__] for name, shape in records},
        "$defs": components,
    }
