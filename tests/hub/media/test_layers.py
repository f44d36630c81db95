"""The layer policy, driven with made-up clocks and feedback (hypothesis for no-oscillation)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.media.layers import LayerChooser, LayerPolicy, effective_layer, start_layer
from protocols.media import Layer

POLICY = LayerPolicy()


def test_start_follows_the_registered_downlink() -> None:
    assert start_layer(None, POLICY) == "high"
    assert start_layer(400, POLICY) == "low"
    assert start_layer(5000, POLICY) == "high"


def test_effective_layer_is_low_if_either_side_is() -> None:
    assert effective_layer("high", "high") == "high"
    assert effective_layer("high", "low") == "low"
    assert effective_layer("low", "high") == "low"


def test_down_at_once_on_heavy_loss_and_after_two_lossy_reports() -> None:
    c = LayerChooser(POLICY, "high", 0.0)
    s = c.report(1.0, loss=0.5)
    assert s is not None and (s.layer, s.reason) == ("low", "loss")
    c = LayerChooser(POLICY, "high", 0.0)
    assert c.report(1.0, loss=0.08) is None
    s = c.report(2.0, loss=0.08)
    assert s is not None and s.layer == "low"


def test_one_lossy_report_between_clean_ones_does_not_switch() -> None:
    c = LayerChooser(POLICY, "high", 0.0)
    for t in range(1, 30):
        assert c.report(float(t), loss=0.08 if t % 2 else 0.0) is None
    assert c.switches == 0


def test_falling_estimate_goes_down_but_a_low_start_estimate_does_not() -> None:
    c = LayerChooser(POLICY, "high", 0.0)
    # estimators start low and ramp up: never a reason on its own
    for t in range(1, 10):
        assert c.report(float(t), estimate_kbps=100.0 * t) is None
    assert c.report(10.0, estimate_kbps=1500.0) is None
    # a short dip (a busy CPU delays packets) is not enough
    assert c.report(11.0, estimate_kbps=500.0) is None
    assert c.report(12.0, estimate_kbps=1200.0) is None
    assert c.report(13.0, estimate_kbps=500.0) is None
    assert c.report(15.0, estimate_kbps=400.0) is None
    # low for long, but no loss at all: a busy CPU, not the link
    assert c.report(17.0, estimate_kbps=400.0) is None
    assert c.report(17.5, loss=0.03) is None  # some loss, under the loss rule's threshold
    s = c.report(18.0, estimate_kbps=400.0)
    assert s is not None and (s.layer, s.reason) == ("low", "estimate")


def test_up_after_a_clean_period_and_failed_tries_wait_longer() -> None:
    c = LayerChooser(POLICY, "high", 0.0)
    assert c.report(1.0, loss=0.5) is not None
    t = 1.0
    ups: list[float] = []
    while t < 200:
        t += 0.5
        if c.layer == "high":
            s = c.report(t, loss=0.3)  # the link still cannot carry high
        else:
            s = c.report(t, loss=0.0)
        if s is not None and s.layer == "high":
            assert s.reason == "stable"
            ups.append(t)
    gaps = [b - a for a, b in itertools.pairwise(ups)]
    assert ups[0] == pytest.approx(1.0 + 0.5 + POLICY.up_after_s, abs=0.6)
    assert all(later >= earlier for earlier, later in itertools.pairwise(gaps))


def test_a_link_that_recovers_goes_up_and_stays() -> None:
    c = LayerChooser(POLICY, "low", 0.0)
    for t in range(1, 300):
        c.report(float(t), loss=0.0, estimate_kbps=2000.0)
    assert c.layer == "high" and c.switches == 1


def test_a_try_up_that_loses_goes_back_at_the_first_lossy_report() -> None:
    c = LayerChooser(POLICY, "low", 0.0)
    up = c.tick(POLICY.up_after_s + 0.1)
    assert up is not None and up.layer == "high"
    s = c.report(POLICY.up_after_s + 1.0, loss=0.06)
    assert s is not None and (s.layer, s.reason) == ("low", "loss")
    assert c.up_wait_s == 2 * POLICY.up_after_s


def test_a_try_up_ends_at_once_when_many_packets_are_nacked() -> None:
    c = LayerChooser(POLICY, "low", 0.0)
    assert c.tick(POLICY.up_after_s + 0.1) is not None
    t = POLICY.up_after_s + 0.2
    # aiortc re-lists every missing packet in each NACK: distinct ones count
    assert c.report(t, nacked=tuple(range(10))) is None
    assert c.report(t + 0.05, nacked=tuple(range(25))) is None
    s = c.report(t + 0.1, nacked=tuple(range(20, 34)))
    assert s is not None and (s.layer, s.reason) == ("low", "loss")
    # NACKs outside a try are left to the receiver reports
    c = LayerChooser(POLICY, "high", 0.0)
    assert c.report(1.0, nacked=tuple(range(100))) is None


def test_force() -> None:
    c = LayerChooser(POLICY, "high", 0.0)
    s = c.force("low", 1.0)
    assert s is not None and s.reason == "forced"
    assert c.force("low", 2.0) is None


def test_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        LayerPolicy(loss=0.5, hard_loss=0.1)
    with pytest.raises(ValueError):
        LayerPolicy(up_after_s=10, up_max_s=5)


# -- no oscillation --------------------------------------------------------------


def _run(
    capacity_ok: dict[Layer, bool], intervals: list[float], losses: list[float], start: Layer
) -> list[float]:
    """Steady conditions: ``capacity_ok[layer]``: that layer fits the link. Returns switch times."""
    c = LayerChooser(POLICY, start, 0.0)
    times: list[float] = []
    t = 0.0
    for step, noise in zip(intervals, losses, strict=True):
        t += step
        loss = noise * POLICY.clean_loss if capacity_ok[c.layer] else 0.05 + noise * 0.6
        if c.report(t, loss=loss) is not None:
            times.append(t)
    return times


reports = st.integers(min_value=400, max_value=1200)


@settings(max_examples=60, deadline=None)
@given(
    st.data(),
    st.sampled_from(["high", "low"]),
    st.booleans(),
)
def test_no_more_than_two_switches_a_minute_in_steady_conditions(
    data: st.DataObject, start: Layer, high_fits: bool
) -> None:
    n = data.draw(reports)
    intervals = data.draw(st.lists(st.floats(0.4, 1.5), min_size=n, max_size=n))
    losses = data.draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n))
    times = _run({"high": high_fits, "low": True}, intervals, losses, start)
    if high_fits:
        assert len(times) <= 1  # at most one move up, then never again
        return
    # a link that cannot carry high: a few tries early on, then at most one try
    # (up + down) in any minute once the waits have grown
    settled = [t for t in times if t >= 240.0]
    for t0 in settled:
        assert len([t for t in settled if t0 <= t < t0 + 60.0]) <= 2
    assert len([t for t in times if t < 60.0]) <= 7


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0.05, 3.0),
            st.one_of(st.none(), st.floats(0.0, 1.0)),
            st.one_of(st.none(), st.floats(0.0, 5000.0)),
        ),
        max_size=300,
    )
)
def test_every_move_up_follows_a_clean_wait_on_low(
    feedback: list[tuple[float, float | None, float | None]],
) -> None:
    """Whatever the feedback, up never comes sooner than ``up_after_s`` after a switch."""
    c = LayerChooser(POLICY, "high", 0.0)
    t, last_switch = 0.0, 0.0
    for step, loss, estimate in feedback:
        t += step
        s = c.report(t, loss=loss, estimate_kbps=estimate)
        if s is None:
            continue
        if s.layer == "high":
            assert t - last_switch >= POLICY.up_after_s
        last_switch = t
