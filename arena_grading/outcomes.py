"""What became of each submission when a class was graded, read from the course folder.

Whether a student was graded is decided from the folders nbgrader keeps, never from a
log: a submission in ``submitted/<student>/<assignment>/`` is graded once
``autograded/<student>/<assignment>/`` exists (nbgrader removes it when grading fails).
Why one was not graded comes from what the grader itself recorded: how its kernel ended
(``.grading/kernels/``, written by the sandbox outside the kernel's reach), the exit of
the nbgrader process that graded it, a time limit, a lost Ray worker.
"""

from __future__ import annotations

import fnmatch
import json
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

GRADING_FOLDER = Path(".grading")  # the grader's own files in the course folder; never in the sandbox


def log_path(course: Path, assignment: str, student: str) -> Path:
    """nbgrader's log of grading one student's submission."""
    return course / GRADING_FOLDER / "logs" / assignment / f"{student}.log"


def kernel_report_path(config, resources) -> Path | None:
    """Where the sandbox reports how a submission's kernel ended (None for runs that grade
    no student, such as recording the reference answers)."""
    info = (resources or {}).get("nbgrader") or {}
    if not info.get("student"):
        return None
    from nbgrader.coursedir import CourseDirectory

    root = Path(CourseDirectory(config=config).root)
    path = root / GRADING_FOLDER / "kernels" / info["assignment"] / info["student"] / f"{info['notebook']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    return path


def kernel_reports(course: Path, assignment: str, student: str) -> list[dict]:
    folder = course / GRADING_FOLDER / "kernels" / assignment / student
    reports = []
    for path in sorted(folder.glob("*.json")):
        try:
            reports.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return reports


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
    for report in kernel_reports(course, assignment, student):
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
        if self.not_graded:
            logs = (GRADING_FOLDER / "logs" / self.assignment).as_posix()
            print(f"Not graded (they count 0 in grades.csv until regraded; nbgrader's log of each is in {logs}/):",
                  file=err)
            for student, why in sorted(self.not_graded.items()):
                print(f"  {student}: {why}", file=err)
