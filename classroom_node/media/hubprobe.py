"""``HubProbe``: learn the moment the hub answers again, instead of waiting out a backoff.

The node's media reconnects with a doubling delay (0.5 s up to
``reconnect_max_s``), which is right for a hub that answers and refuses, and
wrong for a hub that was away: after a hub restart the node would sit out up to
10 s of backoff while the hub is ready. So between attempts the node asks the
hub's ``GET /healthz`` (open, tiny; the hub answers it only once its sessions
are loaded and signalling is up) every ``interval_s``:

- if the hub answers at the start of the pause, it is up and refused or failed
  us: plain backoff (a probe success must not turn a refusal into a tight loop);
- otherwise the pause ends as soon as a probe succeeds: the hub is back, try now.

A probe that gets no answer within ``timeout_s`` (a frozen hub accepts TCP but
says nothing) counts as "not answering". Intervals carry +-20 % jitter so a
district's nodes do not probe a restarting hub in lockstep.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time

import httpx

__all__ = ["HubProbe"]


class HubProbe:
    """See the module docstring; ``pause(delay)`` between reconnection attempts."""

    def __init__(
        self,
        hub_url: str,
        *,
        interval_s: float = 0.25,
        timeout_s: float = 1.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.url = hub_url.rstrip("/") + "/healthz"
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self._client = httpx.AsyncClient(
            verify=ssl_context if ssl_context is not None else True,
            timeout=timeout_s,
            trust_env=False,
        )
        #: Pauses cut short because the hub came back (tests, logs).
        self.woken = 0

    async def answers(self) -> bool:
        """Whether ``/healthz`` answers 2xx now (within ``timeout_s``)."""
        try:
            response = await self._client.get(self.url)
        except (httpx.HTTPError, OSError):
            return False
        return response.is_success

    async def pause(self, delay: float) -> bool:
        """Wait ``delay`` s, or less if the hub comes back meanwhile; True if it did."""
        deadline = time.monotonic() + delay
        if await self.answers():
            await asyncio.sleep(max(0.0, deadline - time.monotonic()))
            return False
        while (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(left, self.interval_s * random.uniform(0.8, 1.2)))
            if time.monotonic() < deadline and await self.answers():
                self.woken += 1
                return True
        return False

    async def close(self) -> None:
        await self._client.aclose()
