"""The simulator's pure parts: plan, lesson mix, fault grammar, accounting, search."""

from __future__ import annotations

import random

import pytest

from protocols.lesson import LessonMachine, Role, RuleViolation
from protocols.messages import CLASS_BY_TYPE
from simulators.sim.accounting import merge_events, over_time
from simulators.sim.capacity import Targets, holds, next_size
from simulators.sim.faultplan import parse_duration, parse_fault, random_cuts, resolve_targets
from simulators.sim.plan import Mix, build_plan, parse_mix, session_timeline


def test_plan_deals_whole_sessions_to_workers_and_prefixes_every_id() -> None:
    plan = build_plan(prefix="simx", sessions=7, partners=3, workers=3, duration_s=60)
    assert len(plan.nodes) == 7 * 4 == len(set(plan.nodes))
    assert all(n.startswith("simx-") for n in plan.nodes)
    assert sorted(s.worker for s in plan.sessions) == [0, 0, 0, 1, 1, 2, 2]
    assert {s.session for s in plan.worker_sessions(1)} == {"simx-s1", "simx-s4"}
    assert build_plan(prefix="a", sessions=2, partners=1, workers=8, duration_s=5).workers == 2


@pytest.mark.parametrize(
    "kwargs",
    [
        {"prefix": "Bad_Prefix"},
        {"sessions": 0},
        {"sessions": 5000},
        {"partners": 0},
        {"duration_s": 0},
        {"ramp_s": 100},
        {"lead_rate": 0},
    ],
)
def test_plan_refuses_out_of_range_sizes(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {
        "prefix": "ok",
        "sessions": 2,
        "partners": 2,
        "workers": 2,
        "duration_s": 60,
    }
    with pytest.raises(ValueError):
        build_plan(**(base | kwargs))  # type: ignore[arg-type]


def test_ramp_spreads_session_starts() -> None:
    plan = build_plan(prefix="r", sessions=5, partners=1, workers=1, duration_s=60, ramp_s=20)
    assert [plan.start_offset(i) for i in range(5)] == [0, 5, 10, 15, 20]


def test_mix_parses_and_refuses_nonsense() -> None:
    assert parse_mix("hands=2, quiz=0") == Mix(hands=2, chat=0.2, quiz=0, attendance=0.1)
    for bad in ("hand=1", "hands", "hands=x", "hands=-1", "chat=1000"):
        with pytest.raises(ValueError):
            parse_mix(bad)


@pytest.mark.parametrize("seed", range(5))
def test_timeline_is_valid_under_the_role_rules_in_time_order(seed: int) -> None:
    partners = [f"p{i}" for i in range(1, 10)]
    steps = session_timeline(
        "lead",
        partners,
        120,
        lead_rate=1.0,
        mix=Mix(hands=3, chat=2, quiz=2, attendance=1),
        rng=random.Random(seed),
    )
    machine = LessonMachine("s", {"lead": Role.LEAD} | {p: Role.PARTNER for p in partners})
    for seq, step in enumerate(steps, 1):
        event = CLASS_BY_TYPE[step.type].model_validate(
            {"id": f"01J{seq:023d}", "type": step.type, "session": "s", "body": step.body}
        )
        try:
            machine.check(step.actor, event)
        except RuleViolation as exc:  # pragma: no cover - the assertion message
            pytest.fail(f"step {step} refused: {exc}")
        machine.apply(event.model_copy(update={"seq": seq, "src": step.actor}))
    types = [s.type for s in steps]
    assert types[0] == "lesson.start" and types[-1] == "lesson.end"
    answers = types.count("quiz.answer")
    assert answers == types.count("quiz.open") * len(partners) > 0
    assert types.count("hand.raise") == types.count("hand.lower") > 0


def test_same_seed_same_lesson() -> None:
    def make(seed: int) -> list[tuple[float, str, str]]:
        steps = session_timeline(
            "l", ["a", "b"], 60, lead_rate=0.5, mix=Mix(), rng=random.Random(seed)
        )
        return [(s.at_s, s.actor, s.type) for s in steps]

    assert make(1) == make(1) != make(2)


def test_fault_grammar() -> None:
    cut = parse_fault("60s:cut:p3:30s")
    assert (cut.at_s, cut.kind, cut.target, cut.hold_s) == (60, "cut", "p3", 30)
    kill = parse_fault("1m30s:kill:hub")
    assert (kill.at_s, kill.kind, kill.target, kill.hold_s) == (90, "kill", "hub", 1.0)
    assert parse_fault("120:kill:redis:5s").hold_s == 5
    assert parse_duration("500ms") == 0.5
    for bad in (
        "60s:cut:p3",
        "60s:cut:x9:10s",
        "60s:kill:nginx",
        "60s:explode:hub",
        "soon:kill:hub",
        "60s:cut:p3:0s",
        "99999999:kill:hub",
    ):
        with pytest.raises(ValueError):
            parse_fault(bad)


def test_cut_targets_resolve_to_classrooms() -> None:
    plan = build_plan(prefix="t", sessions=3, partners=4, workers=1, duration_s=60)
    assert resolve_targets("p3", plan) == ["t-s0-p3", "t-s1-p3", "t-s2-p3"]
    assert resolve_targets("s1.p2", plan) == ["t-s1-p2"]
    assert resolve_targets("s2.lead", plan) == ["t-s2-lead"]
    assert len(resolve_targets("s0", plan)) == 5
    assert len(resolve_targets("all", plan)) == 15
    with pytest.raises(ValueError):
        resolve_targets("p9", plan)
    with pytest.raises(ValueError):
        resolve_targets("s7", plan)


def test_random_cuts_follow_the_seed_and_stay_inside_the_run() -> None:
    plan = build_plan(prefix="t", sessions=10, partners=4, workers=1, duration_s=600)
    a = random_cuts(plan, 6, random.Random(3))
    assert a == random_cuts(plan, 6, random.Random(3))
    assert 30 <= len(a) <= 100
    assert all(f.at_s < 595 and 5 <= f.hold_s <= 20 for f in a)
    assert all(len(resolve_targets(f.target, plan)) == 1 for f in a)


def test_accounting_adds_up() -> None:
    sessions = [
        {
            "submitted": 10,
            "sequenced": 8,
            "rejected": {"quiz_not_open": 2},
            "unresolved": 0,
            "missing_at_some_classroom": 0,
            "duplicated": 0,
        },
        {
            "submitted": 5,
            "sequenced": 4,
            "rejected": {},
            "unresolved": 1,
            "missing_at_some_classroom": 2,
            "duplicated": 1,
        },
    ]
    ev = merge_events(sessions)
    assert ev["submitted"] == 15 and ev["sequenced"] == 12
    assert ev["rejected"] == {"quiz_not_open": 2}
    assert ev["lost"] == 3 and ev["duplicated"] == 1
    rows = over_time([(100.2, 5), (100.9, 7), (102.5, 50)], start=100.0)
    assert [(r["t_s"], r["max"], r["n"]) for r in rows] == [(0, 7, 2), (2, 50, 1)]


def test_capacity_steps_double_then_bisect() -> None:
    assert next_size(0, None, 1000) == 1
    assert next_size(8, None, 1000) == 16
    assert next_size(16, 32, 1000) == 24
    assert next_size(24, 25, 1000) is None
    assert next_size(1000, None, 1000) is None
    report = {
        "events": {"lost": 0},
        "latency_ms": {"p99": 80},
        "video": {"fps_min": 24.0},
    }
    assert holds(report, Targets(p99_ms=100))
    assert not holds(report, Targets(p99_ms=50))
    assert not holds(report, Targets(media=True, fps_min=25))
    assert not holds(report | {"events": {"lost": 1}}, Targets())


def test_cut_modes() -> None:
    assert parse_fault("10s:cut:p1:5s").mode == "reset"
    assert parse_fault("10s:cut:all:5s:blackhole").mode == "blackhole"
    with pytest.raises(ValueError):
        parse_fault("10s:cut:p1:5s:unplug")


@pytest.mark.parametrize(
    "argv",
    [
        ["--hub", "http://h", "--admin-key", "k"],  # no --mqtt
        ["--hub", "http://h", "--admin-key", "k", "--mqtt", "h"],  # no port
        ["--hub", "ftp://h", "--admin-key", "k", "--mqtt", "h:1"],
        ["--hub", "http://h", "--admin-key", "k", "--mqtt", "h:1", "--fault", "5s:kill:hub"],
        ["--mqtt", "h:1"],  # a broker without its hub
        ["--prefix", "Bad_Prefix"],
        ["--sessions", "0"],
        ["--fault", "5s:cut:p1"],
        ["--cleanup-only"],
    ],
)
def test_cli_refuses_bad_arguments_before_starting_anything(argv: list[str]) -> None:
    from dualclass.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["sim", *argv])
    assert exc.value.code == 2
