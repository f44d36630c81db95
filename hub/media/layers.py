"""Which camera layer each subscriber gets: a pure policy, no aiortc, no clock.

A two-layer publisher sends its camera twice (``protocols.media``): ``high``
(e.g. 640x480 at 30 fps, ~1 Mbps) and ``low`` (e.g. 320x240 at 15 fps,
~250 kbps). The relay forwards one of the two to each subscriber, and this
module decides which, from what the subscriber's receiver tells the hub's
sender (RTCP receiver reports: the fraction of packets lost; REMB: the
receiver's bandwidth estimate).

The rules, chosen so that a rural link never flaps between the two:

- **start** on what the registered downlink allows (unknown: ``high``);
- **down quickly**: one report losing ``hard_loss`` or more, ``try_nacks``
  packets NACKed in the ``try_nack_s`` after a move up, or
  ``lossy_reports`` reports in a row losing ``loss`` or more (one is enough in
  the ``probation_s`` after a move up: that try failed), or an estimate that
  fell below what the high layer needs after having been above it, stayed there
  for ``estimate_s`` and came with some loss (delay-based estimators dip when a
  busy CPU delays packets, and that is not the link);
- **up slowly**: only after ``up_after_s`` of clean reports on ``low``; each
  try that fails (a drop within ``probation_s`` of going up) doubles that
  wait, up to ``up_max_s``; staying up for ``forget_s`` forgets the failures.

Time is an argument (seconds, any monotonic origin), so tests drive it with
made-up clocks. The same chooser judges a publisher's *uplink* (loss on its
high upstream as the hub receives it): a weak uplink sends every subscriber
of that publisher the low layer (reason ``uplink``).
"""

from __future__ import annotations

from dataclasses import dataclass

from protocols.media import Layer

__all__ = ["LayerChooser", "LayerPolicy", "Switch", "effective_layer", "start_layer"]


@dataclass(frozen=True, kw_only=True)
class LayerPolicy:
    """Thresholds of the layer choice (see the module docstring)."""

    #: What the high layer needs (video + audio + overhead), kbit/s.
    high_kbps: float = 1100.0
    #: A report losing at least this fraction is lossy.
    loss: float = 0.05
    #: A report losing at least this fraction goes down at once.
    hard_loss: float = 0.20
    #: Lossy reports in a row that go down.
    lossy_reports: int = 2
    #: A report losing at most this fraction is clean.
    clean_loss: float = 0.02
    #: Estimate below ``estimate_ratio * high_kbps`` (after being above) for
    #: ``estimate_s`` goes down (delay-based estimators dip on a busy CPU alone).
    estimate_ratio: float = 0.8
    estimate_s: float = 4.0
    #: Seconds of clean reports on low before the first try up.
    up_after_s: float = 6.0
    #: Longest wait between tries up (the doubling stops here).
    up_max_s: float = 120.0
    #: A drop within this many seconds of going up is a failed try.
    probation_s: float = 20.0
    #: Seconds on high after which failed tries are forgotten.
    forget_s: float = 60.0
    #: Packets NACKed in the first ``try_nack_s`` of a try up that end it at once
    #: (NACKs come on each new gap, long before the next receiver report: a failed
    #: try freezes less).
    try_nacks: int = 30
    try_nack_s: float = 5.0

    def __post_init__(self) -> None:
        if not 0 < self.clean_loss <= self.loss <= self.hard_loss <= 1:
            raise ValueError("need 0 < clean_loss <= loss <= hard_loss <= 1")
        if self.lossy_reports < 1 or self.up_after_s <= 0 or self.up_max_s < self.up_after_s:
            raise ValueError("need lossy_reports >= 1 and 0 < up_after_s <= up_max_s")
        if self.high_kbps <= 0 or not 0 < self.estimate_ratio <= 1:
            raise ValueError("need high_kbps > 0 and 0 < estimate_ratio <= 1")


@dataclass(frozen=True, slots=True)
class Switch:
    """A decision: go to ``layer`` because of ``reason`` (a short word)."""

    layer: Layer
    reason: str


def start_layer(downlink_kbps: float | None, policy: LayerPolicy) -> Layer:
    """The layer a subscriber starts on, from its registered downlink (None: unknown)."""
    if downlink_kbps is not None and downlink_kbps < policy.high_kbps:
        return "low"
    return "high"


