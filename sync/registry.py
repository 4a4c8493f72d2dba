"""The registry of mutations and record types that domain modules fill in.

Adding a kind of record touches one domain module (its record type, its
mutators), its schemas and its migration; the engine never changes for it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
from sqlalchemy import Table

from schemas.events import DomainEvent
from sync.scopes import Grant, Scope

if TYPE_CHECKING:
    from sync.unit import MutationContext, Tx

Mutator = Callable[["Tx", "MutationContext", Any], Awaitable[None]]
E = TypeVar("E", bound=DomainEvent)
C = TypeVar("C")
EventHandler = Callable[["Tx", "MutationContext", Any], Awaitable[None]]
"""Reacts to a domain event inside the mutation that emitted it (see ``Tx.emit``)."""


@dataclass(frozen=True)
class MutationSpec:
    name: str
    version: int
    args_type: type[msgspec.Struct]
    mutator: Mutator
    retired: bool = False
    """A retired version is still known: its queued mutations are rejected with
    ``mutation_retired`` instead of wedging an old phone's queue."""
    preload: tuple[tuple[str, str], ...] = ()
    """``(record type, args field)`` pairs the engine fetches for the whole batch in
    one query per type before mutators run, so a mutator's ``tx.get`` hits the cache.
    A dotted field (``receipt.number``) reads a nested Struct; a missing part is skipped."""


@dataclass(frozen=True)
class RecordType:
    """How one kind of record is stored, scoped, shown and redacted."""

    name: str
    table: Table
    key: str
    scope: Callable[[Mapping[str, Any]], Scope]
    to_wire: Callable[[Mapping[str, Any]], dict[str, Any]]
    redact: Callable[[dict[str, Any], Grant], dict[str, Any]] | None = None
    tombstone: str | None = "deleted_at"
    """Column that, when set, makes the record a tombstone (``op: del``)."""
    redacts_for: Callable[[Grant], bool] | None = None
    """Which grants get a redacted copy; the others are sent the stored ``wire`` as is."""
    shape: type[msgspec.Struct] | None = None
    """The Struct (schemas/) that ``to_wire``'s output decodes into: the record as phones
    see it, published in ``/api/v1/sync/schema``. Every registered type names one
    (tests/test_record_shapes.py)."""


@dataclass
class Registry:
    mutations: dict[tuple[str, int], MutationSpec] = field(default_factory=dict)
    record_types: dict[str, RecordType] = field(default_factory=dict)
    handlers: dict[type[DomainEvent], list[EventHandler]] = field(default_factory=dict)
    configs: dict[type[Any], Any] = field(default_factory=dict)
    """Each area's frozen configuration, by its type, as its ``install`` was given it."""

    def mutation(
        self,
        name: str,
        version: int,
        args_type: type[msgspec.Struct],
        *,
        retired: bool = False,
        preload: tuple[tuple[str, str], ...] = (),
    ) -> Callable[[Mutator], Mutator]:
        def register(mutator: Mutator) -> Mutator:
            self.add_mutation(MutationSpec(name, version, args_type, mutator, retired, preload))
            return mutator

        return register

    def add_mutation(self, spec: MutationSpec) -> None:
        key = (spec.name, spec.version)
        if key in self.mutations:
            raise ValueError(f"mutation {spec.name}@{spec.version} registered twice")
        self.mutations[key] = spec

    def add_record_type(self, record_type: RecordType) -> None:
        if record_type.name in self.record_types:
            raise ValueError(f"record type {record_type.name} registered twice")
        self.record_types[record_type.name] = record_type

    def on(
        self, event_type: type[E], handler: Callable[[Tx, MutationContext, E], Awaitable[None]]
    ) -> None:
        """Run ``handler`` whenever a mutator emits an ``event_type`` (schemas/events.py).

        Domain modules emit what happened (``DonationRecorded``); other modules
        (notifications) subscribe without the emitter knowing them."""
        if not (isinstance(event_type, type) and issubclass(event_type, DomainEvent)):
            raise TypeError(f"{event_type!r} is not a domain event type")
        self.handlers.setdefault(event_type, []).append(handler)

    def configure(self, config: object) -> None:
        """Keep an area's configuration (a frozen dataclass made from the settings) for
        its mutators and handlers, which read it with ``tx.registry.config(Type)``."""
        if type(config) in self.configs:
            raise ValueError(f"{type(config).__name__} configured twice")
        self.configs[type(config)] = config

    def config(self, kind: type[C]) -> C:
        """The configuration ``install`` gave (a KeyError when the area was not installed)."""
        found: C = self.configs[kind]
        return found

    def find(self, name: str, version: int) -> MutationSpec | None:
        return self.mutations.get((name, version))

    def knows_name(self, name: str) -> bool:
        return any(n == name for n, _ in self.mutations)

    def record_shapes(self) -> dict[str, type[msgspec.Struct]]:
        """Each record type's wire Struct, in the order the types were registered."""
        return {name: rt.shape for name, rt in self.record_types.items() if rt.shape is not None}

    def args_types(self) -> dict[tuple[str, int], type[msgspec.Struct]]:
        return {key: spec.args_type for key, spec in self.mutations.items() if not spec.retired}
