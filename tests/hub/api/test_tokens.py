"""``hub.tokens`` alone: claims round trip, typed errors, key derivation."""

from __future__ import annotations

import pytest

from hub.tokens import (
    JoinRole,
    TokenExpired,
    TokenForbidden,
    TokenInvalid,
    derive_key,
    mint_token,
    verify_token,
)

KEY = derive_key("admin")
ALL = list(JoinRole)


def test_round_trip_and_unique_ids() -> None:
    token, claims = mint_token(
        KEY, session="S1", role=JoinRole.TUTOR, ttl_s=600, classroom="pc1", node="n1", now=1000
    )
    got = verify_token(token, key=KEY, session="S1", roles=[JoinRole.TUTOR], now=1500)
    assert got == claims and got.exp == 1600 and got.teacher is None
    _, other = mint_token(KEY, session="S1", role=JoinRole.TUTOR, ttl_s=600, now=1000)
    assert other.jti != claims.jti


def test_typed_errors() -> None:
    token, _ = mint_token(KEY, session="S1", role=JoinRole.OBSERVER, ttl_s=60, now=1000)
    with pytest.raises(TokenExpired):
        verify_token(token, key=KEY, session="S1", roles=ALL, now=1061)
    with pytest.raises(TokenForbidden, match="role 'observer'"):
        verify_token(token, key=KEY, session="S1", roles=[JoinRole.LEAD], now=1010)
    with pytest.raises(TokenForbidden, match="session 'S1'"):
        verify_token(token, key=KEY, session="S2", roles=ALL, now=1010)
    with pytest.raises(TokenInvalid):
        verify_token(token, key=derive_key("other"), session="S1", roles=ALL, now=1010)
    with pytest.raises(TokenInvalid):
        verify_token(token + "x", key=KEY, session="S1", roles=ALL, now=1010)
    assert TokenExpired.status == 401 and TokenForbidden.status == 403


def test_wall_clock_expiry() -> None:
    token, _ = mint_token(KEY, session="S1", role=JoinRole.LEAD, ttl_s=60, now=1000)
    with pytest.raises(TokenExpired):
        verify_token(token, key=KEY, session="S1", roles=ALL)


def test_key_derivation_is_stable_and_separates_keys() -> None:
    assert derive_key("admin") == KEY and len(KEY) == 32
    assert derive_key("admin2") != KEY
