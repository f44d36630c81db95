"""The demo's small district: pure data an operator would register.

One strong school with the lead classroom and a lead teacher; one rural partner
school per partner classroom, spread over two regions, each with a tutor. The
classrooms name the node ids the demo starts, so reports and join tokens can map
a classroom box to its school.
"""

from __future__ import annotations

from typing import Any

__all__ = ["demo_district"]

REGIONS = ["north-county", "river-county"]


def demo_district(lead: str, partners: list[str]) -> dict[str, list[dict[str, Any]]]:
    """``{"schools": [...], "classrooms": [...], "teachers": [...]}`` for the registry API."""
    schools: list[dict[str, Any]] = [
        {"id": "sch-lead", "name": "No. 1 Middle School", "kind": "lead", "region": "city"}
    ]
    classrooms: list[dict[str, Any]] = [
        {"id": f"room-{lead}", "school": "sch-lead", "node": lead, "seats": 48, "grades": [5]}
    ]
    teachers: list[dict[str, Any]] = [
        {
            "id": "t-lead",
            "name": "Teacher Wang",
            "school": "sch-lead",
            "role": "lead",
            "subjects": ["math"],
        }
    ]
    for i, node in enumerate(partners):
        school = f"sch-{node}"
        schools.append(
            {
                "id": school,
                "name": f"Village School {i + 1}",
                "kind": "partner",
                "region": REGIONS[i % len(REGIONS)],
                "rural": True,
            }
        )
        classrooms.append(
            {
                "id": f"room-{node}",
                "school": school,
                "node": node,
                "seats": 30 + (i * 7) % 15,
                "grades": [5],
                "downlink_kbps": 4000,
            }
        )
        teachers.append(
            {
                "id": f"t-{node}",
                "name": f"Tutor {i + 1}",
                "school": school,
                "role": "tutor",
                "subjects": ["math"],
            }
        )
    return {"schools": schools, "classrooms": classrooms, "teachers": teachers}
