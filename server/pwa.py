"""Serves the built phone app (``pwa/dist``) at ``/`` and tells a phone who its token is.

The app is a single page with hash routes; any other path that is not a file and not
under ``/api`` gets ``index.html`` (SPA fallback), so a deep link still opens the app.
The service worker is served from the root so its scope is ``/``, never cached by the
HTTP cache (a new build must reach phones), while hashed assets are cached for a year
(``immutable``: a new build gives them new names).

Compression happens once, at build (``pwa/scripts/compress.mjs`` writes ``.br`` and
``.gz`` siblings); a request gets the sibling its ``Accept-Encoding`` allows (brotli
first, then gzip, then the file itself) with ``Content-Encoding`` and, for every file
that has siblings, ``Vary: Accept-Encoding`` so a shared cache keeps the variants apart.
"""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.response import File

log = logging.getLogger("server")
PWA_DIST = Path(__file__).resolve().parent.parent / "pwa" / "dist"

NOT_BUILT_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>应用尚未构建 · App not built</title></head>
<body style="font-family:system-ui,sans-serif;padding:24px;max-width:560px">
<h1>手机应用尚未构建</h1>
<p>服务器在运行,但找不到 <code>pwa/dist</code>。请在项目目录运行 <code>./scripts/setup.sh</code>
(它会执行 <code>npm ci</code> 和 <code>npm run build</code>),然后刷新本页。</p>
<h2>The phone app is not built</h2>
<p>The server is running but <code>pwa/dist</code> is missing. Run <code>./scripts/setup.sh</code> in the
project directory (it runs <code>npm ci</code> and <code>npm run build</code>), then reload this page.</p>
<p>API: <code>/api/v1/sync</code> · <a href="/healthz">/healthz</a></p></body></html>"""

MEDIA_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
               ".html": "text/html", ".webmanifest": "application/manifest+json",
               ".png": "image/png", ".svg": "image/svg+xml", ".json": "application/json",
               ".ico": "image/x-icon"}
NO_CACHE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"


# the encodings precompressed at build, in the order of preference, with their suffix
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))


def accepted_encodings(header: str | None) -> set[str]:
    """The content codings an ``Accept-Encoding`` header allows (RFC 9110 12.5.3): a
    coding listed with ``q=0`` is refused, ``*`` stands for any coding not listed."""
    listed: dict[str, float] = {}
    for part in (header or "").split(","):
        name, _, params = part.strip().partition(";")
        name = name.strip().lower()
        if not name:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        listed[name] = q
    star = listed.get("*", 0.0)
    return {coding for coding, _ in ENCODINGS if listed.get(coding, star) > 0}


def _file(path: Path, cache: str, extra: dict[str, str] | None = None,
          accept_encoding: str | None = None) -> File:
    media_type = MEDIA_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
    headers = {"Cache-Control": cache, **(extra or {})}
    body = path
    variants = [(coding, path.with_name(path.name + suffix)) for coding, suffix in ENCODINGS]
    variants = [(coding, sibling) for coding, sibling in variants if sibling.is_file()]
    if variants:
        headers["Vary"] = "Accept-Encoding"
        allowed = accepted_encodings(accept_encoding)
        for coding, sibling in variants:
            if coding in allowed:
                headers["Content-Encoding"] = coding
                body = sibling
                break
    return File(body, filename=path.name, media_type=media_type, headers=headers,
                content_disposition_type="inline")


def pwa_routes(dist: Path = PWA_DIST) -> list[Any]:
    """Route handlers that serve ``dist``; when it is missing, a page saying how to build it."""
    root = dist.resolve()
    if not (root / "index.html").is_file():
        log.warning("phone app not built: %s/index.html missing; run ./scripts/setup.sh", root)

    @get(["/", "/{path:path}"], name="pwa", include_in_schema=False)
    async def serve_app(request: Request[Any, Any, Any], path: str = "/") -> Response[Any]:
        relative = path.lstrip("/")
        if relative == "api" or relative.startswith("api/"):
            raise NotFoundException()
        index = root / "index.html"
        if not index.is_file():
            return Response(NOT_BUILT_PAGE, status_code=503, media_type="text/html",
                            headers={"Cache-Control": "no-store", "Retry-After": "30"})
        target = _inside(root, relative) if relative else index
        if target is None:
            raise NotFoundException()
        accept = request.headers.get("accept-encoding")
        if target.is_file():
            if target.name == "sw.js":
                return _file(target, NO_CACHE, {"Service-Worker-Allowed": "/"}, accept)
            if relative.startswith("assets/"):
                return _file(target, IMMUTABLE, accept_encoding=accept)
            return _file(target, NO_CACHE, accept_encoding=accept)
        if "." in relative.rsplit("/", 1)[-1]:
            raise NotFoundException()  # a missing file, not a page of the app
        return _file(index, NO_CACHE, accept_encoding=accept)

    return [serve_app]


def _inside(root: Path, relative: str) -> Path | None:
    """The file ``relative`` names under ``root``, or None when it leaves ``root`` or can
    be no file at all (a NUL, a name longer than the file system takes: ``/aaa…``)."""
    if any(ord(c) < 0x20 or c == "\x7f" for c in relative):
        return None
    try:
        target = (root / relative).resolve()
        if target != root and root not in target.parents:
            return None
        target.is_file()  # ENAMETOOLONG and the like surface here
    except (OSError, ValueError):
        return None
    return target


from server.accounts import me_route

__all__ = ["me_route", "pwa_routes"]
