"""RelayTally / RelayCollector: relay snapshots become hub-wide counters that only grow,
with labels from small fixed sets however many sessions and participants there are."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

from hub.relaystats import RelayCollector, RelayTally, reason_label


def _snapshot(session: str, frames: int, out: int, *, layer: str | None = "high") -> dict[str, Any]:
    """The shape of ``SessionRelay.stats()`` (with the layer and upstream counters of
    issue 15's contract)."""
    participants: dict[str, Any] = {
        "lead": {
            "role": "lead",
            "slots": {},
            "upstream": {
                "video": frames,
                "audio": 2 * frames,
                "screen": 0,
                "keyframes": 1,
                "keyframe_requests": 3,
                "stalls": 1,
            },
        },
        "p1": {
            "role": "partner",
            "slots": {
                "main/video": {"in": out, "out": out, "dropped": 1},
                "main/audio": {"in": out, "out": 2 * out, "dropped": 0},
            },
            "upstream": {"video": 0, "audio": 0, "screen": 0, "keyframes": 0},
        },
    }
    if layer is not None:
        participants["p1"]["layer"] = {
            "current": layer,
            "switches": 0,
            "reason": "start",
            "seconds": {"high": float(out) / 30, "low": 0.0},
        }
    return {"session": session, "floor": None, "participants": participants}


def test_counts_only_increases_and_survives_restarted_counters() -> None:
    tally = RelayTally()
    tally.fold(_snapshot("S1", 100, 90))
    tally.fold(_snapshot("S1", 150, 140))  # +50 / +50
    assert tally.frames_in["video"] == 150 and tally.frames_in["audio"] == 300
    assert tally.frames_out == {"video": 140, "audio": 280}
    assert tally.dropped["video"] == 1  # unchanged counter counted once
    assert tally.keyframe_requests == 3 and tally.stalls == 1
    # p1 reconnected: its slot counters start again at 0 -> all of the new value is new
    tally.fold(_snapshot("S1", 160, 5))
    assert tally.frames_out["video"] == 145
    # a participant that left is forgotten: coming back, everything it shows is new
    tally.forget("S1", "lead")
    tally.fold(_snapshot("S1", 20, 10))
    assert tally.frames_in["video"] == 180
    # garbage from outside never makes a counter go down
    tally.fold({"session": "S1", "participants": {"p1": {"slots": {"main/video": {"out": -5}}}}})
    tally.fold({"session": "S1", "participants": {"p1": {"upstream": {"video": "many"}}}})
    assert tally.frames_out["video"] == 150 and tally.frames_in["video"] == 180


def test_switches_and_layers_have_bounded_labels() -> None:
    tally = RelayTally()
    tally.switched("S1", "p1", "low", "loss")
    tally.switched("S2", "p1", "low", "loss")
    tally.switched("S1", "p2", "high", "a reason nobody planned " * 10)
    tally.switched("S1", "p3", "ultra", "start")  # not a layer: ignored
    assert tally.switches == {("low", "loss"): 2, ("high", "other"): 1}
    assert tally.on_layer == {"high": 1, "low": 2}
    tally.forget("S1", "p1")
    assert tally.on_layer == {"high": 1, "low": 1}
    tally.forget("S1")
    assert tally.layers == {("S2", "p1"): "low"}
    assert reason_label(None) == "other" and reason_label("stable") == "stable"


def test_series_do_not_grow_with_sessions_and_participants() -> None:
    def series(sessions: int) -> tuple[int, dict[str, float]]:
        registry = CollectorRegistry()
        collector = RelayCollector()
        snapshots = [_snapshot(f"S{i}", 100, 50) for i in range(sessions)]
        for i in range(sessions):
            collector.tally.switched(f"S{i}", "p1", "low" if i % 3 else "high", "start")
        collector.source = lambda: snapshots
        registry.register(collector)
        text = generate_latest(registry).decode()
        lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
        values = {
            f"{name}/{label}": registry.get_sample_value(name, {key: label}) or 0.0
            for name, key, label in (
                ("dualclass_hub_relay_subscribers", "layer", "low"),
                ("dualclass_hub_relay_subscribers", "layer", "high"),
                ("dualclass_hub_relay_frames_in_total", "feed", "video"),
            )
        }
        return len(lines), values

    few, small = series(3)
    many, large = series(600)
    assert few == many  # 600 sessions: not one series more than 3
    subscribers = "dualclass_hub_relay_subscribers"
    assert (small[f"{subscribers}/high"], small[f"{subscribers}/low"]) == (1, 2)  # S0 | S1, S2
    assert large[f"{subscribers}/low"] == 400
    assert large["dualclass_hub_relay_frames_in_total/video"] >= 600 * 100
    assert many < 40
