"""Write the JSON Schema the server publishes at ``GET /api/v1/sync/schema`` to
``pwa/src/generated/sync-schema.json``, so the phone checks each mutation's args
against exactly what the server will check, offline from the first day.

Run by ``npm run build`` (``scripts/validators.mjs``) and ``scripts/setup.sh``; the file
is rewritten only when its content changed, so an unchanged schema keeps the build stamp.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from schemas.export import contract_schema
from server.domain import build_registry
from server.settings import Settings


def main() -> None:
    target = ROOT / "pwa" / "src" / "generated" / "sync-schema.json"
    registry = build_registry(Settings())
    schema = contract_schema(registry.args_types(), registry.record_shapes())
    text = json.dumps(schema, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
