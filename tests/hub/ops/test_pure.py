"""The dashboard's pure parts: alert rules, merge patches, hub figures, the cookie."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.ops.alerts import (
    AlertKind,
    AlertRules,
    AlertTracker,
    BacklogTrend,
    ClassroomFacts,
    conditions,
)
from hub.ops.hubstats import HubWindow, Sample, quantile
from hub.ops.overview import LessonFacts, NodeFacts, build, lesson_bucket
from hub.ops.patch import apply_patch, diff, strip_none
from hub.ops.signin import OpsSessions, derive_ops_key

RULES = AlertRules()


def room(**kw: Any) -> ClassroomFacts:
    values: dict[str, Any] = {
        "session": "S1",
        "node": "p1",
        "role": "partner",
        "in_lesson": True,
        "online": True,
        "has_media": True,
        "fps": 25.0,
        "loss": 0.0,
    }
    values.update(kw)
    return ClassroomFacts(**values)


def test_offline_during_lesson_alerts_at_once_with_since() -> None:
    tracker = AlertTracker(RULES)
    assert tracker.update(1_000, conditions([room()], None, RULES)) == []
    alerts = tracker.update(2_000, conditions([room(online=False)], None, RULES))
    assert [(a.kind, a.subject, a.since_ms) for a in alerts] == [
        (AlertKind.CLASSROOM_OFFLINE, "S1/p1", 2_000)
    ]
    # still offline later: same since; back online: cleared
    assert tracker.update(9_000, conditions([room(online=False)], None, RULES))[0].since_ms == 2_000
    assert tracker.update(10_000, conditions([room()], None, RULES)) == []


def test_offline_outside_a_lesson_is_no_alert() -> None:
    assert conditions([room(online=False, in_lesson=False)], None, RULES) == []


def test_low_fps_and_loss_need_30_seconds() -> None:
    tracker = AlertTracker(RULES)
    bad = [room(fps=10.0, loss=0.08)]
    assert tracker.update(0, conditions(bad, None, RULES)) == []
    assert tracker.update(29_999, conditions(bad, None, RULES)) == []
    kinds = {a.kind for a in tracker.update(30_000, conditions(bad, None, RULES))}
    assert kinds == {AlertKind.LOW_FPS, AlertKind.PACKET_LOSS}
    # one good sample restarts the clock
    tracker.update(31_000, conditions([room()], None, RULES))
    assert tracker.update(45_000, conditions(bad, None, RULES)) == []


def test_fps_rule_skips_leads_and_nodes_without_media() -> None:
    assert conditions([room(role="lead", fps=0.0)], None, RULES) == []
    assert conditions([room(has_media=False, fps=0.0)], None, RULES) == []
    assert [c.kind for c in conditions([room(fps=14.9)], None, RULES)] == [AlertKind.LOW_FPS]


def test_hub_p99() -> None:
    assert conditions([], 99.0, RULES) == []
    assert [c.subject for c in conditions([], 150.0, RULES)] == ["hub"]
    # a handful of slow events is no percentile
    assert conditions([], 150.0, RULES, p99_events=5) == []
    assert len(conditions([], 150.0, RULES, p99_events=20)) == 1


def test_backlog_trend() -> None:
    trend = BacklogTrend()
    trend.report("p1", 3, 0)
    assert not trend.growing("p1")
    trend.report("p1", 5, 5_000)
    assert trend.growing("p1")
    trend.report("p1", 2, 10_000)  # flushing: a new run
    assert not trend.growing("p1")
    trend.report("p1", 0, 15_000)
    assert not trend.growing("p1")


KEYS = st.text(alphabet="abc", max_size=2)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(alphabet="xy", max_size=2),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(KEYS, JSON, max_size=5),
    st.dictionaries(KEYS, JSON, max_size=5),
)
def test_merge_patch_round_trip(old: dict[str, Any], new: dict[str, Any]) -> None:
    a, b = strip_none(old), strip_none(new)
    patch = diff(a, b)
    assert apply_patch(a, patch) == b
    assert (patch == {}) == (a == b)


def test_quantile_like_prometheus() -> None:
    buckets = [(0.001, 0.0), (0.01, 50.0), (0.1, 100.0), (float("inf"), 100.0)]
    assert abs((quantile(0.5, buckets) or 0) - 0.01) < 1e-12
    assert abs((quantile(0.99, buckets) or 0) - 0.0982) < 1e-9
    assert quantile(0.99, [(1.0, 0.0), (float("inf"), 0.0)]) is None


def test_window_rate_and_p99() -> None:
    window = HubWindow(window_s=60)
    inf = float("inf")
    window.add(Sample(0, 0.0, ((0.05, 0.0), (0.25, 0.0), (inf, 0.0))))
    window.add(Sample(10_000, 100.0, ((0.05, 0.0), (0.25, 100.0), (inf, 100.0)), rejected={"x": 2}))
    assert window.events_per_s() == 10.0
    assert (window.p99_ms() or 0) > 100
    assert window.rejected() == {"x": 2}
    assert window.count() == 100


def test_cookie_signin() -> None:
    sessions = OpsSessions(derive_ops_key("k"), ttl_s=60)
    value, exp = sessions.issue(1_000_000)
    assert exp == 1_000 + 60
    assert sessions.valid(value, 1_000_000)
    assert not sessions.valid(value, 1_061_000)  # expired
    assert not sessions.valid(value[:-2] + "xx", 1_000_000)  # forged
    assert not OpsSessions(derive_ops_key("other"), 60).valid(value, 1_000_000)
    assert not sessions.valid("9" * 500, 1_000_000)
    sessions.revoke(value, 1_001_000)
    assert not sessions.valid(value, 1_002_000)


def test_overview_buckets_and_order() -> None:
    hour = 3_600_000
    now, day = 10 * hour, 0
    live = LessonFacts("L", "live", {"a": "lead", "b": "partner"})
    soon = LessonFacts("S", "scheduled", {"a": "lead"}, starts_at=now + hour // 2)
    later = LessonFacts("X", "scheduled", {"a": "lead"}, starts_at=now + 2 * hour)
    ended = LessonFacts("E", "ended", {"a": "lead"}, ended_at=now - hour)
    assert lesson_bucket(later, now, day) is None
    doc = build(
        now_ms=now,
        day_start_ms=day,
        lessons=[ended, later, soon, live],
        nodes={"a": NodeFacts("a", True), "b": NodeFacts("b", False), "c": NodeFacts("c", False)},
        hub={},
        coverage=None,
        alerts=[],
    )
    assert [x["session"] for x in doc["lessons"]] == ["L", "S", "E"]
    # the box missing from a live lesson comes first
    assert [n["node"] for n in doc["nodes"]] == ["b", "c", "a"]
    assert doc["nodes"][0]["missing_in_lesson"] is True


async def test_a_page_that_does_not_keep_up_is_dropped_not_buffered() -> None:
    from types import SimpleNamespace

    from hub.ops.feed import OpsFeed

    feed = OpsFeed(SimpleNamespace())  # type: ignore[arg-type]
    feed.document = {"lessons": []}  # as after a first tick
    async with feed.subscribe() as slow, feed.subscribe() as quick:
        for i in range(200):
            feed._fan_out({"now": i, "patch": {"n": i}})
            while not quick.empty():
                quick.get_nowait()
        drained = []
        while not slow.empty():
            drained.append(slow.get_nowait())
        assert drained == [None]  # told to start again, holding nothing else
        assert feed.dropped == 1 and feed.subscribers == {quick}


def test_feed_lessons_ended_before_it_started_keep_their_own_end() -> None:
    from types import SimpleNamespace

    from hub.ops.feed import OpsFeed
    from hub.sessions import SessionSpec
    from protocols.lesson import LessonStatus

    hour = 3_600_000
    now, day = 100 * hour, 90 * hour

    def runtime(session: str, status: LessonStatus, **times: int) -> SimpleNamespace:
        spec = SessionSpec(session=session, lead="a", partners=["b"], **times)
        machine = SimpleNamespace(status=status, title="", last_seq=0)
        return SimpleNamespace(spec=spec, machine=machine, accepted=0, rejected=0)

    runtimes = {
        "old": runtime(
            "old", LessonStatus.ENDED, starts_at=now - 48 * hour, ends_at=now - 47 * hour
        ),
        "live": runtime("live", LessonStatus.LIVE),
        "later": runtime("later", LessonStatus.SCHEDULED, starts_at=now + 5 * hour),
    }
    feed = OpsFeed(SimpleNamespace(runtimes=runtimes))  # type: ignore[arg-type]
    # a restarted hub sees "old" ended: it is not "ended today"; "later" is not shown
    assert [f.session for f in feed._lesson_facts(now, day)] == ["live"]
    runtimes["live"].machine.status = LessonStatus.ENDED
    facts = feed._lesson_facts(now + 1000, day)
    assert [(f.session, f.ended_at) for f in facts] == [("live", now + 1000)]
