"""HTTPS: ``tls self-signed`` makes a certificate phones can be told to trust, ``serve``
speaks HTTPS with it (one worker on SQLite, several on PostgreSQL), refuses broken TLS
options before starting, and trusts proxy headers only from the configured proxy."""

from __future__ import annotations

import ipaddress
import os
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509

from server.settings import Settings
from tests.serverproc import ROOT, ServerProcess, _env, cli_token


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", *args], cwd=ROOT, env={**_env(), **(env or {})},
        capture_output=True, text=True, timeout=60, check=False,
    )


def _self_signed(tmp_path: Path, *hosts: str) -> Path:
    out = tmp_path / "tls"
    args = ["tls", "self-signed", "--out", str(out)]
    for host in hosts:
        args += ["--host", host]
    done = _cli(*args)
    assert done.returncode == 0, done.stderr
    return out


def _leaf(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificates(path.read_bytes())[0]


# -- tls self-signed --------------------------------------------------------------------


def test_self_signed_pair_loads_and_names_the_hosts(tmp_path: Path) -> None:
    out = _self_signed(tmp_path, "charity.lan", "192.168.1.20")
    cert, key, ca = out / "dev-cert.pem", out / "dev-key.pem", out / "dev-ca.pem"
    ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)  # a matching pair

    leaf = _leaf(cert)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"charity.lan", "localhost"} <= set(san.get_values_for_type(x509.DNSName))
    ips = set(san.get_values_for_type(x509.IPAddress))
    assert {ipaddress.ip_address("192.168.1.20"), ipaddress.ip_address("127.0.0.1")} <= ips
    assert "192.168.1.20" not in san.get_values_for_type(x509.DNSName)  # an IP is an IP entry
    days = (leaf.not_valid_after_utc - leaf.not_valid_before_utc).days
    assert 360 <= days <= 366
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    # the CA phones install signed the server certificate and is a CA
    authority = x509.load_pem_x509_certificate(ca.read_bytes())
    assert authority.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    leaf.verify_directly_issued_by(authority)
    # the key is private; no CA key is left anywhere
    assert (key.stat().st_mode & 0o777) == 0o600
    assert sorted(p.name for p in out.iterdir()) == ["dev-ca.pem", "dev-cert.pem", "dev-key.pem"]


def test_self_signed_defaults_to_the_data_dir_and_says_what_to_do(tmp_path: Path) -> None:
    done = _cli("tls", "self-signed", "--host", "phone.test", "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data" / "dev-cert.pem").is_file()
    assert (tmp_path / "data" / "dev-key.pem").is_file()
    assert "--ssl-certfile" in done.stdout and "--ssl-keyfile" in done.stdout
    assert "https://phone.test:8000/" in done.stdout
    assert "trust" in done.stdout and "dev-ca.pem" in done.stdout


@pytest.mark.parametrize("host", ["https://charity.lan", "charity.lan:8443", ""])
def test_self_signed_refuses_a_url_for_a_host(tmp_path: Path, host: str) -> None:
    done = _cli("tls", "self-signed", "--host", host, "--out", str(tmp_path / "o"))
    assert done.returncode == 2
    assert "host name or an IP address" in done.stderr
    assert not (tmp_path / "o" / "dev-key.pem").exists()


# -- serve refuses broken TLS options ------------------------------------------------------


