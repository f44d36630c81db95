"""TLS for the MQTT link: which CA to trust, which certificate to show, whose name to check.

A classroom box reaches the broker across the internet, so its MQTT password and
every lesson event must travel inside TLS. ``TlsSettings`` is the one shape hub
and node configs reduce their ``mqtt_tls_*`` fields to; ``client_context`` turns
it into an ``ssl.SSLContext`` for paho (through aiomqtt):

- ``ca_file``: the CA that signed the broker's certificate (``None``: the
  system's trust store, for a broker with a public certificate);
- ``cert_file`` / ``key_file``: an optional client certificate, for brokers that
  ``require_certificate``;
- ``check_hostname``: the broker's certificate must name the host we dial (on by
  default; off only for a lab broker reached by an address its certificate
  does not list: the CA is still checked).

Plain MQTT is allowed only to a loopback broker (``plain_allowed``): a hub next
to its broker may skip TLS, nothing that crosses a network may.

``MqttTlsFields`` holds the ``mqtt_host`` + ``mqtt_tls_*`` settings, their rules and
their reduction to ``TlsSettings`` once, for every daemon's settings to inherit.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from pydantic import BaseModel, model_validator

__all__ = ["MqttTlsFields", "TlsSettings", "client_context", "is_loopback", "plain_allowed"]


@dataclass(frozen=True, kw_only=True)
class TlsSettings:
    """See the module docstring."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    check_hostname: bool = True


def client_context(tls: TlsSettings) -> ssl.SSLContext:
    """A client context: TLS 1.2 or newer, the broker's certificate verified.

    Built anew at each connect, so a renewed CA or client certificate on disk is
    picked up by the next reconnect without restarting the daemon.
    """
    context = ssl.create_default_context(
        ssl.Purpose.SERVER_AUTH, cafile=str(tls.ca_file) if tls.ca_file else None
    )
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = tls.check_hostname
    context.verify_mode = ssl.CERT_REQUIRED
    if tls.cert_file is not None:
        context.load_cert_chain(
            str(tls.cert_file), str(tls.key_file) if tls.key_file is not None else None
        )
    return context


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and addresses in 127.0.0.0/8 or ``::1``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_allowed(host: str) -> bool:
    """Plain (unencrypted) MQTT only to a broker on this machine."""
    return is_loopback(host)


class MqttTlsFields(BaseModel):
    """The broker's host and how to reach it over TLS; a base of every daemon's settings."""

    mqtt_host: str = "127.0.0.1"
    #: MQTT over TLS (implied by ``mqtt_ca_file``). Plain MQTT only to a broker on
    #: loopback: credentials and lessons must not cross a network in clear.
    mqtt_tls: bool = False
    #: CA of the broker's certificate (unset: the system trust store).
    mqtt_ca_file: Path | None = None
    #: Client certificate and key, for a broker that requires one.
    mqtt_cert_file: Path | None = None
    mqtt_key_file: Path | None = None
    #: The broker's certificate must name ``mqtt_host`` (off only for a lab broker).
    mqtt_tls_check_hostname: bool = True

    @model_validator(mode="after")
    def _mqtt_tls_rules(self) -> Self:
        if self.mqtt_ca_file is not None and not self.mqtt_tls:
            object.__setattr__(self, "mqtt_tls", True)
        if not self.mqtt_tls and not plain_allowed(self.mqtt_host):
            raise ValueError(
                f"plain MQTT to {self.mqtt_host} would send credentials across a network "
                "in clear: set mqtt_tls (and mqtt_ca_file) or use a broker on loopback"
            )
        if (self.mqtt_cert_file is None) != (self.mqtt_key_file is None):
            raise ValueError("mqtt_cert_file and mqtt_key_file go together")
        return self

    def mqtt_tls_settings(self) -> TlsSettings | None:
        """The link's TLS, or ``None`` for plain MQTT (loopback only)."""
        if not self.mqtt_tls:
            return None
        return TlsSettings(
            ca_file=self.mqtt_ca_file,
            cert_file=self.mqtt_cert_file,
            key_file=self.mqtt_key_file,
            check_hostname=self.mqtt_tls_check_hostname,
        )
