"""The rendered broker files say what the security policy says."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.render import (
    BrokerSettings,
    hash_password,
    render_acl,
    render_conf,
    render_passwords,
    verify_password,
)


def test_hash_is_mosquitto_pbkdf2_sha512_and_verifies() -> None:
    hashed = hash_password("s3cret")
    assert hashed.startswith("$7$101$")
    assert verify_password("s3cret", hashed)
    assert not verify_password("other", hashed)
    assert hash_password("s3cret") != hashed  # salted


def test_conf_refuses_anonymous_and_queues_deliberately(tmp_path: Path) -> None:
    conf = render_conf(
        BrokerSettings(port=1234, password_file=tmp_path / "p", acl_file=tmp_path / "a")
    )
    assert "allow_anonymous false" in conf
    assert "listener 1234 127.0.0.1" in conf
    assert "max_queued_messages 100000" in conf  # Mosquitto's 1000 drops QoS 1 messages


def test_acl_gives_nodes_only_their_own_topics() -> None:
    acl = render_acl(hub_users=["hub"], node_sessions={"n1": ["s1"], "n2": []})
    n1 = acl.split("user n1\n")[1].split("user ")[0]
    assert "topic write dc/v1/nodes/n1/up" in n1
    assert "topic read dc/v1/nodes/n1/cmd" in n1
    assert "topic read dc/v1/sessions/s1/events" in n1
    assert "n2" not in n1
    assert "#" not in n1
    n2 = acl.split("user n2\n")[1]
    assert "sessions" not in n2
    assert "user hub\ntopic readwrite dc/v1/#" in acl


def test_passwords_sorted_and_checked() -> None:
    assert render_passwords({"b": "$7$x", "a": "$7$y"}) == "a:$7$y\nb:$7$x\n"
    with pytest.raises(ValueError):
        render_passwords({"a:b": "$7$x"})


def test_listeners_plain_only_on_loopback_tls_elsewhere(tmp_path: Path) -> None:
    from broker.render import ListenerTls, render_listener

    assert render_listener(1883, "127.0.0.1", None)[0] == "listener 1883 127.0.0.1"
    with pytest.raises(ValueError, match="in clear"):
        render_listener(1883, "0.0.0.0", None)
    tls = ListenerTls(
        cert_file=tmp_path / "s.crt",
        key_file=tmp_path / "s.key",
        ca_file=tmp_path / "ca.crt",
        require_certificate=True,
    )
    lines = render_listener(8883, "0.0.0.0", tls)
    assert lines[0] == "listener 8883 0.0.0.0"
    for expected in (
        f"certfile {tmp_path / 's.crt'}",
        f"keyfile {tmp_path / 's.key'}",
        f"cafile {tmp_path / 'ca.crt'}",
        "tls_version tlsv1.2",
        "require_certificate true",
        "use_username_as_clientid true",
    ):
        assert expected in lines
