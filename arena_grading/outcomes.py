"""What became of each submission when a class was graded, read from the course folder.

Whether a student was graded is decided from the folders nbgrader keeps, never from a
log: a submission in ``submitted/<student>/<assignment>/`` is graded once
``autograded/<student>/<assignment>/`` exists (nbgrader removes it when grading fails).
Why one was not graded, or was sent to a person, comes from what the grader itself
recorded, outside the kernel's reach, in ``.grading/students/<assignment>/<student>/``:
nbgrader's log (``nbgrader.log``), how each notebook's kernel ended
(``<notebook>.kernel.json``, written by the sandbox; its stderr, capped, in
``<notebook>.kernel-stderr.txt``), why the grader stopped it (``<notebook>.stopped.json``),
what the judge found in the code (``<notebook>.review.json``).
"""

from __future__ import annotations

import fnmatch
import json
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

GRADING_FOLDER = Path(".grading")  # the grader's own files in the course folder; never in the sandbox


def student_folder(course: Path, assignment: str, student: str) -> Path:
    """The grader's records of one student's submission."""
    return course / GRADING_FOLDER / "students" / assignment / student


def log_path(course: Path, assignment: str, student: str) -> Path:
    """nbgrader's log of grading one student's submission."""
    return student_folder(course, assignment, student) / "nbgrader.log"


def record_path(config, resources, kind: str) -> Path | None:
    """Where the grader records ``kind`` ("kernel.json", "review.json", ...) of the notebook
    being graded, emptied first; None for runs that grade no student (the reference)."""
    info = (resources or {}).get("nbgrader") or {}
    if not info.get("student"):
        return None
    from nbgrader.coursedir import CourseDirectory

    root = Path(CourseDirectory(config=config).root)
    path = student_folder(root, info["assignment"], info["student"]) / f"{info['notebook']}.{kind}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    return path


def records(course: Path, assignment: str, student: str, kind: str) -> list[dict]:
    """Every notebook's record of ``kind`` ("kernel.json", "review.json") for a student."""
    found = []
    for path in sorted(student_folder(course, assignment, student).glob(f"*.{kind}")):
        try:
            found.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return found


def submitted_students(course: Path, assignment: str, patterns=()) -> list[str]:
    """Students with a submission of ``assignment``, those matching any of ``patterns`` (globs) if given."""
    students = sorted(p.parent.name for p in (course / "submitted").glob(f"*/{assignment}") if p.is_dir())
    if patterns:
        students = [s for s in students if any(fnmatch.fnmatchcase(s, pattern) for pattern in patterns)]
    return students


def is_graded(course: Path, assignment: str, student: str) -> bool:
    return (course / "autograded" / student / assignment).is_dir()


def why_not_graded(course: Path, assignment: str, student: str, returncode: int | None) -> str:
    """In words, from what the grader recorded; ``returncode`` is the grading process's exit
    (None: it did not end by itself)."""
    for record in records(course, assignment, student, "stopped.json"):
        return record["stopped"]
    for report in records(course, assignment, student, "kernel.json"):
        if report.get("oom_kills"):
            limit = report.get("memory_limit_bytes", 0) / 1024**3
            return f"the kernel reached its memory limit ({limit:.1f} GiB) and was killed"
    if returncode is None:
        return "its grading was stopped from outside"
    if returncode != 0:
        return "nbgrader could not grade it (its kernel died or stopped answering)"
    return "nbgrader made no autograded notebook"


@dataclass
class ClassResult:
    """What one grading run did, the same whether it graded serially or on Ray."""

    assignment: str
    where: str  # "on this machine, one at a time", "on 2 Ray node(s)"
    graded: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # graded before; --force regrades them
    not_graded: dict = field(default_factory=dict)  # student -> why
    seconds: dict = field(default_factory=dict)  # student -> seconds to grade (graded or not)
    nodes: dict = field(default_factory=dict)  # Ray node id -> students graded there
    review: dict = field(default_factory=dict)  # student -> why a person must grade it
    wall_seconds: float = 0.0

    def print(self, course: Path, out=sys.stdout, err=sys.stderr) -> None:
        if self.skipped:
            print(f"{len(self.skipped)} already graded, not regraded (--force regrades): {' '.join(self.skipped)}",
                  file=out)
        tried = len(self.graded) + len(self.not_graded)
        timing = ""
        if self.seconds:
            timing = (f" in {self.wall_seconds:.0f} s ({statistics.median(self.seconds.values()):.1f} s per "
                      "student, median)")
        print(f"graded {len(self.graded)} of {tried} submissions of {self.assignment} {self.where}{timing}", file=out)
        for node, students in sorted(self.nodes.items()):
            print(f"  node {node[:12]}: {len(students)} ({' '.join(sorted(students))})", file=out)
        if self.review:
            print("To grade by hand (formgrader lists them under 'needs manual grade'; they count 0 in "
                  "grades.csv until then):", file=err)
            for student, why in sorted(self.review.items()):
                print(f"  {student}: {why}", file=err)
        if self.not_graded:
            records = (GRADING_FOLDER / "students" / self.assignment).as_posix()
            print(f"Not graded (they count 0 in grades.csv until regraded; nbgrader's log of each is in "
                  f"{records}/<student>/nbgrader.log):", file=err)
            for student, why in sorted(self.not_graded.items()):
                print(f"  {student}: {why}", file=err)

    def record(self, course: Path) -> None:
        """Each student's part of this run (``grading.json``): how long grading it took, where, and
        why it was not graded; the class report reads them."""
        where = {student: node for node, students in self.nodes.items() for student in students}
        for student in [*self.graded, *self.not_graded]:
            folder = student_folder(course, self.assignment, student)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "grading.json").write_text(json.dumps({
                "seconds": self.seconds.get(student), "where": where.get(student, self.where),
                "graded": student in self.graded, "why not": self.not_graded.get(student),
                "review": self.review.get(student)}, indent=1))

    def note_reviews(self, course: Path) -> None:
        """Read what the judge found in each graded student's code."""
        for student in self.graded:
            findings = [finding for record in records(course, self.assignment, student, "review.json")
                        for finding in record.get("review", [])]
            if findings:
                # "cell 21, line 3: uses sys.settrace" -> the distinct things found, where first found
                found = {}
                for finding in findings:
                    where, _, what = finding.partition(": ")
                    found.setdefault(what, where)
                shown = [f"{what} ({where})" for what, where in list(found.items())[:3]]
                self.review[student] = "; ".join(shown) + (f"; and {len(found) - 3} more" if len(found) > 3 else "")
