"""The docs keep up with the code: every setting and every mutation is documented."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from schemas.events import EVENTS
from server.domain import build_registry
from server.settings import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_deployment_doc_lists_every_setting() -> None:
    text = (DOCS / "deployment.md").read_text(encoding="utf-8")
    missing = [f.name for f in dataclasses.fields(Settings) if f"`{f.name}`" not in text]
    assert missing == []


def test_docs_list_every_mutation() -> None:
    """Engine mutations are in protocol.md; each domain area documents its own in its doc."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md")))
    registry = build_registry()
    missing = [f"{n}@{v}" for (n, v) in registry.mutations if f"`{n}@{v}`" not in text]
    assert missing == []


def test_docs_name_every_domain_event() -> None:
    """Every domain event (schemas/events.py) is named by its emitter's or listener's doc."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md")))
    assert [name for name in EVENTS if f"`{name}`" not in text] == []
