"""Grading one assignment for the whole class: ``python -m arena_grading grade``.

The steps are nbgrader's own commands, in order, in the course folder:

1. ``nbgrader generate_assignment`` records the assignment's tests in gradebook.db
   (autograde restores them from there) and rewrites notebooks/ as committed;
2. ``nbgrader zip_collect``, only if downloaded/<assignment>/archive/ exists (an LMS download);
3. the reference answers of the hidden tests: the source notebook run as a submission is (cached);
4. ``nbgrader autograde`` for each student, in a process of its own (one at a time here,
   or as Ray tasks with ``arena_grading.parallel``): a submission that kills its grader
   costs that student, nobody else;
5. ``nbgrader generate_feedback`` and ``nbgrader export`` (grades.csv).

Student code runs in the grading sandbox unless ``sandbox=False``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from arena_grading import outcomes
from arena_grading.launch import (
    autograde_args,
    nbgrader,
    nbgrader_child,
    submission_limit,
    submission_problem,
)
from arena_grading.outcomes import ClassResult


class CannotGrade(Exception):
    """Grading cannot start; the message says why and what to do."""


def check_course(course: Path, assignment: str) -> None:
    if not (course / "nbgrader_config.py").is_file():
        raise CannotGrade(f"{course} is not a course folder (it has no nbgrader_config.py): run from the course "
                          "root, the folder with nbgrader_config.py")
    assignments = sorted(p.name for p in (course / "solutions").iterdir() if p.is_dir()) \
        if (course / "solutions").is_dir() else []
    if assignment not in assignments:
        raise CannotGrade(f"no assignment '{assignment}' in solutions/; there are: {' '.join(assignments)}")


def check_sandbox() -> None:
    from arena_grading import kernelspec, sandbox

    kernelspec.install()
    try:
        sandbox.check()
    except sandbox.SandboxUnavailable as error:
        raise CannotGrade(f"The grading sandbox cannot start: {error}\nFix the above, or grade without the sandbox "
                          "(unsafe: student code can then read the solutions and hidden tests and change grades) "
                          "with --unsafe-no-sandbox") from None


def prepare(course: Path, assignment: str, sandboxed: bool) -> None:
    """Steps 1-3: the assignment in the gradebook, an LMS download collected, the reference answers."""
    step = nbgrader(course, "generate_assignment", assignment, "--force")
    if step.returncode != 0:
        raise CannotGrade(f"nbgrader generate_assignment {assignment} failed:\n{step.stdout}{step.stderr}")
    if (course / "downloaded" / assignment / "archive").is_dir():
        step = nbgrader(course, "zip_collect", assignment, "--force")
        if step.returncode != 0:
            raise CannotGrade(f"nbgrader zip_collect {assignment} failed:\n{step.stdout}{step.stderr}")
    from arena_grading.reference import record_assignment

    if record_assignment(course, assignment, sandboxed=sandboxed) != 0:
        raise CannotGrade(f"the reference answers of {assignment} could not be recorded (see above)")


def grade_serially(course: Path, assignment: str, students: list[str], sandboxed: bool,
                   progress: bool = True) -> ClassResult:
    """Step 4 on this machine: one ``nbgrader autograde --student`` process per student."""
    from tqdm import tqdm

    result = ClassResult(assignment, "on this machine, one at a time")
    started = time.perf_counter()
    for student in tqdm(students, desc=f"grading {assignment}", unit="student", disable=not progress):
        began = time.perf_counter()
        done = nbgrader(course, "autograde", assignment, f"--student={student}", "--force", *autograde_args(sandboxed),
                        log=outcomes.log_path(course, assignment, student), preexec_fn=nbgrader_child)
        result.seconds[student] = time.perf_counter() - began
        if outcomes.is_graded(course, assignment, student):
            result.graded.append(student)
        else:
            result.not_graded[student] = outcomes.why_not_graded(course, assignment, student, done.returncode)
    result.wall_seconds = time.perf_counter() - started
    return result


def stop_leftovers(course: Path) -> None:
    """Without the sandbox, a kernel that died (os._exit, out of memory) leaves its Ray's
    processes running in the student's folder for a minute or more: stop them. (In the
    sandbox they end with the kernel's process namespace.)"""
    import psutil

    folder = (course / "autograded").resolve()
    for process in psutil.process_iter():
        try:
            if Path(process.cwd()).is_relative_to(folder):
                process.kill()
                print(f"stopped leftover process {process.pid}")
        except (psutil.Error, OSError):
            continue


def finish(course: Path, assignment: str, patterns: list[str]) -> None:
    """Step 5: feedback for the students graded (all, or those matching ``patterns``) and grades.csv."""
    for pattern in patterns or ["*"]:
        if not list((course / "autograded").glob(f"{pattern}/{assignment}")):
            continue  # nobody of these was graded: nothing to give feedback on
        step = nbgrader(course, "generate_feedback", assignment, "--force", f"--student={pattern}")
        if step.returncode != 0:
            raise CannotGrade(f"nbgrader generate_feedback failed:\n{step.stdout}{step.stderr}")
    step = nbgrader(course, "export")
    if step.returncode != 0:
        raise CannotGrade(f"nbgrader export failed:\n{step.stdout}{step.stderr}")


def grade(course: Path, assignment: str, *, workers: int | None = None, ray_address: str | None = None,
          students: list[str] = (), force: bool = False, sandboxed: bool = True, retries: int = 1) -> int:
    """Grade ``assignment`` for the class (or the students matching ``students``); print what
    became of each submission. Returns the exit status: 0 all graded, 1 someone was not graded,
    2 grading could not start."""
    try:
        check_course(course, assignment)
        if sandboxed:
            check_sandbox()
        else:
            print("WARNING: grading without the sandbox: student code can read solutions/ and write gradebook.db.",
                  file=sys.stderr)
        prepare(course, assignment, sandboxed)
        todo = outcomes.submitted_students(course, assignment, students)
        skipped = [] if force else [s for s in todo if outcomes.is_graded(course, assignment, s)]
        todo = [s for s in todo if s not in skipped]
        limit = submission_limit(course)
        refused = {s: why for s in todo if (why := submission_problem(
            course / "submitted" / s / assignment, limit))}
        todo = [s for s in todo if s not in refused]
        if workers is None and ray_address is None:
            result = grade_serially(course, assignment, todo, sandboxed)
        else:
            from arena_grading import parallel

            result = parallel.grade_class(course, assignment, todo, workers=workers, address=ray_address,
                                          sandboxed=sandboxed, retries=retries)
        result.skipped = skipped
        for student, why in refused.items():
            outcomes.not_gradable(course, assignment, student)
            result.not_graded[student] = why
        result.record(course)
        if not sandboxed:
            stop_leftovers(course)
        finish(course, assignment, list(students))
    except CannotGrade as error:
        print(error, file=sys.stderr)
        return 2
    result.print(course)
    result.print_scores(course)
    if result.not_graded:
        return 1
    print(f"Graded {assignment}: autograded/, feedback/ and grades.csv are up to date.")
    return 0
