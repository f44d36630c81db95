"""The coverage report as pydantic models: the JSON format's schema.

Why a module of its own: the JSON document is a contract with district tools and
the API; ``CoverageReport.model_json_schema()`` is what docs/reports.md describes,
and the CSV, HTML and API outputs are views of the same model.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "SCHEMA_VERSION",
    "AttendanceBucket",
    "ClassroomRow",
    "Coverage",
    "CoverageMatrix",
    "CoverageReport",
    "LessonRow",
    "PairRow",
    "Params",
    "RegionCoverage",
    "SchoolCoverage",
    "SchoolRow",
    "Summary",
    "TeacherRow",
    "WeekRow",
    "Window",
]

#: Bumped when a field changes meaning or goes away (adding fields does not bump it).
SCHEMA_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Window(_Model):
    from_: date = Field(alias="from")
    to: date
    #: UTC offset the dates and ISO weeks are read in, e.g. "+08:00".
    tz: str
    region: str | None = None


class Params(_Model):
    #: A partner classroom "received" a lesson when connected at least this long.
    min_minutes: float
    #: A pair of schools active in at least this many distinct ISO weeks is long-term.
    long_term_weeks: int


class Summary(_Model):
    lessons: int = Field(description="sessions started in the window")
    partner_schools: int
    schools_reached: int
    weeks: list[str] = Field(description="ISO weeks overlapping the window, e.g. 2025-W09")
    every_week_share: float | None = Field(
        description="share of partner schools with >= 1 lesson in every week of the window"
    )
    weekly_reach_share: float | None = Field(
        description="mean over the weeks of the share of partner schools with >= 1 lesson"
    )
    requested_cells: int
    requested_cells_covered: int
    requested_cell_share: float | None
    region_cells: int
    region_cells_covered: int
    region_cell_share: float | None
    school_lessons: int = Field(description="(partner school, session) pairs received")
    minutes: float = Field(description="partner classroom minutes connected")
    student_lessons: int = Field(description="sum of present over received classroom lessons")
    attendance_rate: float | None
    long_term_pairs: int
    occasional_pairs: int
    one_off_pairs: int
    deck_lessons: int = Field(default=0, description="lessons that showed pages of a slide deck")
    deck_pages_shown: int = Field(default=0, description="distinct deck pages shown, summed")
    partner_decks: int = Field(
        default=0, description="(partner classroom, deck shown) pairs of those lessons"
    )
    partner_decks_ready_in_time: int = Field(
        default=0, description="of those, the deck was complete at the classroom at lesson start"
    )
    deck_ready_share: float | None = None
    replay_minutes: float = Field(
        default=0.0, description="minutes of recorded lessons watched (not live; every viewer)"
    )
    replay_views: int = Field(default=0, description="replay views of the window's lessons")
    lessons_replayed: int = Field(default=0, description="lessons whose recording was watched")
    high_minutes: float = Field(
        default=0.0, description="partner classroom minutes of video on the high layer"
    )
    low_minutes: float = Field(
        default=0.0, description="partner classroom minutes of video on the low layer (weak link)"
    )
    layer_switches: int = Field(
        default=0, description="switches between video layers, every partner classroom"
    )


class SchoolRow(_Model):
    school: str
    name: str
    region: str
    rural: bool
    lessons_scheduled: int
    lessons_received: int
    minutes: float
    subjects: list[str]
    grades: list[int]
    attendance_rate: float | None
    interactions_per_lesson: float | None
    hands: int
    answers: int
    correct: int
    floor_minutes: float
    weeks_with_lesson: int
    replay_minutes: float = Field(
        default=0.0, description="minutes its classrooms watched recordings (not live)"
    )
    lessons_replayed: int = 0


class LessonRow(_Model):
    """One started lesson of the window, with its replay link when it was recorded."""

    session: str
    day: date
    title: str
    subject: str
    grade: int
    lead_school: str
    partner_schools_received: int
    minutes: float = Field(description="length of the live lesson")
    replay_minutes: float = Field(description="minutes its recording was watched, every viewer")
    replay_views: int
    replay: str | None = Field(description="address of the replay page, if it was recorded")


class ClassroomRow(_Model):
    """One partner classroom over the window: how its link carried the lessons' video."""

    classroom: str
    school: str
    lessons_received: int
    minutes: float = Field(description="minutes connected to the window's lessons")
    high_minutes: float = Field(description="minutes of video on the high layer")
    low_minutes: float = Field(description="minutes of video on the low layer (weak link)")
    low_share: float | None = Field(description="low / (high + low); null without video")
    layer_switches: int = Field(description="switches between the two layers")


class CoverageMatrix(_Model):
    """Rows are ``grades``, columns ``subjects``; a cell with 0 lessons is a gap."""

    grades: list[int]
    subjects: list[str]
    lessons: list[list[int]]
    scheduled: list[list[int]]


class SchoolCoverage(_Model):
    school: str
    region: str
    matrix: CoverageMatrix


class RegionCoverage(_Model):
    region: str
    schools: int
    matrix: CoverageMatrix


class Coverage(_Model):
    regions: list[RegionCoverage]
    schools: list[SchoolCoverage]


class TeacherRow(_Model):
    teacher: str
    school: str
    lessons_delivered: int
    minutes_taught: float
    partner_classrooms_reached: int
    partner_schools_reached: int
    students_reached: int
    student_lessons: int


class PairRow(_Model):
    lead_school: str
    partner_school: str
    lessons: int
    weeks_active: int
    first_lesson: date
    last_lesson: date
    kind: str = Field(description="long_term, occasional or one_off")


class WeekRow(_Model):
    week: str
    monday: date
    lessons: int
    school_lessons: int
    schools_reached: int


class AttendanceBucket(_Model):
    lo: float
    hi: float
    classroom_lessons: int


class CoverageReport(_Model):
    schema_version: int = SCHEMA_VERSION
    window: Window
    params: Params
    summary: Summary
    schools: list[SchoolRow]
    coverage: Coverage
    teachers: list[TeacherRow]
    pairs: list[PairRow]
    weeks: list[WeekRow]
    attendance_histogram: list[AttendanceBucket]
    lessons: list[LessonRow] = []
    classrooms: list[ClassroomRow] = []
