"""A seeded generator of realistic synthetic districts.

Why: tests need many varied instances and the benchmark needs one of district size
(500 offers, 5,000 requests) that is hard in the ways real ones are — otherwise greedy
is already optimal and the comparison says nothing. What makes it realistic and hard:

- Lead schools offer what they are strong in; rural requests concentrate where
  rural schools lack teachers (english, music, art, it), so those subjects are
  short of capacity while others have slack.
- A lead classroom is one class of one grade; its offers (several subjects) sit in
  distinct slots, as do each teacher's. Core morning periods are more popular.
- A partner classroom is one class of one grade with several requests (different
  subjects); each request lists 1..4 acceptable slots, mostly chosen among slots where
  its subject/grade is offered (schools see the timetable), so requests compete for
  the same offers and a classroom's requests compete for the same slots.
- Downlink is a property of a partner school's link (500..8000 kbps, on a log scale
  skewed upwards), so some schools cannot take high-bitrate streams. Priorities
  1..5, with urgent needs more frequent in the short subjects. About half the
  partner schools have an existing pair with a lead school.

Same seed, same district (``random.Random(seed)``, no global state).
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from typing import Final

from matching.models import Instance, Offer, Pair, Request

__all__ = ["DAYS", "PERIODS", "SUBJECTS", "district", "slot_labels"]

DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PERIODS: Final = ("08:00", "08:55", "09:50", "10:45", "14:00", "14:55", "15:50", "16:45")
PERIOD_WEIGHT: Final = (0.9, 1.3, 1.4, 1.1, 0.9, 1.0, 0.8, 0.6)

#: subject -> (grades it is taught in, weight among lead offers, weight among rural needs)
SUBJECTS: Final[dict[str, tuple[range, float, float]]] = {
    "math": (range(1, 13), 14, 10),
    "chinese": (range(1, 13), 12, 7),
    "english": (range(3, 13), 10, 20),
    "physics": (range(8, 13), 8, 6),
    "chemistry": (range(9, 13), 6, 4),
    "biology": (range(7, 13), 6, 4),
    "history": (range(7, 13), 4, 2),
    "geography": (range(7, 13), 4, 2),
    "music": (range(1, 10), 6, 14),
    "art": (range(1, 10), 6, 12),
    "pe": (range(1, 13), 3, 4),
    "it": (range(3, 13), 5, 9),
}
SHORT_SUBJECTS: Final = frozenset({"english", "music", "art", "it"})
GRADE_WEIGHT: Final = (6, 6, 7, 7, 8, 8, 10, 10, 11, 7, 6, 5)
CAPACITY_WEIGHT: Final = {2: 2, 3: 3, 4: 3, 5: 2, 6: 1}
BITRATES: Final = (800, 1000, 1200, 1500, 1800, 2000, 2500)
BITRATE_WEIGHT: Final = (2, 3, 4, 4, 3, 2, 1)


def slot_labels(n_slots: int) -> list[str]:
    """``n_slots`` weekly labels, mon-08:00 onwards, 8 periods a day (at most 56)."""
    if not 1 <= n_slots <= len(DAYS) * len(PERIODS):
        raise ValueError(f"n_slots must be in 1..{len(DAYS) * len(PERIODS)}")
    return [f"{day}-{period}" for day in DAYS for period in PERIODS][:n_slots]


def _pick_free(rng: random.Random, slots: list[str], weights: list[float], taken: set[str]) -> str:
    free = [(s, w) for s, w in zip(slots, weights, strict=True) if s not in taken]
    if not free:
        raise ValueError("no free slot left; raise n_slots or lower the offer count")
    return rng.choices([s for s, _ in free], [w for _, w in free])[0]


def district(
    n_offers: int = 500,
    n_requests: int = 5000,
    n_slots: int = 40,
    seed: int = 1,
    *,
    pair_share: float = 0.5,
) -> Instance:
    """A synthetic district; see the module docstring for what it models."""
    rng = random.Random(seed)
    slots = slot_labels(n_slots)
    slot_weight = [PERIOD_WEIGHT[i % len(PERIODS)] for i in range(n_slots)]
    subjects = list(SUBJECTS)
    lead_weight = [SUBJECTS[s][1] for s in subjects]
    need_weight = [SUBJECTS[s][2] for s in subjects]

    n_lead = max(2, math.ceil(n_offers / 25))
    lead_schools = [f"lead-{i:02d}" for i in range(1, n_lead + 1)]
    busy: dict[str, set[str]] = defaultdict(set)  # lead classroom or teacher -> slots
    offers: list[Offer] = []
    offered_at: dict[tuple[str, int], list[str]] = defaultdict(list)
    while len(offers) < n_offers:
        school = rng.choice(lead_schools)
        subject = rng.choices(subjects, lead_weight)[0]
        grades = SUBJECTS[subject][0]
        grade = rng.choices(list(grades), [GRADE_WEIGHT[g - 1] for g in grades])[0]
        classroom = f"g{grade}-{rng.randint(1, 3)}"
        teacher = f"{school}/{subject}-t{rng.randint(1, 3)}"
        taken = busy[f"{school}/{classroom}"] | busy[teacher]
        if len(taken) >= n_slots:
            continue
        slot = _pick_free(rng, slots, slot_weight, taken)
        busy[f"{school}/{classroom}"].add(slot)
        busy[teacher].add(slot)
        offers.append(
            Offer(
                offer_id=f"O{len(offers) + 1:04d}",
                lead_school=school,
                lead_classroom=classroom,
                teacher=teacher,
                subject=subject,
                grade=grade,
                slot=slot,
                capacity=rng.choices(list(CAPACITY_WEIGHT), list(CAPACITY_WEIGHT.values()))[0],
                bitrate_kbps=rng.choices(BITRATES, BITRATE_WEIGHT)[0],
            )
        )
        offered_at[(subject, grade)].append(slot)

    n_partner = max(2, math.ceil(n_requests / 15))
    partner_schools = [f"rural-{i:03d}" for i in range(1, n_partner + 1)]
    low, high = math.log(500), math.log(8000)
    downlink = {  # log scale, skewed towards the better links most schools now have
        s: int(round(math.exp(low + (high - low) * rng.random() ** 0.6), -1))
        for s in partner_schools
    }
    requests: list[Request] = []
    while len(requests) < n_requests:
        school = rng.choice(partner_schools)
        grade = rng.choices(range(1, 13), GRADE_WEIGHT)[0]
        classroom = f"g{grade}-{rng.randint(1, 2)}"
        possible = [s for s in subjects if grade in SUBJECTS[s][0]]
        wanted: list[str] = []
        for _ in range(rng.choices((1, 2, 3, 4, 5), (2, 3, 3, 2, 1))[0]):
            subject = rng.choices(possible, [need_weight[subjects.index(s)] for s in possible])[0]
            if subject not in wanted:
                wanted.append(subject)
        for subject in wanted:
            if len(requests) >= n_requests:
                break
            known = offered_at.get((subject, grade), [])
            chosen: list[str] = []
            for _ in range(rng.choices((1, 2, 3, 4), (3, 3, 2, 1))[0]):
                if known and rng.random() < 0.8:
                    chosen.append(rng.choice(known))
                else:
                    chosen.append(rng.choices(slots, slot_weight)[0])
            priority = rng.choices((1, 2, 3, 4, 5), (2, 3, 3, 2, 1))[0]
            if subject in SHORT_SUBJECTS and rng.random() < 0.3:
                priority = min(5, priority + 1)
            requests.append(
                Request(
                    request_id=f"R{len(requests) + 1:05d}",
                    partner_school=school,
                    partner_classroom=classroom,
                    subject=subject,
                    grade=grade,
                    slots=tuple(dict.fromkeys(chosen)),
                    downlink_kbps=downlink[school],
                    priority=priority,
                )
            )

    pairs: set[Pair] = set()
    for school in partner_schools:
        if rng.random() < pair_share:
            pairs.add(Pair(rng.choice(lead_schools), school))
            if rng.random() < 0.2:
                pairs.add(Pair(rng.choice(lead_schools), school))
    return Instance.build(offers, requests, pairs)
