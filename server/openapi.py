"""The OpenAPI document of the HTTP API at ``/schema`` (Swagger UI; the document itself at
``/schema/openapi.json``), and the shared answer descriptions the route decorators use.

Litestar's documentation pages load their JavaScript from a CDN; stations and the
development machines work offline, so Swagger UI's files come from the ``swagger-ui-py``
package (pinned in requirements.lock) and are served by the app at ``/schema/static/``."""

from __future__ import annotations

import html
import importlib.util
from pathlib import Path
from typing import Any

from litestar import Request, Router
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

from schemas.wire import ErrorBody

SCHEMA_PATH = "/schema"
SWAGGER_INIT_DIR = Path(__file__).with_name("static") / "swagger"
ASSETS_PATH = f"{SCHEMA_PATH}/static"

# What each refusal means in this API; every one has the contract's error body
# (``code``, ``message.zh``/``message.en``; docs/protocol.md).
_ERRORS = {
    400: "refused: the body is not JSON or not the expected shape, or an argument is bad "
         "(`not_json`, `malformed_envelope`, `invalid_args`, `protocol_unknown`, `bad_cursor`, "
         "`ids_not_increasing`, `invalid_subscription`)",
    401: "no device token, or an unknown one (`unauthorized`), or one unused for too long "
         "(`device_expired`)",
    403: "the token may not do this (`forbidden`), its device was revoked (`device_revoked`) "
         "or reported lost (`device_wiped`), or its person holds no role (`no_membership`)",
    404: "no such record (`not_found`, `enrol_code_unknown`)",
    409: "mutation ids have a gap: resend from `expected` (`mutation_gap`); the push key "
         "was rotated: subscribe again (`vapid_key_changed`); or the code was used "
         "(`enrol_code_used`)",
    410: "the enrolment code expired or was revoked (`enrol_code_expired`, "
         "`enrol_code_revoked`)",
    429: "too many failed attempts: retry after `Retry-After` seconds (`rate_limited`)",
    413: "the body or the batch is too large (`body_too_large`, `batch_too_large`)",
    426: "the app's protocol is older than the server accepts (`protocol_too_old`)",
    503: "the server is busy: retry after `Retry-After` seconds (`overloaded`)",
}


# ``security=`` of a route that needs a device token (``Authorization: Bearer <token>``).
TOKEN: list[dict[str, list[str]]] = [{"device_token": []}]


def errors(*statuses: int) -> dict[int, ResponseSpec]:
    """The listed refusals, each with the error body, for a route's ``responses=``."""
    return {s: ResponseSpec(data_container=ErrorBody, description=_ERRORS[s],
                            generate_examples=False) for s in statuses}


def answer(description: str, body: type | None = None, media_type: str = "application/json",
           status: int = 200) -> dict[int, ResponseSpec]:
    """The success answer when the handler returns raw bytes (msgspec-encoded, CSV, PDF, ...)
    and its annotation says nothing about the body."""
    return {status: ResponseSpec(data_container=body, description=description,
                                 media_type=media_type, generate_examples=False)}


def swagger_assets_dir() -> Path:
    """Swagger UI's built files inside the installed ``swagger-ui-py`` (found without
    importing the package, whose own code is for other frameworks)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed: run ./scripts/setup.sh")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


class OfflineSwaggerRenderPlugin(SwaggerRenderPlugin):
    """Swagger UI with its scripts, style sheet and icon served by this app."""

    def __init__(self) -> None:
        super().__init__(
            path="/swagger",
            js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            css_url=f"{ASSETS_PATH}/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>",
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        """Litestar's page, with its inline start-up script replaced by ``init.js``
        (``server/static/swagger/``) so that ``script-src 'self'`` holds here too."""
        title = html.escape(str(openapi_schema["info"]["title"]))
        return (
            f"<!DOCTYPE html><html><head><title>{title}</title>{self.favicon}"
            '<meta charset="utf-8"/><meta name="viewport" content="width=device-width, '
            f'initial-scale=1"><link href="{self.css_url}" rel="stylesheet">'
            f'<script src="{self.js_url}" crossorigin></script>'
            f'<script src="{self.standalone_preset_js_url}" crossorigin></script>{self.style}'
            "</head><body><div id=\"swagger-container\"></div>"
            f'<script src="{ASSETS_PATH}/init.js" data-spec="{SCHEMA_PATH}/openapi.json">'
            "</script></body></html>"
        ).encode()

    def receive_router(self, router: Router) -> None:
        router.register(create_static_files_router(
            path="/static", directories=[swagger_assets_dir(), SWAGGER_INIT_DIR],
            include_in_schema=False,
            cache_control=None, name="swagger-assets",
        ))


def openapi_config() -> OpenAPIConfig:
    """The document's header; the routes bring their own summaries and answers."""
    return OpenAPIConfig(
        title="社工+慈善 · Social Work + Charity API",
        version="1",
        description=(
            "The sync contract (`/api/v1/sync/*`, docs/protocol.md), the public disclosure "
            "pages and their JSON, exports, certificates and Web Push subscriptions. Writes go "
            "through `POST /api/v1/sync/push` as mutations; their argument types are in "
            "`GET /api/v1/sync/schema`. Errors carry `code` and a message in Chinese and English."
        ),
        path=SCHEMA_PATH,
        render_plugins=[OfflineSwaggerRenderPlugin()],
        components=Components(security_schemes={
            "device_token": SecurityScheme(
                type="http", scheme="bearer",
                description="a device token from `python -m server token issue`",
            ),
        }),
        use_handler_docstrings=True,
    )
