"""MqttLink against a real Mosquitto: ACLs, last will, reconnect with backoff."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from broker.client import ClientSettings, Incoming, MqttLink, WillSpec
from broker.exceptions import NotConnected, NotDelivered
from broker.localstack import MosquittoServer
from tests.conftest import HUB_SECRET, HUB_USER, node_secret


def settings(server: MosquittoServer, user: str, **kw: object) -> ClientSettings:
    secret = HUB_SECRET if user == HUB_USER else node_secret(user)
    options: dict[str, object] = {"client_id": f"{user}-c", **kw}
    return ClientSettings(
        port=server.port,
        username=user,
        password=secret,
        **options,  # type: ignore[arg-type]
    )


async def next_message(it: AsyncIterator[Incoming], timeout: float = 5.0) -> Incoming:
    return await asyncio.wait_for(anext(it), timeout)


async def test_node_cannot_publish_as_another_node(mosquitto: MosquittoServer) -> None:
    async with (
        MqttLink(settings(mosquitto, HUB_USER)) as hub,
        MqttLink(settings(mosquitto, "p1")) as p1,
    ):
        await hub.wait_connected(5)
        await p1.wait_connected(5)
        await hub.subscribe("dc/v1/nodes/+/up")
        inbox = hub.messages()
        # the broker refuses it in the PUBACK (0x87 not authorized), and the link says so
        with pytest.raises(NotDelivered) as refused:
            await p1.publish("dc/v1/nodes/p2/up", b"forged")
        assert refused.value.code == 0x87
        await p1.publish("dc/v1/nodes/p1/up", b"genuine")
        msg = await next_message(inbox)
        assert (msg.topic, msg.payload) == ("dc/v1/nodes/p1/up", b"genuine")


async def test_node_reads_only_sessions_it_belongs_to(mosquitto: MosquittoServer) -> None:
    mosquitto.node_sessions = {"p1": ["s1"]}
    mosquitto.reload()
    async with (
        MqttLink(settings(mosquitto, HUB_USER)) as hub,
        MqttLink(settings(mosquitto, "p1")) as p1,
    ):
        await hub.wait_connected(5)
        await p1.wait_connected(5)
        await p1.subscribe("dc/v1/sessions/+/events")
        inbox = p1.messages()
        await hub.publish("dc/v1/sessions/s2/events", b"not yours")
        await hub.publish("dc/v1/sessions/s1/events", b"yours")
        msg = await next_message(inbox)
        assert (msg.topic, msg.payload) == ("dc/v1/sessions/s1/events", b"yours")


async def test_wrong_password_never_connects(mosquitto: MosquittoServer) -> None:
    bad = ClientSettings(port=mosquitto.port, username="p1", password="nope", client_id="x")
    async with MqttLink(bad) as link:
        with pytest.raises(TimeoutError):
            await link.wait_connected(1.0)
        with pytest.raises(NotConnected):
            await link.publish("dc/v1/nodes/p1/up", b"x")


async def test_last_will_announces_a_crashed_node(mosquitto: MosquittoServer) -> None:
    will = WillSpec(topic="dc/v1/nodes/p1/presence", payload=b"offline")
    async with MqttLink(settings(mosquitto, HUB_USER)) as hub:
        await hub.wait_connected(5)
        await hub.subscribe("dc/v1/nodes/+/presence")
        inbox = hub.messages()
        p1 = MqttLink(settings(mosquitto, "p1", will=will, keepalive=2))
        await p1.start(wait=True)
        await p1.abort()
        msg = await next_message(inbox, timeout=10)
        assert (msg.topic, msg.payload) == ("dc/v1/nodes/p1/presence", b"offline")


async def test_reconnects_after_broker_restart_and_keeps_subscriptions(
    mosquitto: MosquittoServer,
) -> None:
    async with (
        MqttLink(settings(mosquitto, HUB_USER, reconnect_max_s=0.5)) as hub,
        MqttLink(settings(mosquitto, "p1", reconnect_max_s=0.5)) as p1,
    ):
        await hub.wait_connected(5)
        await p1.wait_connected(5)
        await hub.subscribe("dc/v1/nodes/+/up")
        inbox = hub.messages()
        mosquitto.stop()
        await asyncio.wait_for(_until(lambda: not p1.connected.is_set()), 10)
        with pytest.raises(NotConnected):
            await p1.publish("dc/v1/nodes/p1/up", b"while down")
        mosquitto.start()  # same port, persisted sessions
        await hub.wait_connected(15)
        await p1.wait_connected(15)
        await p1.publish("dc/v1/nodes/p1/up", b"after restart")
        msg = await next_message(inbox, timeout=10)
        assert msg.payload == b"after restart"
        assert p1.connects >= 2


async def _until(predicate: object) -> None:
    while not predicate():  # type: ignore[operator]
        await asyncio.sleep(0.02)


async def test_puback_no_subscriber_is_not_delivered(mosquitto: MosquittoServer) -> None:
    """Mosquitto answers "no matching subscribers" and drops the message: a sender
    that needs a reader (a node's uplink) must hear that it was not delivered."""
    async with MqttLink(settings(mosquitto, "p1")) as p1:
        await p1.wait_connected(5)
        with pytest.raises(NotDelivered) as dropped:
            await p1.publish("dc/v1/nodes/p1/up", b"nobody listens", need_subscriber=True)
        assert dropped.value.code == 0x10 and p1.undelivered == 1
        await p1.publish("dc/v1/nodes/p1/up", b"fine without a reader")  # default: accepted
        async with MqttLink(settings(mosquitto, HUB_USER, client_id="hub-sub")) as hub:
            await hub.subscribe("dc/v1/nodes/+/up")
            await hub.wait_connected(5)
            await p1.publish("dc/v1/nodes/p1/up", b"read", need_subscriber=True)


async def test_manual_ack_bounded_window_and_redelivery(mosquitto: MosquittoServer) -> None:
    """Unacknowledged messages stay the broker's: at most ``receive_maximum`` reach
    us, and what we never acknowledged is delivered again after a crash."""
    consumer = settings(mosquitto, HUB_USER, client_id="intake", manual_ack=True, receive_maximum=5)
    async with MqttLink(consumer) as hub:
        await hub.subscribe("dc/v1/nodes/+/up")
        await hub.wait_connected(5)
        async with MqttLink(settings(mosquitto, "p1")) as p1:
            await p1.wait_connected(5)
            for i in range(20):
                await p1.publish("dc/v1/nodes/p1/up", f"{i}".encode())
        inbox = hub.messages()
        first = [await next_message(inbox) for _ in range(5)]
        assert [m.payload for m in first] == [b"0", b"1", b"2", b"3", b"4"]
        with pytest.raises(TimeoutError):  # the window is full: the broker holds the rest
            await next_message(inbox, timeout=0.5)
        for m in first[:3]:
            m.ack()
        inbox = hub.messages()  # the timed-out wait closed the previous iterator
        more = [await next_message(inbox) for _ in range(3)]
        assert [m.payload for m in more] == [b"5", b"6", b"7"]
        await hub.abort()  # crash: 5 delivered, never acknowledged
    async with MqttLink(consumer) as again:
        await again.wait_connected(5)
        inbox = again.messages()
        seen: list[int] = []
        while not seen or seen[-1] != 19:
            m = await next_message(inbox)
            seen.append(int(m.payload))
            m.ack()
    # at least once: every unacknowledged one again, in order (an acknowledgement the
    # broker had not processed when the link died may bring its message back too)
    assert [i for i in seen if i >= 3] == list(range(3, 20))
    assert all(i >= 2 for i in seen)


async def test_reconnects_fast_through_accept_then_reset(mosquitto: MosquittoServer) -> None:
    """A path that accepts connections and resets them at once must not cost the
    full connect timeout per attempt: back within 2 s of the path returning."""
    from simulators.faults import CutMode, TcpProxy

    proxy = await TcpProxy(mosquitto.port).start()
    try:
        s = ClientSettings(
            port=proxy.port, username="p1", password=node_secret("p1"), client_id="p1-fast"
        )
        async with MqttLink(s) as p1:
            await p1.wait_connected(5)
            proxy.cut(CutMode.RESET)
            deadline = asyncio.get_running_loop().time() + 5
            while p1.connected.is_set():
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.01)
            # let several attempts fail against the reset path (backoff at its cap)
            while p1.failures < 6:
                assert asyncio.get_running_loop().time() < deadline + 15
                await asyncio.sleep(0.05)
            proxy.restore()
            back = asyncio.get_running_loop().time()
            await p1.wait_connected(10)
            assert asyncio.get_running_loop().time() - back < 2.0
    finally:
        await proxy.stop()
