"""A throwaway local certificate authority for the dev stack and the demo.

``dualclass stack up --tls`` and ``dualclass demo --tls`` need a broker and a hub
that speak TLS without a public certificate. ``LocalCa`` makes a CA (ECDSA P-256,
valid for a few days) in a directory and issues leaf certificates for the names a
client dials (``127.0.0.1``, ``localhost``). Clients trust exactly that CA through
their ``ca_file`` setting, never the system store, so the same code path as in
production (CA + server-name check) is exercised. Private keys are written 0600.

Production uses a real CA (an ACME certificate or the district's own PKI): see
docs/operator-guide.md. Uses the ``cryptography`` package.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from broker.admin import write_private

__all__ = ["Issued", "LocalCa"]

_VALID = dt.timedelta(days=7)


@dataclass(frozen=True)
class Issued:
    """A certificate and its key on disk."""

    cert_file: Path
    key_file: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dualclass local stack"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _san(hosts: Sequence[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


class LocalCa:
    """A CA kept in ``directory`` (``ca.crt``, ``ca.key``); reused if already there."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.cert_file = directory / "ca.crt"
        self.key_file = directory / "ca.key"
        if self.cert_file.exists() and self.key_file.exists() and self._still_valid():
            self._load()
        else:
            self._create()

    def _still_valid(self) -> bool:
        cert = x509.load_pem_x509_certificate(self.cert_file.read_bytes())
        return cert.not_valid_after_utc > dt.datetime.now(dt.UTC) + dt.timedelta(days=1)

    def _load(self) -> None:
        self._cert = x509.load_pem_x509_certificate(self.cert_file.read_bytes())
        key = serialization.load_pem_private_key(self.key_file.read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        self._key = key

    def _create(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        name = _name("dualclass local CA")
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + _VALID)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        write_private(self.key_file, _key_pem(key))
        self.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self._cert, self._key = cert, key

    def issue(self, name: str, hosts: Sequence[str] = (), *, client: bool = False) -> Issued:
        """A leaf certificate for ``hosts`` (server) or for client ``name``, in ``directory``."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(self._cert.not_valid_after_utc)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if hosts:
            builder = builder.add_extension(_san(hosts), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        issued = Issued(self.directory / f"{name}.crt", self.directory / f"{name}.key")
        write_private(issued.key_file, _key_pem(key))
        issued.cert_file.write_bytes(
            cert.public_bytes(serialization.Encoding.PEM) + self.cert_file.read_bytes()
        )
        return issued
