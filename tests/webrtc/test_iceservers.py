"""ICE server lists and TURN REST credentials (pure)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from pydantic import ValidationError

from webrtc.iceservers import IceServerSpec, ice_servers_for, turn_credential, turn_username

STUN = IceServerSpec(urls=["stun:stun.example.org:3478"])
TURN = IceServerSpec(
    urls=["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349?transport=tcp"]
)


def test_credentials_follow_the_turn_rest_scheme() -> None:
    username = turn_username("p1", 600, now=1_000_000)
    assert username == "1000600:p1"
    expected = base64.b64encode(hmac.new(b"s3", b"1000600:p1", hashlib.sha1).digest()).decode()
    assert turn_credential("s3", username) == expected


def test_each_join_gets_fresh_expiring_turn_credentials() -> None:
    servers = ice_servers_for([STUN, TURN], who="p1", secret="s3", ttl_s=600, now=1_000_000)
    assert servers[0] == {"urls": ["stun:stun.example.org:3478"]}
    turn = servers[1]
    assert turn["username"] == "1000600:p1"
    assert turn["credential"] == turn_credential("s3", "1000600:p1")
    later = ice_servers_for([TURN], who="p1", secret="s3", ttl_s=600, now=1_000_100)
    assert later[0]["username"] == "1000700:p1" and later[0]["credential"] != turn["credential"]


def test_peer_names_cannot_smuggle_separators_into_the_username() -> None:
    assert turn_username("p1:admin x", 60, now=0) == "60:p1_admin_x"


def test_turn_without_a_secret_is_left_out_static_credentials_are_kept() -> None:
    assert ice_servers_for([STUN, TURN], who="p1", secret=None, ttl_s=600) == [
        {"urls": ["stun:stun.example.org:3478"]}
    ]
    static = IceServerSpec(urls=["turn:t.example.org"], username="u", credential="c")
    out = ice_servers_for([static], who="p1", secret="s3", ttl_s=600)
    assert out == [{"urls": ["turn:t.example.org"], "username": "u", "credential": "c"}]


@pytest.mark.parametrize(
    "urls",
    [[], ["http://turn.example.org"], ["turn:a b"], [f"stun:h{i}" for i in range(9)]],
)
def test_bad_server_lists_are_refused(urls: list[str]) -> None:
    with pytest.raises(ValidationError):
        IceServerSpec(urls=urls)