def effective_layer(subscriber: Layer, uplink: Layer) -> Layer:
    """What a subscriber gets from a publisher: low if either side can only carry low."""
    return "low" if "low" in (subscriber, uplink) else "high"


class LayerChooser:
    """The layer of one subscriber (or one publisher's uplink), fed report by report."""

    def __init__(self, policy: LayerPolicy, start: Layer, now: float) -> None:
        self.policy = policy
        self.layer: Layer = start
        self.switches = 0
        self._since = now  # last switch (or start)
        self._clean_since: float | None = now if start == "low" else None
        self._lossy = 0
        self._failures = 0
        self._estimate_ok = False  # the estimate was above the need since the last switch
        self._low_since: float | None = None  # the estimate has been below the need since
        self._some_loss_at: float | None = None  # the last report that lost a little
        self._try_nacked: set[int] = set()  # packets NACKed since the last move up

    @property
    def up_wait_s(self) -> float:
        """Clean seconds on low needed before the next try up."""
        p = self.policy
        return float(min(p.up_after_s * 2**self._failures, p.up_max_s))

    def force(self, layer: Layer, now: float) -> Switch | None:
        """Put the subscriber on ``layer`` (an operator's choice); None if already there."""
        return self._switch(layer, "forced", now) if layer != self.layer else None

    def report(
        self,
        now: float,
        *,
        loss: float | None = None,
        estimate_kbps: float | None = None,
        nacked: tuple[int, ...] = (),
    ) -> Switch | None:
        """One piece of feedback: a receiver report's fraction lost, a REMB estimate,
        or the sequence numbers of a NACK.

        Returns the switch to make now, if any.
        """
        p = self.policy
        if nacked and self.layer == "high" and self.switches > 0:
            if now - self._since < p.try_nack_s and len(self._try_nacked) < 4 * p.try_nacks:
                self._try_nacked.update(nacked)
                if len(self._try_nacked) >= p.try_nacks:
                    return self._switch("low", "loss", now)
        if loss is not None:
            loss = min(max(loss, 0.0), 1.0)
            if loss >= p.loss:
                self._lossy += 1
                self._clean_since = None
            else:
                self._lossy = 0
                if loss > p.clean_loss:
                    self._clean_since = None
                elif self._clean_since is None:
                    self._clean_since = now
            if loss > p.clean_loss:
                self._some_loss_at = now
            trying = self.switches > 0 and now - self._since < p.probation_s
            needed = 1 if trying else p.lossy_reports
            if self.layer == "high" and (loss >= p.hard_loss or self._lossy >= needed):
                return self._switch("low", "loss", now)
        if estimate_kbps is not None and self.layer == "high":
            need = p.high_kbps
            if estimate_kbps >= p.estimate_ratio * need:
                self._estimate_ok = self._estimate_ok or estimate_kbps >= need
                self._low_since = None
            elif self._estimate_ok:
                if self._low_since is None:
                    self._low_since = now
                elif (
                    now - self._low_since >= p.estimate_s
                    and self._some_loss_at is not None
                    and self._some_loss_at >= self._low_since
                ):
                    return self._switch("low", "estimate", now)
        return self.tick(now)

    def tick(self, now: float) -> Switch | None:
        """Time passed without feedback: maybe the stable period on low is over."""
        if self.layer == "high":
            if now - self._since >= self.policy.forget_s:
                self._failures = 0
            return None
        clean = self._clean_since
        if clean is not None and now - max(clean, self._since) >= self.up_wait_s:
            return self._switch("high", "stable", now)
        return None

    def _switch(self, layer: Layer, reason: str, now: float) -> Switch:
        if layer == "low" and self.layer == "high" and reason != "forced":
            if now - self._since < self.policy.probation_s and self.switches > 0:
                self._failures += 1
            elif now - self._since >= self.policy.forget_s:
                self._failures = 0
        self.layer = layer
        self.switches += 1
        self._since = now
        self._lossy = 0
        self._try_nacked = set()
        self._low_since = None
        self._estimate_ok = False
        self._clean_since = None
        return Switch(layer, reason)
