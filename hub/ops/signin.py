"""The operator's session cookie: the admin key exchanged once for a signed, expiring value.

Why a cookie and not the key in the page: the admin key opens every admin route;
typed once into the sign-in form it is checked and forgotten, and the browser keeps
only an ``HttpOnly; SameSite=Strict`` cookie that scripts cannot read and other
sites cannot make the browser send. The cookie value is ``{exp}.{nonce}.{mac}``
(HMAC-SHA256 with a key derived from the admin key by HKDF, label
``dualclass ops-session v1``), so every replica with the same admin key accepts it
and rotating the admin key signs everyone out. Sign-out revokes the nonce on this
replica until the cookie would have expired anyway (bounded set).

Pure: the clock is passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

__all__ = ["COOKIE", "MAX_COOKIE_LEN", "OpsSessions", "derive_ops_key"]

COOKIE = "dc_ops"
MAX_COOKIE_LEN = 128
#: Revoked nonces kept at most (sign-outs within one cookie lifetime).
_MAX_REVOKED = 10_000
_SALT = b"dualclass"
_INFO = b"dualclass ops-session v1"


def derive_ops_key(admin_key: str) -> bytes:
    """HKDF-SHA256 (RFC 5869) of the admin key to the cookie signing key."""
    prk = hmac.new(_SALT, admin_key.encode(), hashlib.sha256).digest()
    return hmac.new(prk, _INFO + b"\x01", hashlib.sha256).digest()


def _mac(key: bytes, body: str) -> str:
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class OpsSessions:
    """Issue, check and revoke session cookie values for one admin key."""

    key: bytes
    ttl_s: int = 8 * 3600
    _revoked: dict[str, int] = field(default_factory=dict)

    def issue(self, now_ms: int) -> tuple[str, int]:
        """A new cookie value and its expiry (epoch seconds)."""
        exp = now_ms // 1000 + self.ttl_s
        nonce = secrets.token_urlsafe(12)
        body = f"{exp}.{nonce}"
        return f"{body}.{_mac(self.key, body)}", exp

    def _parse(self, value: str) -> tuple[int, str] | None:
        if not value or len(value) > MAX_COOKIE_LEN:
            return None
        parts = value.split(".")
        if len(parts) != 3 or not parts[0].isdigit() or len(parts[0]) > 12:
            return None
        exp_text, nonce, mac = parts
        if not hmac.compare_digest(mac.encode(), _mac(self.key, f"{exp_text}.{nonce}").encode()):
            return None
        return int(exp_text), nonce

    def valid(self, value: str | None, now_ms: int) -> bool:
        parsed = self._parse(value or "")
        if parsed is None:
            return False
        exp, nonce = parsed
        return now_ms // 1000 < exp and nonce not in self._revoked

    def revoke(self, value: str | None, now_ms: int) -> None:
        """Sign-out: this value is refused from now on (until it would expire)."""
        parsed = self._parse(value or "")
        now_s = now_ms // 1000
        self._revoked = {n: e for n, e in self._revoked.items() if e > now_s}
        if parsed is None or parsed[0] <= now_s:
            return
        if len(self._revoked) >= _MAX_REVOKED:
            # drop the soonest-expiring: bounded memory beats remembering every sign-out
            del self._revoked[min(self._revoked, key=self._revoked.__getitem__)]
        self._revoked[parsed[1]] = parsed[0]
