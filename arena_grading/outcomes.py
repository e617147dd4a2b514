"""What became of each submission when a class was graded, read from the course folder.

Whether a student was graded is decided from the folders nbgrader keeps, never from a
log: a submission in ``submitted/<student>/<assignment>/`` is graded once
``autograded/<student>/<assignment>/`` exists (nbgrader removes it when grading fails).
Why one was not graded, or was sent to a person, comes from what the grader itself
recorded, outside the kernel's reach, in ``.grading/students/<assignment>/<student>/``:
nbgrader's log (``nbgrader.log``), how each notebook's kernel ended
(``<notebook>.kernel.json``, written by the sandbox; its stderr, capped, in
``<notebook>.kernel-stderr.txt``), why the grader stopped it (``<notebook>.stopped.json``),
what the judge decided of each test cell (``<notebook>.verdicts.json``). The reference
solution's answers are in ``.grading/<assignment>/<notebook>.json``.
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


def reference_path(course: Path, assignment: str, notebook: str) -> Path:
    """Where one notebook's reference answers are kept (``arena_grading.reference`` writes them)."""
    return Path(course) / GRADING_FOLDER / assignment / f"{notebook}.json"


def reference_seconds(course: Path, assignment: str, notebook: str) -> float | None:
    """How long the reference solution took to run as a submission is (None if not recorded)."""
    try:
        return json.loads(reference_path(course, assignment, notebook).read_text()).get("seconds")
    except (OSError, ValueError, AttributeError):
        return None


def log_path(course: Path, assignment: str, student: str) -> Path:
    """nbgrader's log of grading one student's submission."""
    return student_folder(course, assignment, student) / "nbgrader.log"


def record_path(config, resources, kind: str) -> Path | None:
    """Where the grader records ``kind`` ("kernel.json", "verdicts.json", ...) of the notebook
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
    """Every notebook's record of ``kind`` ("kernel.json", "verdicts.json") for a student."""
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


def scores_of(course: Path, assignment: str) -> tuple[dict, list]:
    """(student -> (score, max score) of each graded submission, students with a cell that needs a
    manual grade), from the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    scores, by_hand = {}, []
    if not (course / "gradebook.db").exists():
        return scores, by_hand
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id(course)) as gb:
        try:
            submissions = gb.assignment_submissions(assignment)
        except MissingEntry:
            return scores, by_hand
        for submission in submissions:
            if is_graded(course, assignment, submission.student_id):
                scores[submission.student_id] = (submission.score, submission.max_score)
                if submission.needs_manual_grade:
                    by_hand.append(submission.student_id)
    return scores, by_hand


def course_id(course: Path) -> str:
    """The course's id in its nbgrader configuration (the gradebook's entries carry it)."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    return CourseDirectory(config=config).course_id


def not_gradable(course: Path, assignment: str, student: str) -> None:
    """A submission that cannot be graded at all: any earlier grading of it undone (its autograded
    folder, its gradebook entry), and the student in the gradebook, so that grades.csv lists them
    with 0, as any student not graded, and never an old score for a new submission."""
    import shutil

    from nbgrader.api import Gradebook, MissingEntry

    shutil.rmtree(course / "autograded" / student / assignment, ignore_errors=True)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id(course)) as gb:
        gb.update_or_create_student(student)
        try:
            gb.remove_submission(assignment, student)
        except MissingEntry:
            pass


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
            records = (GRADING_FOLDER / "students" / self.assignment).as_posix()
            print(f"Not graded (they count 0 in grades.csv until regraded; nbgrader's log of each is in "
                  f"{records}/<student>/nbgrader.log):", file=err)
            for student, why in sorted(self.not_graded.items()):
                print(f"  {student}: {why}", file=err)

    def print_scores(self, course: Path, out=sys.stdout) -> None:
        """The assignment's scores in the gradebook, in one line: how many graded, their mean and
        median, how many not graded, and how many need a person to grade a cell."""
        scores, by_hand = scores_of(course, self.assignment)
        if not scores:
            print(f"Scores of {self.assignment}: nobody graded yet.", file=out)
            return
        points = [score for score, _ in scores.values()]
        most = max(total for _, total in scores.values())
        missing = len(submitted_students(course, self.assignment)) - len(scores)
        print(f"Scores of {self.assignment}: {len(points)} graded, mean {statistics.fmean(points):.2f} and median "
              f"{statistics.median(points):g} of {most:g} points; {missing} not graded; {len(by_hand)} waiting for a "
              "manual grade" + (f" ({' '.join(sorted(by_hand))})" if by_hand else "") + ".", file=out)

    def record(self, course: Path) -> None:
        """Each student's part of this run (``grading.json``): how long grading it took, where, and
        why it was not graded; the class report reads them."""
        where = {student: node for node, students in self.nodes.items() for student in students}
        for student in [*self.graded, *self.not_graded]:
            folder = student_folder(course, self.assignment, student)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "grading.json").write_text(json.dumps({
                "seconds": self.seconds.get(student), "where": where.get(student, self.where),
                "graded": student in self.graded, "why not": self.not_graded.get(student)}, indent=1))
