"""Render Mosquitto's configuration, password and ACL files: pure functions.

The registry (in Redis, owned by the hub) is the source of truth; these functions
turn a snapshot of it into the three files Mosquitto reads. Keeping them pure makes
the security policy testable without a broker:

* the hub's user may read and write everything under the prefix;
* a node may write only its own ``up`` and ``presence``, read only its own ``cmd``,
  the presence of others, and the ``events``/``state`` of sessions it belongs to;
* anonymous clients are refused;
* a client's id is its username (``use_username_as_clientid``): a node that logs in
  with its own secret but asks for another client's id (a peer's, or the hub's)
  gets its own id instead, so it can never take over or wipe another session.
  Each hub replica therefore has its own users: ``<user>`` for its subscriber link
  and ``<user>/out`` for its publisher (``hub_link_users``); ``/`` cannot occur in
  a node id, so no node can ever be named like a hub link.

Mosquitto 2.0's ACL file does not check SUBSCRIBE (it filters at delivery), so a
node may subscribe to ``$share/<group>/...``. A shared group hands each message to
one member and Mosquitto drops it if that member may not read it: joining the hub's
group would steal uplinks. The hub's group name is therefore a random secret kept
in Redis (``hub.store``), never a guessable constant; a node's own groups only ever
receive what the node itself may read.

Passwords are hashed in Mosquitto's own ``$7$`` format (PBKDF2-SHA512), so no
``mosquitto_passwd`` binary is needed and no secret is ever written in clear.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from broker.tls import is_loopback
from protocols.topics import DEFAULT_PREFIX, Topics

__all__ = [
    "BrokerSettings",
    "ListenerTls",
    "hash_password",
    "hub_link_users",
    "render_acl",
    "render_conf",
    "render_listener",
    "render_passwords",
    "verify_password",
]

_ITERATIONS = 101  # what mosquitto_passwd 2.0 uses

#: Suffix of a hub replica's publisher identity (see the module docstring).
HUB_OUT_SUFFIX = "/out"


def hub_link_users(user: str) -> tuple[str, str]:
    """The two broker identities of one hub replica: subscriber and publisher."""
    return user, user + HUB_OUT_SUFFIX


def hash_password(secret: str, *, salt: bytes | None = None, iterations: int = _ITERATIONS) -> str:
    """Hash ``secret`` in Mosquitto's ``$7$`` PBKDF2-SHA512 format."""
    salt = os.urandom(12) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(secret: str, hashed: str) -> bool:
    """True if ``secret`` matches a ``$7$`` hash."""
    try:
        _, kind, iterations, salt, _digest = hashed.split("$")
    except ValueError:
        return False
    if kind != "7":
        return False
    return hash_password(secret, salt=base64.b64decode(salt), iterations=int(iterations)) == hashed


@dataclass(frozen=True, kw_only=True)
class ListenerTls:
    """TLS on the broker's listener: its certificate and key, and the CA of client
    certificates when clients must show one (``require_certificate``)."""

    cert_file: Path
    key_file: Path
    ca_file: Path | None = None
    require_certificate: bool = False


@dataclass(frozen=True, kw_only=True)
class BrokerSettings:
    """What mosquitto.conf needs to know.

    ``max_queued_messages``: Mosquitto's default of 1000 silently drops QoS 1
    messages queued for a slow or briefly offline subscriber; a lesson can produce
    more than that while a node reconnects, so we queue far more (bounded by
    ``max_queued_bytes``) and let resync cover anything older.

    ``autosave_interval_s``: without it Mosquitto writes its database (persistent
    sessions, subscriptions, queued QoS 1 messages) only on a clean shutdown, so a
    SIGKILL or power cut loses the hub's session: after the restart nodes publish
    to nobody. Saved every second, a crash loses at most the last second of broker
    state; nodes resend what the hub never sequenced, and resync covers downlinks.
    """

    port: int
    bind: str = "127.0.0.1"
    password_file: Path
    acl_file: Path
    persistence_dir: Path | None = None
    log_file: Path | None = None
    max_queued_messages: int = 100_000
    max_queued_bytes: int = 256 * 1024 * 1024
    max_inflight_messages: int = 100
    max_packet_size: int = 256 * 1024
    autosave_interval_s: int = 1
    #: Mosquitto started as root drops privileges to this user; the files we render
    #: are private to their owner, so by default it stays the user who owns them.
    run_as: str | None = None
    #: TLS on ``port`` (what crosses a network); ``None``: plain, for loopback only.
    tls: ListenerTls | None = None
    #: With ``tls``: also a plain listener on 127.0.0.1 at this port (a hub next
    #: to its broker). ``None``: none.
    plain_loopback_port: int | None = None
    extra: Sequence[str] = field(default_factory=tuple)


