"""The MQTT link: one aiomqtt connection kept alive, as an async context manager.

aiomqtt gives one connection per ``async with``; a daemon needs one that outlives
broker restarts. ``MqttLink`` runs a supervisor task that connects (MQTT 5, last
will, persistent session so QoS 1 messages wait for us at the broker), restores
its subscriptions, feeds received messages into one async iterator that survives
reconnects, and backs off exponentially (with jitter) while the broker is away.

Publishing while disconnected raises ``NotConnected`` at once instead of waiting:
the node journals the event on disk and sends it when ``connected`` is set again.
A publish at QoS 1 returns when the broker acknowledged it (PUBACK) and looks at
the PUBACK's reason code: a failure code (or, when the caller needs a reader,
"no matching subscribers") raises ``NotDelivered``. aiomqtt drops that code, so
the link sends through paho itself (``_Client``).

With ``manual_ack`` the link does not acknowledge received QoS 1 messages: the
consumer calls ``Incoming.ack()`` once the message is safe (the hub: stored in
Redis). Unacknowledged messages stay the broker's; after a crash it delivers them
again. ``receive_maximum`` bounds how many it hands us unacknowledged, so a
consumer that falls behind holds messages at the broker, not in its memory.

Reconnects are fast: a connection that is accepted and then reset fails the
attempt at once (aiomqtt alone waits out its whole timeout), and the backoff is
capped low (``reconnect_max_s``) so a node is back within about two seconds of its
path returning.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import aiomqtt
import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from broker.exceptions import NotConnected, NotDelivered, SubscribeDenied
from broker.tls import TlsSettings, client_context

__all__ = ["NO_MATCHING_SUBSCRIBERS", "ClientSettings", "Incoming", "MqttLink", "WillSpec"]

log = logging.getLogger("dualclass.broker")


@dataclass(frozen=True, kw_only=True)
class WillSpec:
    """Message the broker publishes for us if we vanish without a DISCONNECT."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


@dataclass(frozen=True, kw_only=True)
class ClientSettings:
    """How to reach and talk to the broker.

    ``max_inflight`` bounds unacknowledged QoS 1 publishes (the in-flight window);
    ``session_expiry_s`` keeps our subscriptions and queued messages at the broker
    across a short outage, so QoS 1 deliveries are not lost while we reconnect.
    ``connect_timeout_s`` bounds one connection attempt (TCP + CONNACK);
    ``manual_ack`` and ``receive_maximum``: see the module docstring.
    """

    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    client_id: str
    keepalive: int = 10
    max_inflight: int = 100
    session_expiry_s: int = 3600
    clean_start: bool = False
    reconnect_min_s: float = 0.1
    reconnect_max_s: float = 1.0
    timeout_s: float = 10.0
    connect_timeout_s: float = 3.0
    will: WillSpec | None = None
    manual_ack: bool = False
    receive_maximum: int | None = None
    #: MQTT over TLS (``broker.tls``); ``None``: plain TCP (loopback brokers only).
    tls: TlsSettings | None = None


def _noop() -> None:
    return None


@dataclass(frozen=True, slots=True)
class Incoming:
    """One received message.

    ``ack()`` acknowledges it to the broker when the link uses ``manual_ack`` (a
    no-op otherwise, or when the connection it came on is gone: the broker then
    delivers it again on the next one).
    """

    topic: str
    payload: bytes
    retain: bool
    ack: Callable[[], None] = field(default=_noop, compare=False, repr=False)


#: PUBACK "no matching subscribers": the broker accepted the message and dropped it.
NO_MATCHING_SUBSCRIBERS = 0x10


