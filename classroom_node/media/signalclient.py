"""``SignalClient``: one signalling WebSocket to the hub, as an async context manager.

Speaks ``protocols.signalling``: sends ``join`` on entry and ``leave`` on exit; a
reader task sorts what the hub says into what callers await (``joined``, offers,
acks and errors by interaction id) and what they look at (``events``, ``state``).
The node's media uses it with node credentials; tests use it with join tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from types import TracebackType
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from classroom_node.media.exceptions import SignalClosed, SignalRefused
from protocols.exceptions import DecodeError
from protocols.ids import new_id
from protocols.messages import Envelope, SessionStateBody
from protocols.signalling import (
    MAX_SIGNAL_SIZE,
    SignalAck,
    SignalAnswer,
    SignalError,
    SignalEvent,
    SignalInteract,
    SignalJoin,
    SignalJoined,
    SignalLayer,
    SignalLeave,
    SignalOffer,
    SignalState,
    dump_signal,
    parse_signal,
)
from runtime.tasks import cancel_and_wait

__all__ = ["SignalClient", "signal_url"]

log = logging.getLogger("dualclass.node.media")


def signal_url(hub_url: str) -> str:
    """``http(s)://host:port`` (the hub's API address) -> ``ws(s)://host:port/ws/signal``."""
    base = hub_url.rstrip("/")
    if base.startswith("http"):
        base = "ws" + base[4:]
    return base if base.endswith("/ws/signal") else base + "/ws/signal"


class SignalClient:
    """One peer's signalling conversation; see the module docstring."""

    def __init__(
        self,
        url: str,
        join: SignalJoin,
        *,
        open_timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.url = signal_url(url)
        self.join = join
        #: For ``wss://``: whom to trust (``None``: the system store).
        self._ssl = ssl_context
        self.events: list[Envelope] = []
        self.state: SessionStateBody | None = None
        #: The hub's latest word on which camera layer it forwards us, and why.
        self.layer: SignalLayer | None = None
        self.errors: list[SignalError] = []
        self.close_code: int | None = None
        self._open_timeout = open_timeout
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._joined: asyncio.Future[SignalJoined] | None = None
        self._offers: asyncio.Queue[SignalOffer] = asyncio.Queue()
        self._waiting: dict[str, asyncio.Future[SignalAck | SignalError]] = {}
        self._changed = asyncio.Event()
        self.closed = asyncio.Event()

    async def __aenter__(self) -> SignalClient:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Connect and send ``join`` (``joined()`` tells whether the hub took it)."""
        self._joined = asyncio.get_running_loop().create_future()
        extra: dict[str, Any] = {}
        if self._ssl is not None and self.url.startswith("wss"):
            extra["ssl"] = self._ssl
        try:
            self._ws = await connect(
                self.url,
                proxy=None,
                open_timeout=self._open_timeout,
                max_size=MAX_SIGNAL_SIZE,
                compression=None,
                **extra,
            )
            await self._ws.send(dump_signal(self.join))
        except (WebSocketException, OSError, TimeoutError) as exc:
            raise SignalClosed(f"cannot reach {self.url}: {exc}") from None
        self._reader = asyncio.create_task(self._read(), name="signal-read")

    async def close(self) -> None:
        """Send ``leave`` (if still open) and close."""
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(WebSocketException, OSError):
                await ws.send(dump_signal(SignalLeave()))
            with contextlib.suppress(WebSocketException, OSError):
                await ws.close()
        if self._reader is not None:
            await cancel_and_wait(self._reader)

    # ------------------------------------------------------------ conversation

    async def joined(self, within: float = 10.0) -> SignalJoined:
        """The hub's ``joined``; ``SignalRefused`` if it answered ``error`` instead."""
        assert self._joined is not None, "open() first"
        return await asyncio.wait_for(asyncio.shield(self._joined), within)

    async def offer(self, within: float = 10.0) -> SignalOffer:
        """The next offer from the hub."""
        return await asyncio.wait_for(self._offers.get(), within)

    async def answer(self, sdp: str) -> None:
        await self._send(SignalAnswer(sdp=sdp))

    async def interact(
        self, event: str, body: dict[str, Any] | None = None, *, within: float = 10.0
    ) -> SignalAck | SignalError:
        """Ask the hub to sequence ``event`` as us; its ``ack`` or ``error``."""
        ref = new_id()
        future: asyncio.Future[SignalAck | SignalError] = asyncio.get_running_loop().create_future()
        self._waiting[ref] = future
        try:
            await self._send(SignalInteract(event=event, body=body or {}, id=ref))
            return await asyncio.wait_for(future, within)
        finally:
            self._waiting.pop(ref, None)

    async def wait(self, predicate: Any, within: float = 10.0) -> None:
        """Wait until ``predicate(self)`` holds (re-checked on every frame received)."""

        async def until() -> None:
            while not predicate(self):
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(until(), within)

    async def _send(self, message: Any) -> None:
        if self._ws is None:
            raise SignalClosed("not open")
        try:
            await self._ws.send(dump_signal(message))
        except (WebSocketException, OSError) as exc:
            raise SignalClosed(str(exc)) from None

    # ------------------------------------------------------------------ reader

    async def _read(self) -> None:
        assert self._ws is not None
        reason = "closed by the hub"
        try:
            async for frame in self._ws:
                try:
                    message = parse_signal(frame)
                except DecodeError as exc:
                    log.warning("bad signalling frame: %s", exc)
                    continue
                self._dispatch(message)
                self._changed.set()
        except (WebSocketException, OSError) as exc:
            reason = str(exc)
        finally:
            self.close_code = self._ws.close_code
            self.closed.set()
            self._changed.set()
            if self._joined is not None and not self._joined.done():
                self._joined.set_exception(SignalClosed(reason))
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(SignalClosed(reason))

    def _dispatch(self, message: Any) -> None:
        match message:
            case SignalJoined():
                if self._joined is not None and not self._joined.done():
                    self._joined.set_result(message)
            case SignalOffer():
                self._offers.put_nowait(message)
            case SignalEvent(event=event):
                self.events.append(event)
            case SignalState(state=state):
                self.state = state
            case SignalLayer():
                self.layer = message
            case SignalAck(id=ref):
                future = self._waiting.get(ref)
                if future is not None and not future.done():
                    future.set_result(message)
            case SignalError(ref=ref):
                self.errors.append(message)
                if self._joined is not None and not self._joined.done():
                    self._joined.set_exception(
                        SignalRefused(message.code, message.detail, message.status)
                    )
                    return
                waiter = self._waiting.get(ref or "")
                if waiter is not None and not waiter.done():
                    waiter.set_result(message)
            case _:
                log.info("ignored signalling message %s", getattr(message, "type", "?"))