def render_conf(settings: BrokerSettings) -> str:
    """mosquitto.conf for one loopback (or configured) listener, auth required."""
    lines = [
        "# Rendered by dualclass (broker/render.py); edits are overwritten.",
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {settings.password_file}",
        f"acl_file {settings.acl_file}",
        f"max_queued_messages {settings.max_queued_messages}",
        f"max_queued_bytes {settings.max_queued_bytes}",
        f"max_inflight_messages {settings.max_inflight_messages}",
        f"max_packet_size {settings.max_packet_size}",
        "persistent_client_expiration 1d",
        # Lesson events are small and latency-bound: no Nagle on client sockets.
        "set_tcp_nodelay true",
    ]
    lines += render_listener(settings.port, settings.bind, settings.tls)
    if settings.tls is not None and settings.plain_loopback_port is not None:
        lines += render_listener(settings.plain_loopback_port, "127.0.0.1", None)
    if settings.run_as:
        lines.append(f"user {settings.run_as}")
    if settings.persistence_dir is not None:
        lines += [
            "persistence true",
            f"persistence_location {settings.persistence_dir}/",
            # save on a timer, not only on a clean exit (see BrokerSettings)
            f"autosave_interval {settings.autosave_interval_s}",
            "autosave_on_changes false",
        ]
    else:
        lines += ["persistence false"]
    if settings.log_file is not None:
        lines += [
            f"log_dest file {settings.log_file}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
        ]
    else:
        lines += ["log_dest none"]
    lines += list(settings.extra)
    return "\n".join(lines) + "\n"


def render_listener(port: int, bind: str, tls: ListenerTls | None) -> list[str]:
    """One ``listener`` block; with TLS, TLS 1.2 or newer and the certificate files.

    A plain listener only on a loopback address: MQTT passwords and lesson events
    never cross a network in clear (``ValueError`` otherwise).
    """
    if tls is None and not is_loopback(bind):
        raise ValueError(f"a plain MQTT listener on {bind} would cross a network in clear")
    lines = [
        f"listener {port} {bind}",
        # A listener option (before any listener it would open a default one on
        # 1883): the client id is the username, so no client can take another's id.
        "use_username_as_clientid true",
    ]
    if tls is None:
        return lines
    lines += [
        f"certfile {tls.cert_file}",
        f"keyfile {tls.key_file}",
        "tls_version tlsv1.2",
    ]
    if tls.ca_file is not None:
        lines.append(f"cafile {tls.ca_file}")
    lines.append(f"require_certificate {'true' if tls.require_certificate else 'false'}")
    return lines


def render_passwords(users: Mapping[str, str]) -> str:
    """Password file from ``{username: $7$ hash}``, sorted for stable diffs."""
    for name in users:
        if not name or ":" in name or any(c.isspace() for c in name):
            raise ValueError(f"invalid MQTT username {name!r}")
    return "".join(f"{name}:{users[name]}\n" for name in sorted(users))


def render_acl(
    *,
    hub_users: Sequence[str],
    node_sessions: Mapping[str, Sequence[str]],
    prefix: str = DEFAULT_PREFIX,
    muted: Collection[str] = (),
) -> str:
    """ACL file: hub users get everything under the prefix; nodes get their own.

    ``node_sessions`` maps each node id (= its MQTT username) to the sessions it
    belongs to. Node rules are written per user rather than as ``%u`` patterns so
    that a username containing MQTT wildcards can never match other topics.
    ``muted`` nodes (quarantined for flooding) lose the right to write their
    ``up``: the broker refuses their publishes itself (PUBACK "not authorized").
    """
    topics = Topics(prefix)
    out = ["# Rendered by dualclass (broker/render.py); edits are overwritten.", ""]
    for hub in sorted({u for h in hub_users for u in hub_link_users(h)}):
        out += [f"user {hub}", f"topic readwrite {prefix}/#", ""]
    for node in sorted(node_sessions):
        out += [f"user {node}"]
        if node not in muted:
            out.append(f"topic write {topics.node_up(node)}")
        out += [
            f"topic readwrite {topics.node_presence(node)}",
            f"topic read {topics.node_cmd(node)}",
            f"topic read {topics.all_presence}",
        ]
        for session in sorted(set(node_sessions[node])):
            out += [
                f"topic read {topics.session_events(session)}",
                f"topic read {topics.session_state(session)}",
            ]
        out.append("")
    return "\n".join(out)