def _serve_fails(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = _cli("serve", "--port", "1", "--data-dir", str(tmp_path), *args, env=env)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "serving on" not in done.stdout
    assert not (tmp_path / "charity.db").exists()  # refused before migrating anything
    return done.stderr


def test_serve_needs_both_certificate_and_key(tmp_path: Path) -> None:
    out = _self_signed(tmp_path, "charity.lan")
    err = _serve_fails(tmp_path, "--ssl-certfile", str(out / "dev-cert.pem"))
    assert "--ssl-certfile needs --ssl-keyfile" in err
    err = _serve_fails(tmp_path, env={"CHARITY_SSL_KEYFILE": str(out / "dev-key.pem")})
    assert "--ssl-keyfile needs --ssl-certfile" in err


def test_serve_refuses_missing_unreadable_or_mismatched_files(tmp_path: Path) -> None:
    out = _self_signed(tmp_path, "charity.lan")
    err = _serve_fails(tmp_path, "--ssl-certfile", str(tmp_path / "nope.pem"),
                       "--ssl-keyfile", str(out / "dev-key.pem"))
    assert "nope.pem: no such file" in err
    other = _self_signed(tmp_path / "b", "other.lan")
    err = _serve_fails(tmp_path, "--ssl-certfile", str(out / "dev-cert.pem"),
                       "--ssl-keyfile", str(other / "dev-key.pem"))
    assert "matching key" in err
    if os.geteuid() != 0:  # root reads anything
        (out / "dev-key.pem").chmod(0)
        err = _serve_fails(tmp_path, "--ssl-certfile", str(out / "dev-cert.pem"),
                           "--ssl-keyfile", str(out / "dev-key.pem"))
        assert "cannot be read" in err


# -- settings ----------------------------------------------------------------------------


def test_base_url_follows_tls_host_port_and_public_url() -> None:
    assert Settings().base_url == "http://127.0.0.1:8000"
    tls = {"ssl_certfile": "c.pem", "ssl_keyfile": "k.pem"}
    assert Settings(host="charity.lan", port=443, **tls).base_url == "https://charity.lan"
    assert Settings(host="::1", port=8443, **tls).base_url == "https://[::1]:8443"
    assert "0.0.0.0" not in Settings(host="0.0.0.0").base_url  # a phone cannot open that
    assert Settings(public_url="https://charity.example.org/").base_url == "https://charity.example.org"


def test_serve_trusts_proxy_headers_only_from_the_configured_addresses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``serve`` hands uvicorn (uvicorn itself then ignores X-Forwarded-* from others)."""
    import uvicorn

    from server import cli

    seen: dict[str, Any] = {}

    # serve migrates for real (it then prints the first administrator's link from the tables)
    monkeypatch.setattr(os, "environ", dict(os.environ))  # serve writes its settings there
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    os.environ["CHARITY_FORWARDED_ALLOW_IPS"] = "10.0.0.5"
    assert cli.main(["serve", "--data-dir", str(tmp_path)]) == 0
    assert seen["proxy_headers"] is True and seen["forwarded_allow_ips"] == "10.0.0.5"
    assert seen["ssl_certfile"] is None and seen["ssl_keyfile"] is None
    del os.environ["CHARITY_FORWARDED_ALLOW_IPS"]
    assert cli.main(["serve", "--data-dir", str(tmp_path)]) == 0
    assert seen["forwarded_allow_ips"] == "127.0.0.1"  # default: only a proxy on this machine


# -- a real HTTPS server -----------------------------------------------------------------


class HttpsServer(ServerProcess):
    """``serve`` with the development pair; health is checked over https against the CA."""

    def __init__(self, *, tls_dir: Path, **kw: Any) -> None:
        super().__init__(**kw, extra_env={
            "CHARITY_SSL_CERTFILE": str(tls_dir / "dev-cert.pem"),
            "CHARITY_SSL_KEYFILE": str(tls_dir / "dev-key.pem"),
        })
        self.base_url = f"https://localhost:{self.port}"
        self.verify = ssl.create_default_context(cafile=str(tls_dir / "dev-ca.pem"))

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}\n{self.log()}")
            try:
                if httpx.get(self.base_url + "/healthz", verify=self.verify, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError as exc:
                last = exc
            time.sleep(0.1)
        raise AssertionError(f"not healthy over https after {timeout}s ({last!r})\n{self.log()}")


@pytest.mark.slow
def test_serve_answers_over_https(tmp_path: Path, database_url: str) -> None:
    """One worker on SQLite, two on PostgreSQL: every worker gets the certificate."""
    tls_dir = _self_signed(tmp_path, "charity.lan")
    workers = 1 if database_url.startswith("sqlite") else 2
    data_dir = tmp_path / "data"
    with HttpsServer(tls_dir=tls_dir, database_url=database_url, data_dir=data_dir, workers=workers) as server:
        for _ in range(2 * workers):  # new connections, so each worker likely answers one
            response = httpx.get(server.base_url + "/healthz", verify=server.verify, timeout=5)
            assert response.status_code == 200 and response.json()["status"] == "ok"
            assert response.headers["strict-transport-security"] == "max-age=31536000"
        token = cli_token(database_url=database_url, data_dir=data_dir, user="admin", role="admin")
        pulled = httpx.post(
            server.base_url + "/api/v1/sync/pull", verify=server.verify, timeout=10,
            json={"protocol": 1, "client_id": "c0a80101-0000-4000-8000-000000000001", "cursor": None},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert pulled.status_code == 200, pulled.text
        # plain http on the same port is not served, and an untrusted client refuses it
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://localhost:{server.port}/healthz", timeout=5)
        with pytest.raises(httpx.ConnectError):
            httpx.get(server.base_url + "/healthz", timeout=5)  # system CAs only
        assert f"open https://127.0.0.1:{server.port}/" in server.log(tail=0)
