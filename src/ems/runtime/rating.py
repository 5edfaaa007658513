"""The project health rating: findings weighted by severity per 1,000 lines, graded A–E.

Why here (a service the faces call, not analysis): a pure function of counts (no store,
no Streamlit), used by the dashboard's Overview and open to any other face; its formula
text is shown wherever the grade is, so a user can recompute it by hand.

Like SonarQube's maintainability grid, the grade bands grow geometrically: a project
twice as dense in findings drops about one grade, and an error weighs as much as ten
informational findings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

SEVERITY_WEIGHTS: Mapping[str, int] = {"error": 10, "warning": 3, "info": 1, "hint": 0}
# Upper bound (inclusive) of weighted points per 1,000 lines for each grade; above D's: E.
GRADE_BANDS: tuple[tuple[str, float], ...] = (("A", 5.0), ("B", 10.0), ("C", 20.0), ("D", 50.0))
WORST_GRADE = "E"
HEALTH_FORMULA = (
    "points = 10 × errors + 3 × warnings + 1 × infos (hints count 0); "
    "density = points per 1,000 lines of Python; "
    "A ≤ 5 < B ≤ 10 < C ≤ 20 < D ≤ 50 < E"
)


@dataclass(frozen=True)
class HealthRating:
    grade: str  # "A" (best) … "E"
    density: float  # weighted points per 1,000 lines
    points: int
    lines: int


def grade_for(density: float) -> str:
    for grade, limit in GRADE_BANDS:
        if density <= limit:
            return grade
    return WORST_GRADE


def health_rating(counts_by_severity: Mapping[str, int], lines: int) -> HealthRating:
    """The rating of a project with these finding counts over ``lines`` lines of code.

    A project with no lines counted (nothing scanned) is rated from its points alone as
    if it had 1,000 lines, so findings still lower the grade.
    """
    points = sum(SEVERITY_WEIGHTS.get(sev, 0) * n for sev, n in counts_by_severity.items())
    density = 1000.0 * points / max(lines, 1000 if lines <= 0 else 1)
    return HealthRating(grade_for(density), density, points, max(lines, 0))
