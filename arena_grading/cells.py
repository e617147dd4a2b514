"""What a notebook's cells are to grading, and what a graded run executes.

A graded run is built from the instructor's source notebook, not from the student's: its
exercise cells (the student's code, found by grade id), its test cells' visible self-checks,
and then, after every self-check, its test cells' hidden tests. Nothing else of the student's
notebook runs: neither the course's demonstration cells nor cells a student added or edited.
"""

from __future__ import annotations

from dataclasses import dataclass

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
EXERCISE, SELF_CHECK, HIDDEN_TESTS = "exercise", "self-check", "hidden tests"


def nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def grade_id(cell) -> str | None:
    value = nbgrader_meta(cell).get("grade_id")
    return value if isinstance(value, str) else None


def is_test_cell(cell) -> bool:
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_exercise_cell(cell) -> bool:
    return cell.get("cell_type") == "code" and bool(nbgrader_meta(cell).get("solution"))


def split_test(source: str) -> tuple[str, str]:
    """(the visible self-check, the hidden tests) of a test cell's source."""
    visible, _, rest = source.partition(HIDDEN_BEGIN)
    hidden, _, after = rest.partition(HIDDEN_END)
    return visible + after.lstrip("\n"), hidden


@dataclass(frozen=True)
class Step:
    """One execution of a graded run: whose code (a cell's grade id), what kind, and what runs
    (None for an exercise step: the student's cell of that grade id)."""

    grade_id: str
    kind: str  # EXERCISE, SELF_CHECK or HIDDEN_TESTS
    code: str | None = None


def graded_run(source) -> list[Step]:
    """The steps of grading a submission of ``source`` (the instructor's notebook), in order."""
    steps, hidden = [], []
    for cell in source.cells:
        if is_exercise_cell(cell):
            steps.append(Step(grade_id(cell), EXERCISE))
        elif is_test_cell(cell):
            visible, tests = split_test(cell.source)
            steps.append(Step(grade_id(cell), SELF_CHECK, visible))
            hidden.append(Step(grade_id(cell), HIDDEN_TESTS, tests))
    return steps + hidden


def cells_by_grade_id(nb) -> dict:
    """grade id -> the first code cell of ``nb`` with it (nbgrader drops the others' ids)."""
    found = {}
    for cell in nb.cells:
        key = grade_id(cell)
        if key and cell.get("cell_type") == "code":
            found.setdefault(key, cell)
    return found


def hidden_blocks(source: str, placeholder: str) -> str:
    """``source`` with each hidden-tests block replaced by the line ``placeholder``."""
    kept, inside = [], False
    for line in source.splitlines():
        if line.strip() == HIDDEN_BEGIN:
            inside = True
            kept.append(placeholder)
        elif line.strip() == HIDDEN_END:
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept)