class _Client(aiomqtt.Client):
    """aiomqtt with the three things it does not do for us.

    * ``publish_checked`` returns the PUBACK reason code (aiomqtt drops it);
    * a connection lost before CONNACK fails the attempt at once (aiomqtt ignores
      it and waits out its timeout: 10 s to notice an accepted-then-reset socket);
    * ``manual_ack``: received QoS 1 messages are acknowledged by ``ack``.

    This is the one place that touches aiomqtt's private attributes.
    """

    def __init__(self, *args: Any, manual_ack: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._acks: dict[int, asyncio.Future[ReasonCode | None]] = {}
        self.manual_ack = manual_ack
        paho_client: paho.Client = self._client
        paho_client.manual_ack_set(manual_ack)
        paho_client.on_publish = self._on_publish_reason
        paho_client.on_disconnect = self._on_disconnect_early

    def _on_publish_reason(
        self,
        client: paho.Client,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties,
    ) -> None:
        future = self._acks.pop(mid, None)
        if future is not None and not future.done():
            future.set_result(reason_code)
        self._on_publish(client, userdata, mid, reason_code, properties)

    def _on_disconnect_early(
        self,
        client: paho.Client,
        userdata: Any,
        flags: Any,
        reason_code: ReasonCode,
        properties: Properties | None = None,
    ) -> None:
        connected: asyncio.Future[Any] = self._connected
        if not connected.done():
            lost = aiomqtt.MqttError(f"connection lost before CONNACK ({reason_code})")
            connected.set_exception(lost)
        for future in self._acks.values():
            if not future.done():
                future.set_exception(aiomqtt.MqttError("connection lost"))
        self._acks.clear()
        self._on_disconnect(client, userdata, flags, reason_code, properties)

    async def publish_checked(
        self, topic: str, payload: bytes, *, qos: int, retain: bool, timeout: float
    ) -> ReasonCode | None:
        """Publish; at QoS >= 1 wait for the PUBACK and return its reason code."""
        paho_client: paho.Client = self._client
        info = paho_client.publish(topic, payload, qos, retain)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            raise aiomqtt.MqttCodeError(info.rc, "could not publish")
        if qos == 0:
            return None
        future: asyncio.Future[ReasonCode | None] = asyncio.get_running_loop().create_future()
        self._acks[info.mid] = future
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise aiomqtt.MqttError("PUBACK timed out") from None
        finally:
            self._acks.pop(info.mid, None)

    def acker(self, mid: int, qos: int) -> Callable[[], None]:
        """The ``Incoming.ack`` of message ``mid`` received on this connection."""
        if not self.manual_ack or qos == 0:
            return _noop

        def ack() -> None:
            if not self._disconnected.done():
                paho_client: paho.Client = self._client
                paho_client.ack(mid, qos)

        return ack


OnConnect = Callable[[], Awaitable[None]]


class MqttLink:
    """A self-healing MQTT connection.

    Usage::

        async with MqttLink(settings, on_connect=...) as link:
            await link.subscribe("dc/v1/nodes/n1/cmd")
            async for msg in link.messages():
                ...
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        on_connect: OnConnect | None = None,
        queue_size: int = 0,
    ) -> None:
        self.settings = settings
        self._on_connect = on_connect
        self._subscriptions: dict[str, int] = {}
        self._client: _Client | None = None
        self._incoming: asyncio.Queue[Incoming | None] = asyncio.Queue(queue_size)
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._on_connect_task: asyncio.Task[None] | None = None
        self.connects = 0
        self.failures = 0
        #: Why the last attempt failed (e.g. a certificate the CA did not sign).
        self.last_error: str | None = None
        #: PUBACKs that said the broker did not take a message (see ``publish``).
        self.undelivered = 0
        #: Messages received (all connections).
        self.received = 0

    # ------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> MqttLink:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self, *, wait: bool = False) -> None:
        """Start the supervisor; with ``wait`` return only once connected."""
        self._task = asyncio.create_task(self._supervise(), name=f"mqtt-{self.settings.client_id}")
        if wait:
            await self.wait_connected()

    async def wait_connected(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self.connected.wait(), timeout)

    async def close(self) -> None:
        """Disconnect cleanly (no last will) and stop the supervisor.

        Cancelling the supervisor unwinds its ``async with client`` block, which is
        what sends DISCONNECT; the wait is bounded so a dead broker cannot hang a
        shutdown. A cancellation of ``close`` itself is not swallowed.
        """
        self._closing = True
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=self.settings.timeout_s)
            if not done:
                log.warning("mqtt %s: supervisor did not stop in time", self.settings.client_id)
        self.connected.clear()
        self._incoming.put_nowait(None)

    async def abort(self) -> None:
        """Drop the connection without DISCONNECT (the broker fires the last will).

        For fault-injection tests and simulators: behaves like a crashed node.
        """
        self._closing = True
        client = self._client
        if client is not None:
            with contextlib.suppress(Exception):
                sock = client._client.socket()
                if sock is not None:
                    # shutdown, not close: the fd stays valid for paho's bookkeeping
                    # while the broker sees the TCP connection end without DISCONNECT.
                    sock.shutdown(socket.SHUT_RDWR)  # type: ignore[attr-defined]
        if self._task is not None:
            # Let the supervisor see the broken connection and return by itself;
            # cancelling it would make aiomqtt try a DISCONNECT on a dead socket.
            try:
                await asyncio.wait_for(asyncio.shield(self._task), self.settings.timeout_s)
            except (TimeoutError, asyncio.CancelledError, Exception):
                self._task.cancel()
        self.connected.clear()
        self._incoming.put_nowait(None)

    # ------------------------------------------------------------ supervisor

    def _make_client(self) -> _Client:
        s = self.settings
        will = None
        if s.will is not None:
            will = aiomqtt.Will(s.will.topic, s.will.payload, qos=s.will.qos, retain=s.will.retain)
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = s.session_expiry_s
        if s.receive_maximum is not None:
            props.ReceiveMaximum = s.receive_maximum
        return _Client(
            s.host,
            s.port,
            username=s.username,
            password=s.password,
            identifier=s.client_id,
            protocol=aiomqtt.ProtocolVersion.V5,
            will=will,
            keepalive=s.keepalive,
            timeout=s.timeout_s,
            clean_start=s.clean_start,
            properties=props,
            max_inflight_messages=s.max_inflight,
            # Small messages, latency matters: without this Nagle + delayed ACK add
            # ~40 ms to a QoS 1 round trip on loopback.
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            manual_ack=s.manual_ack,
            tls_context=client_context(s.tls) if s.tls is not None else None,
        )

    async def _supervise(self) -> None:
        delay = self.settings.reconnect_min_s
        while not self._closing:
            try:
                # TLS files are read here: a missing or bad one is retried, not fatal
                client = self._make_client()
                # one attempt (TCP + CONNACK) is bounded by connect_timeout_s; later
                # operations by timeout_s
                client.timeout = self.settings.connect_timeout_s
                async with client:
                    client.timeout = self.settings.timeout_s
                    self._client = client
                    for topic, qos in list(self._subscriptions.items()):
                        await self._subscribe_on(client, topic, qos)
                    self.connects += 1
                    self.connected.set()
                    delay = self.settings.reconnect_min_s
                    log.info("mqtt connected as %s", self.settings.client_id)
                    if self._on_connect is not None:
                        self._on_connect_task = asyncio.create_task(self._run_on_connect())
                    async for message in client.messages:
                        payload = message.payload
                        data = payload if isinstance(payload, bytes | bytearray) else b""
                        self.received += 1
                        await self._incoming.put(
                            Incoming(
                                str(message.topic),
                                bytes(data),
                                bool(message.retain),
                                client.acker(message.mid, message.qos),
                            )
                        )
                    raise aiomqtt.MqttError("message stream ended")
            except aiomqtt.MqttError as exc:
                self.failures += 1
                self.last_error = str(exc)
                if not self._closing:
                    log.warning(
                        "mqtt %s: %s; retrying in %.2f s", self.settings.client_id, exc, delay
                    )
            except SubscribeDenied as exc:
                self.failures += 1
                log.error("mqtt %s: %s", self.settings.client_id, exc)
            except (OSError, ssl.SSLError, ValueError) as exc:
                self.failures += 1
                self.last_error = f"TLS setup: {exc}"
                log.error("mqtt %s: cannot set up TLS: %s", self.settings.client_id, exc)
            finally:
                self._client = None
                self.connected.clear()
            if self._closing:
                return
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, self.settings.reconnect_max_s)

    async def _run_on_connect(self) -> None:
        assert self._on_connect is not None
        try:
            await self._on_connect()
        except (NotConnected, aiomqtt.MqttError) as exc:
            log.info("on_connect interrupted: %s", exc)
        except Exception:
            log.exception("on_connect callback failed")

    @staticmethod
    async def _subscribe_on(client: aiomqtt.Client, topic: str, qos: int) -> None:
        codes = await client.subscribe(topic, qos=qos)
        for code in codes:
            value = code.value if hasattr(code, "value") else int(code)
            if value >= 0x80:
                raise SubscribeDenied(topic, str(code))

    # ------------------------------------------------------------- operations

    async def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        need_subscriber: bool = False,
    ) -> None:
        """Publish; at QoS 1 return once the broker acknowledged it.

        Raises ``NotConnected`` if there is no live connection or it drops before
        the acknowledgement (the message may or may not have arrived: resend it;
        ids make that harmless), and ``NotDelivered`` if the PUBACK carries a
        failure reason code, or "no matching subscribers" when ``need_subscriber``
        (the broker dropped it: nobody was there to take it).
        """
        client = self._client
        if client is None or not self.connected.is_set():
            raise NotConnected()
        try:
            reason = await client.publish_checked(
                topic, payload, qos=qos, retain=retain, timeout=self.settings.timeout_s
            )
        except aiomqtt.MqttError:
            raise NotConnected() from None
        if reason is None:
            return
        value = int(reason.value)
        if value >= 0x80 or (need_subscriber and value == NO_MATCHING_SUBSCRIBERS):
            self.undelivered += 1
            raise NotDelivered(topic, value, str(reason))

    async def subscribe(self, topic: str, *, qos: int = 1) -> None:
        """Subscribe now (if connected) and after every reconnect.

        Raises ``SubscribeDenied`` if the broker refuses it (ACL); the topic is then
        not remembered.
        """
        self._subscriptions[topic] = qos
        client = self._client
        if client is None or not self.connected.is_set():
            return
        try:
            await self._subscribe_on(client, topic, qos)
        except SubscribeDenied:
            self._subscriptions.pop(topic, None)
            raise
        except aiomqtt.MqttError:
            return  # restored on reconnect

    async def unsubscribe(self, topic: str) -> None:
        self._subscriptions.pop(topic, None)
        client = self._client
        if client is None or not self.connected.is_set():
            return
        with contextlib.suppress(aiomqtt.MqttError):
            await client.unsubscribe(topic)

    async def messages(self) -> AsyncIterator[Incoming]:
        """Every received message, across reconnects; ends when the link closes."""
        while True:
            item = await self._incoming.get()
            if item is None:
                return
            yield item
