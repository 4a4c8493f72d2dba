"""A development HTTPS certificate (``python -m server tls self-signed``).

Phones only run the offline app (service worker, camera) on a page whose certificate they
trust; clicking through a browser warning is not enough. Android and iOS only let a person
trust a *CA* certificate, and browsers refuse a CA certificate used as the server's own, so
this makes a one-off self-signed CA (``dev-ca.pem``, what phones install) and a server
certificate signed by it (``dev-cert.pem``, with the CA appended, plus ``dev-key.pem``).
The CA's private key is never written: once the server certificate is signed it is thrown
away, so a phone that trusts this CA can be fooled by nothing else.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ALWAYS = ("localhost", "127.0.0.1", "::1")
"""Names every development certificate also covers (the server's own machine)."""


@dataclass(frozen=True)
class DevCertificate:
    cert: Path
    key: Path
    ca: Path
    names: tuple[str, ...]


def _san_entry(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name.strip("[]")))
    except ValueError:
        return x509.DNSName(name)


def _check_name(name: str) -> str:
    clean = name.strip().lower().rstrip(".")
    if not clean or any(c in clean for c in "/ :@") and not _is_ip(clean):
        raise ValueError(f"--host {name!r}: give a host name or an IP address, without scheme or port")
    return clean


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def make_dev_certificate(names: list[str], out: Path, *, days: int = 365) -> DevCertificate:
    """Write ``dev-ca.pem``, ``dev-cert.pem`` and ``dev-key.pem`` (mode 0600) to ``out``
    for ``names`` plus localhost."""
    if days < 1 or days > 825:  # iOS refuses server certificates valid longer than 825 days
        raise ValueError("--days must be between 1 and 825")
    wanted: list[str] = []
    for name in [*names, *ALWAYS]:
        clean = _check_name(name)
        if clean not in wanted:
            wanted.append(clean)
    now = dt.datetime.now(dt.UTC)
    start, end = now - dt.timedelta(minutes=5), now + dt.timedelta(days=days)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Social Work + Charity (development)"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"Charity development CA {now:%Y-%m-%d %H:%M}"),
    ])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                          content_commitment=False, key_encipherment=False, data_encipherment=False,
                          key_agreement=False, encipher_only=False, decipher_only=False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, wanted[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName([_san_entry(n) for n in wanted]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                          content_commitment=False, key_encipherment=False, data_encipherment=False,
                          key_agreement=False, encipher_only=False, decipher_only=False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    out.mkdir(parents=True, exist_ok=True)
    files = DevCertificate(
        cert=out / "dev-cert.pem", key=out / "dev-key.pem", ca=out / "dev-ca.pem", names=tuple(wanted)
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    _write(files.key, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ), mode=0o600)
    _write(files.cert, cert.public_bytes(serialization.Encoding.PEM) + ca_pem, mode=0o644)
    _write(files.ca, ca_pem, mode=0o644)
    return files


def _write(path: Path, data: bytes, *, mode: int) -> None:
    """Replace ``path`` with a file created with ``mode`` from the start (a key is never
    readable by others, not even for a moment)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, mode)  # the umask may have taken bits away from a public file
    os.replace(tmp, path)
