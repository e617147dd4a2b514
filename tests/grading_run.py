"""Grading the test class with `python -m arena_grading grade`, shared by test_grading.py
and test_grading_trust.py (graded once per test session: it takes minutes)."""

from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from arena_lib.cgroups import Cgroup, CgroupUnavailable
from tests.notebook_tools import make_course, tool_env
from tests.submissions import (
    arena_class,
    attacking_class,
    cheating_class,
    evaluation_class,
    forging_class,
    honest_class,
    mistakes_class,
)

# The first test that uses a graded class also waits for the class and the tables to be graded (a
# session fixture: about 6 minutes on a quiet machine, twice that on a busy one), on top of its own time.
WAITS_FOR_THE_CLASS = pytest.mark.timeout(2700)

SECRET = "s3cret-of-the-instructor"  # in the grading run's environment; kernels must not see it


@dataclass
class GradedClass:
    course: Path
    classes: dict  # assignment -> {student: (submission, expected points)}
    runs: dict  # assignment -> (CompletedProcess, seconds)
    left_behind: list
    grader_peaks: dict  # assignment -> the grading processes' peak memory (the kernels' not included), or None
    temp_before: set  # the temporary folder's entries before grading


@contextlib.contextmanager
def greeting_server():
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.5)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            with contextlib.suppress(OSError):
                connection, _ = server.accept()
                connection.sendall(b"hello")
                connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        server.close()


def grade(course, assignment, *args, cgroup=None, **env):
    """Run the grade command in the course folder (in ``cgroup``, if given, to measure it)."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "arena_grading", "grade", assignment, *args], preexec_fn=cgroup.enter if cgroup else None,
        cwd=course, env=tool_env(ARENA_TEST_SECRET=SECRET, **env), capture_output=True, text=True, timeout=2400,
    )
    return result, time.perf_counter() - started


def not_graded(result) -> dict:
    """student -> why, from the list the grade command prints at its end."""
    listed = result.stderr.split("Not graded")[1] if "Not graded" in result.stderr else ""
    return dict(re.findall(r"^  (\S+): (.*)$", listed, re.M))


def read_grades(course) -> dict:
    with open(course / "grades.csv") as f:
        return {(row["student_id"], row["assignment"]): float(row["raw_score"]) for row in csv.DictReader(f)}


def processes_in(folder) -> list[str]:
    """Processes working in ``folder``: kernels and every Ray process they start
    (raylet, GCS, workers) inherit the kernel's working directory, the student's folder."""
    folder, found = str(Path(folder).resolve()), []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if os.path.commonpath([proc.cwd(), folder]) == folder:
                found.append(f"{proc.pid} {' '.join(proc.info['cmdline'] or [])[:80]}")
        except (psutil.Error, ValueError):
            continue
    return found


def wait_until_none_in(folder, seconds=15) -> list[str]:
    """Ray's processes end shortly after their kernel; give them a moment."""
    deadline = time.monotonic() + seconds
    while (left := processes_in(folder)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


def grade_the_class(folder: Path, port: int) -> GradedClass:
    """The class graded one student at a time, as most instructors will: 01's honest, broken and
    mistaken students, its cheaters and attackers (from an LMS zip); 04's from submitted/. The
    grading processes' memory is measured (in a cgroup of their own; the kernels have theirs)."""
    course = make_course(folder)  # as a fresh clone: no gradebook yet
    with open(course / "nbgrader_config.py", "a") as config:
        # dave's endless loop holds the class for a cell's whole timeout: half the course's 60 s,
        # still several times the longest graded cell of 01 and 04.
        config.write("\nc.Execute.timeout = 30\n")
    classes = {"01_arena": {**arena_class(), **mistakes_class(), **cheating_class(port), **attacking_class()},
               "04_evaluation": evaluation_class()}
    archive = course / "downloaded" / "01_arena" / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "lms_download.zip", "w", compression=zipfile.ZIP_DEFLATED) as lms:
        for number, (student, (submission, _)) in enumerate(classes["01_arena"].items()):
            path = submission.write(course / "tmp" / f"{student}_{4700 + number}_{submission.filename}")
            lms.write(path, path.name)
    for student, (submission, _) in classes["04_evaluation"].items():
        submission.write(course / "submitted" / student / "04_evaluation" / submission.filename)
    temp_before = set(Path(tempfile.gettempdir()).iterdir())
    runs, peaks = {}, {}
    for assignment in classes:
        try:  # the grader's own processes (the grade command, nbgrader, the sandbox's launcher)
            measured = Cgroup("grading-test-")
        except CgroupUnavailable:
            measured = None
        try:
            runs[assignment] = grade(course, assignment, cgroup=measured)
            peaks[assignment] = measured.peak_bytes() if measured else None
        finally:
            if measured:
                measured.remove(wait=20)
    for assignment, (result, seconds) in runs.items():
        peak = f", the grader's peak memory {peaks[assignment] / 1e9:.2f} GB" if peaks[assignment] else ""
        print(f"\ngraded {assignment} for {len(classes[assignment])} students in {seconds:.0f} s{peak}")
    return GradedClass(course, classes, runs, wait_until_none_in(course), peaks, temp_before)


def grade_the_class_and_the_tables(class_folder: Path, tables_folder: Path, port: int):
    """Both, at once: the class one student at a time leaves a core of two for the tables. Each
    returns when all its processes are gone, so a test of either sees both finished."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        tables = pool.submit(grade_the_tables, tables_folder)
        return grade_the_class(class_folder, port), tables.result()


def grade_the_tables(folder: Path) -> GradedClass:
    """01's tables, graded on two workers (they are many): the honest answers in everyday styles,
    the spellings of the course's code and the forged reports."""
    course = make_course(folder)
    classes = {"01_arena": {**honest_class(), **forging_class()}}
    for student, (submission, _) in classes["01_arena"].items():
        submission.write(course / "submitted" / student / "01_arena" / submission.filename)
    temp_before = set(Path(tempfile.gettempdir()).iterdir())
    runs = {"01_arena": grade(course, "01_arena", "--workers", "2")}
    result, seconds = runs["01_arena"]
    print(f"\ngraded the tables of 01_arena for {len(classes['01_arena'])} students on 2 workers in {seconds:.0f} s")
    return GradedClass(course, classes, runs, wait_until_none_in(course), {"01_arena": None}, temp_before)
