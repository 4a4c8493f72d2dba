"""The server serves the built phone app at ``/``: files with the right types and caching,
the service worker at scope ``/``, the SPA fallback, a clear page when nothing is built,
and ``/api/v1/me`` for the enrolment screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from server.pwa import pwa_routes
from tests.conftest import Api


def _dist(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "icons").mkdir()
    (dist / "index.html").write_text("<!doctype html><title>app shell</title>", encoding="utf-8")
    (dist / "sw.js").write_text("self.__precache = [];", encoding="utf-8")
    (dist / "assets" / "index-abc123.js").write_text("console.log(1)", encoding="utf-8")
    (dist / "manifest.webmanifest").write_text('{"name": "社区慈善"}', encoding="utf-8")
    (dist / "icons" / "icon-192.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "secret.txt").write_text("outside dist", encoding="utf-8")
    return dist


def _client(dist: Path) -> TestClient[Litestar]:
    return TestClient(Litestar(route_handlers=pwa_routes(dist)))


def test_files_types_and_caching(tmp_path: Path) -> None:
    with _client(_dist(tmp_path)) as client:
        root = client.get("/")
        assert root.status_code == 200 and "app shell" in root.text
        assert root.headers["content-type"].startswith("text/html")
        assert root.headers["cache-control"] == "no-cache"
        sw = client.get("/sw.js")
        assert sw.headers["content-type"].startswith("text/javascript")
        assert sw.headers["service-worker-allowed"] == "/"
        assert sw.headers["cache-control"] == "no-cache"  # a new build must reach phones
        asset = client.get("/assets/index-abc123.js")
        assert "immutable" in asset.headers["cache-control"]
        manifest = client.get("/manifest.webmanifest")
        assert manifest.headers["content-type"].startswith("application/manifest+json")
        assert client.get("/icons/icon-192.png").headers["content-type"] == "image/png"


def test_spa_fallback_and_not_found(tmp_path: Path) -> None:
    with _client(_dist(tmp_path)) as client:
        deep = client.get("/events/5f0c8a2e")
        assert deep.status_code == 200 and "app shell" in deep.text
        assert client.get("/assets/missing.js").status_code == 404
        assert client.get("/api/v1/nothing-here").status_code == 404
        assert client.get("/%2e%2e/secret.txt").status_code == 404
        assert "outside dist" not in client.get("/../secret.txt").text


def test_missing_build_says_how_to_build(tmp_path: Path) -> None:
    with _client(tmp_path / "not-built") as client:
        page = client.get("/")
        assert page.status_code == 503
        assert "./scripts/setup.sh" in page.text
        assert "尚未构建" in page.text and "not built" in page.text
        assert client.get("/events").status_code == 503


@pytest.mark.anyio
async def test_me_tells_who_the_token_is(api: Api) -> None:
    token = await api.token("李华", "staff", station="TH-001")
    response = await api.http.get("/api/v1/me", headers=api.auth(token))
    assert response.status_code == 200
    me = response.json()
    assert {k: me[k] for k in ("user", "role", "station", "district")} == {
        "user": "李华", "role": "staff", "station": "TH-001", "district": None}
    # the person and every role they hold (docs/accounts.md), and this device
    assert me["name"] == "李华" and me["sign_out"] is False and me["token_id"]
    assert [(m["role"], m["station"]) for m in me["memberships"]] == [("staff", "TH-001")]
    refused = await api.http.get("/api/v1/me", headers=api.auth("not-a-token"))
    assert refused.status_code == 401
    assert refused.json()["code"] == "unauthorized"


def test_the_built_app_has_a_favicon_ico() -> None:
    """Browsers ask for /favicon.ico whatever a page links (the public pages, a bookmark):
    the build draws it (pwa/scripts/icons.mjs) and the server serves it as an icon."""
    from server.pwa import PWA_DIST

    if not (PWA_DIST / "index.html").is_file():
        pytest.fail("pwa/dist is missing: run ./scripts/setup.sh")
    with _client(PWA_DIST) as client:
        icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file: reserved 0, type 1 (icon)
    count = int.from_bytes(icon.content[4:6], "little")
    sizes = {icon.content[6 + 16 * i] for i in range(count)}
    assert {16, 32} <= sizes


def _precompressed(tmp_path: Path) -> Path:
    import gzip

    dist = _dist(tmp_path)
    for name in ("assets/index-abc123.js", "index.html", "sw.js"):
        body = (dist / name).read_bytes()
        (dist / f"{name}.gz").write_bytes(gzip.compress(body))
        (dist / f"{name}.br").write_bytes(b"BR:" + body)  # the server never decodes it
    return dist


def test_precompressed_variants_by_accept_encoding(tmp_path: Path) -> None:
    import gzip

    with _client(_precompressed(tmp_path)) as client:
        # httpx decodes gzip and br itself; read the raw bytes to see what was sent
        with client.stream("GET", "/assets/index-abc123.js",
                           headers={"Accept-Encoding": "gzip, deflate, br"}) as brotli:
            assert brotli.headers["content-encoding"] == "br"
            assert brotli.headers["vary"] == "Accept-Encoding"
            assert brotli.headers["content-type"].startswith("text/javascript")
            assert brotli.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert b"".join(brotli.iter_raw()) == b"BR:console.log(1)"
        with client.stream("GET", "/assets/index-abc123.js",
                           headers={"Accept-Encoding": "gzip;q=1.0, br;q=0"}) as gz:
            assert gz.headers["content-encoding"] == "gzip"
            assert gzip.decompress(b"".join(gz.iter_raw())) == b"console.log(1)"
        with client.stream("GET", "/assets/index-abc123.js",
                           headers={"Accept-Encoding": "identity"}) as plain:
            assert "content-encoding" not in plain.headers
            assert plain.headers["vary"] == "Accept-Encoding"  # a cache must not reuse it
            assert b"".join(plain.iter_raw()) == b"console.log(1)"
        # the app shell and the service worker: compressed too, never immutable
        for path in ("/", "/events/5f0c8a2e", "/sw.js"):
            with client.stream("GET", path, headers={"Accept-Encoding": "br"}) as shell:
                assert shell.headers["content-encoding"] == "br"
                assert shell.headers["cache-control"] == "no-cache"
                assert "immutable" not in shell.headers["cache-control"]
        # a file without siblings (an image) is sent as it is, with no Vary
        icon = client.get("/icons/icon-192.png", headers={"Accept-Encoding": "br, gzip"})
        assert "content-encoding" not in icon.headers and "vary" not in icon.headers


def test_accept_encoding_parsing() -> None:
    from server.pwa import accepted_encodings

    assert accepted_encodings("gzip, deflate, br, zstd") == {"br", "gzip"}
    assert accepted_encodings("br;q=0, gzip;q=0.5") == {"gzip"}
    assert accepted_encodings("*") == {"br", "gzip"}
    assert accepted_encodings("*;q=0, gzip") == {"gzip"}
    assert accepted_encodings("BR ; Q=0.1") == {"br"}
    assert accepted_encodings("gzip;q=nonsense") == set()
    assert accepted_encodings(None) == set() and accepted_encodings("") == set()


def test_the_built_app_is_precompressed_within_budget() -> None:
    """The build writes .br and .gz next to every first-load file, and what index.html
    pulls in stays under the 150 KB gzipped budget (pwa/scripts/size.mjs fails the build
    too; this catches a dist built without the compress step)."""
    import re

    from server.pwa import PWA_DIST

    if not (PWA_DIST / "index.html").is_file():
        pytest.fail("pwa/dist is missing: run ./scripts/setup.sh")
    html = (PWA_DIST / "index.html").read_text(encoding="utf-8")
    first_load = set(re.findall(r'(?:src|href)="/?(assets/[^"]+\.(?:js|css))"', html))
    assert first_load
    for name in [*first_load, "index.html", "sw.js"]:
        assert (PWA_DIST / f"{name}.br").is_file() and (PWA_DIST / f"{name}.gz").is_file(), name
    js_gz = sum((PWA_DIST / f"{n}.gz").stat().st_size for n in first_load if n.endswith(".js"))
    assert js_gz < 150 * 1024
    with _client(PWA_DIST) as client:
        js = min(n for n in first_load if n.endswith(".js"))
        with client.stream("GET", f"/{js}", headers={"Accept-Encoding": "br, gzip"}) as sent:
            assert sent.headers["content-encoding"] == "br"
            raw = b"".join(sent.iter_raw())
        assert len(raw) == (PWA_DIST / f"{js}.br").stat().st_size
