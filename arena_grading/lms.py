"""Grades an LMS takes: ``python -m arena_grading export --lms canvas|moodle``.

nbgrader's ``grades.csv`` has a row per student and assignment, in nbgrader's own columns. An
LMS imports a table with a row per student, the LMS's own id column(s) and one column per
assignment:

- **Canvas** (Grades ▸ Import): ``Student, ID, SIS User ID, SIS Login ID, Section``, then one
  column per assignment, and a second row ``Points Possible``. Canvas matches a row by ``ID``,
  ``SIS User ID`` or ``SIS Login ID``; a column whose name is not one of the course's assignments
  becomes a new assignment. With ``--roster``, the Canvas gradebook's own export, each of its
  rows takes its student's scores, matched by a column of it (``--match``; ``Student`` matches
  the name part of Canvas's download file names, which nbgrader's ids come from).
- **Moodle** (Grades ▸ Import ▸ CSV file): an id column and one column per grade item; on
  import, map the id column to the user's field ("Username", or "Email address" with
  ``--match email``) and each assignment column to a grade item (or "new grade item").

The scores are the gradebook's (a student not graded counts 0, as in grades.csv). Every cell
goes through ``arena_grading.spreadsheet`` (never a formula).
"""

from __future__ import annotations

import csv
import re
import sys
from dataclasses import dataclass
from pathlib import Path

CANVAS_IDS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
LMS = ("canvas", "moodle")


@dataclass
class Grades:
    assignments: list  # in order
    points: dict  # assignment -> points possible
    scores: dict  # student -> assignment -> score
    names: dict  # student -> (first name, last name, email)


def read_grades(course: Path, assignments: list[str] | None = None) -> Grades:
    """Every student's score in every (or the given) assignment of the gradebook."""
    from nbgrader.api import Gradebook

    from arena_grading.outcomes import course_id

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id(course)) as gb:
        known = [assignment.name for assignment in gb.assignments]
        unknown = sorted(set(assignments or ()) - set(known))
        if unknown:
            raise ValueError(f"not in gradebook.db: {', '.join(unknown)}; graded assignments: {', '.join(known)}")
        chosen = [name for name in known if not assignments or name in assignments]
        points = {name: gb.find_assignment(name).max_score for name in chosen}
        scores, names = {}, {}
        for student in gb.students:
            names[student.id] = (student.first_name or "", student.last_name or "", student.email or "")
            scores[student.id] = {}
            for name in chosen:
                try:
                    scores[student.id][name] = gb.find_submission(name, student.id).score
                except Exception:  # noqa: BLE001 - nbgrader's MissingEntry: no submission, 0 as in grades.csv
                    scores[student.id][name] = 0.0
    return Grades(chosen, points, scores, names)


def read_roster(path: Path) -> list[dict]:
    """The LMS gradebook's own export (Canvas: its first columns are CANVAS_IDS; a "Points
    Possible" row is skipped)."""
    with open(path, newline="", encoding="utf-8-sig") as roster:
        rows = [row for row in csv.DictReader(roster)]
    return [row for row in rows if "Points Possible" not in (row.get("Student") or "")]


def canvas_rows(grades: Grades, roster: list[dict] | None, match: str) -> tuple[list[list], list[str]]:
    """(the table, students in the gradebook whom the roster lacks)."""
    header = [*CANVAS_IDS, *grades.assignments]
    rows = [header, ["Points Possible", "", "", "", "", *[f"{grades.points[a]:g}" for a in grades.assignments]]]
    missing = []
    if roster is None:
        for student in sorted(grades.scores):
            first, last, _ = grades.names[student]
            name = f"{last}, {first}" if first or last else student
            rows.append([name, "", student, student, "", *[_score(grades.scores[student][a]) for a in grades.assignments]])
        return rows, missing
    if roster and match not in roster[0]:
        raise ValueError(f"the roster has no column {match!r}; its columns: {', '.join(roster[0])}")
    matched = set()
    for entry in roster:
        student = (entry.get(match) or "").strip()
        if match == "Student":  # "Liddell, Alice": Canvas names its download files "liddellalice_..."
            student = re.sub(r"[^a-z0-9]", "", student.lower())
        scores = grades.scores.get(student)
        matched.add(student)
        rows.append([entry.get(column, "") for column in CANVAS_IDS] + [
            _score(scores[a]) if scores is not None else "" for a in grades.assignments])
    missing = sorted(set(grades.scores) - matched)
    return rows, missing


def moodle_rows(grades: Grades, match: str) -> list[list]:
    column = {"username": "Username", "email": "Email address"}[match]
    rows = [[column, *grades.assignments]]
    for student in sorted(grades.scores):
        key = student if match == "username" else grades.names[student][2]
        rows.append([key, *[_score(grades.scores[student][a]) for a in grades.assignments]])
    return rows


def _score(value) -> str:
    return f"{float(value):g}"


def export(course: Path, lms: str, output: Path | None = None, assignments: list[str] | None = None,
           roster: Path | None = None, match: str | None = None) -> int:
    """Write the LMS's import file; 0 when written, 2 when it cannot be (the reason on stderr)."""
    from arena_grading.spreadsheet import write_csv

    if not (course / "gradebook.db").exists():
        print("No gradebook.db here: grade first (python -m arena_grading grade ASSIGNMENT).", file=sys.stderr)
        return 2
    try:
        grades = read_grades(course, assignments)
        if lms == "canvas":
            rows, missing = canvas_rows(grades, read_roster(roster) if roster else None, match or "SIS Login ID")
        else:
            if match not in (None, "username", "email"):
                raise ValueError(f"for Moodle, --match is 'username' or 'email', not {match!r}")
            rows, missing = moodle_rows(grades, match or "username"), []
    except (ValueError, OSError) as error:
        print(f"Cannot export for {lms}: {error}", file=sys.stderr)
        return 2
    output = output or course / f"grades-{lms}.csv"
    write_csv(output, rows[1:], rows[0])
    print(f"wrote {output}: {len(rows) - 1 - (lms == 'canvas')} students, {len(grades.assignments)} assignments "
          f"({', '.join(grades.assignments)})")
    if missing:
        print(f"Not in the roster, so not exported ({len(missing)}): {' '.join(missing)}", file=sys.stderr)
    return 0
