"""The OpenAPI document at ``/schema``: every route of the app is in it with a summary written
for it (not Litestar's name-derived default) and its refusals in the contract's error shape,
Swagger UI works without the internet, and the phone app's catch-all does not swallow it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute

from server.app import create_app
from server.openapi import ASSETS_PATH, SCHEMA_PATH
from server.settings import Settings

ERROR_REF = "#/components/schemas/ErrorBody"


@pytest.fixture
def app(tmp_path: Path) -> Litestar:
    """The real app with the phone app's routes on; no request here needs the database."""
    return create_app(Settings(data_dir=tmp_path, serve_static=True))


def _documented_operations(app: Litestar) -> Iterator[tuple[str, str, HTTPRouteHandler]]:
    """(OpenAPI path, method, handler) for every route handler the document should hold."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            path = re.sub(r"\{(\w+):[^}]+\}", r"{\1}", route.path)
            for method in handler.http_methods:
                if method not in ("HEAD", "OPTIONS"):
                    yield path, method.lower(), handler


def test_every_route_is_documented_with_a_summary_and_its_errors(app: Litestar) -> None:
    doc: dict[str, Any] = app.openapi_schema.to_schema()
    operations = list(_documented_operations(app))
    assert len(operations) >= 20, operations  # the API, not just a stray route or two
    for path, method, handler in operations:
        operation = doc["paths"].get(path, {}).get(method)
        assert operation is not None, f"{method.upper()} {path} is missing from the document"
        assert handler.summary, f"{method.upper()} {path}: give the route a summary="
        assert operation["summary"] == handler.summary
        statuses = {int(s) for s in operation["responses"]}
        assert any(200 <= s < 300 for s in statuses), f"{method.upper()} {path}: no answer"
        if operation.get("security"):
            assert {401, 403} <= statuses, f"{method.upper()} {path}: token refusals missing"
        if path.startswith("/api/"):  # every refusal of the API has the contract's shape
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": ERROR_REF}, f"{method.upper()} {path} {status}"
    assert "ErrorBody" in doc["components"]["schemas"]
    push = doc["paths"]["/api/v1/sync/push"]["post"]["responses"]["200"]
    assert push["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PushResponse"}


def test_the_catch_all_and_the_document_are_not_in_each_other(app: Litestar) -> None:
    doc = app.openapi_schema.to_schema()
    assert "/" not in doc["paths"] and "/{path}" not in doc["paths"]
    assert not any(p.startswith(SCHEMA_PATH) for p in doc["paths"])


@pytest.mark.anyio
async def test_schema_pages_are_served_with_local_assets(app: Litestar) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as http:
        document = await http.get(f"{SCHEMA_PATH}/openapi.json")
        assert document.status_code == 200
        assert document.json()["openapi"].startswith("3.1")
        assert "/api/v1/sync/push" in document.json()["paths"]

        page = await http.get(SCHEMA_PATH)  # not the phone app's index.html
        assert page.status_code == 200 and f"{ASSETS_PATH}/init.js" in page.text
        assert "<script>" not in page.text.replace(" ", "")  # no inline script (CSP)
        init = await http.get(f"{ASSETS_PATH}/init.js")
        assert init.status_code == 200 and "SwaggerUIBundle(" in init.text
        linked = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
        assert linked, page.text[:500]
        for url in linked:
            assert url.startswith(ASSETS_PATH + "/"), f"{url} would need the internet"
            asset = await http.get(url)
            assert asset.status_code == 200 and len(asset.content) > (
                400 if url.endswith("/init.js") else 1000), url
        script = await http.get(f"{ASSETS_PATH}/swagger-ui-bundle.js")
        assert "javascript" in script.headers["content-type"]

        missing = await http.get(f"{SCHEMA_PATH}/nothing-here")
        assert missing.status_code == 404
        app_shell = await http.get("/some/screen")  # the catch-all still serves the app
        assert app_shell.status_code == 200
        assert "SwaggerUIBundle" not in app_shell.text
