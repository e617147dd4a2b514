"""The instructor workflow with real nbgrader in a temporary course folder: an LMS
zip or submitted/ folder -> scripts/grade -> grades.csv and feedback, with good
and broken submissions; and the JupyterHub exchange cycle."""

from __future__ import annotations

import csv
import getpass
import os
import subprocess
import time
import zipfile
from pathlib import Path

import psutil
import pytest

from notebook_tools import ROOT, make_course, nbgrader, tool_env
from submissions import arena_class, evaluation_class

pytestmark = pytest.mark.slow
CLASSES = {"01_arena": arena_class(), "04_evaluation": evaluation_class()}


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


def grade(course, assignment, *args):
    started = time.perf_counter()
    result = subprocess.run(
        [str(ROOT / "scripts" / "grade"), assignment, *args],
        cwd=course, env=tool_env(), capture_output=True, text=True, timeout=1200,
    )
    return result, time.perf_counter() - started


def read_grades(course) -> dict:
    with open(course / "grades.csv") as f:
        return {(row["student_id"], row["assignment"]): float(row["raw_score"]) for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Both classes graded once, as an instructor would: 01 from an LMS zip, 04 from submitted/."""
    course = make_course(tmp_path_factory.mktemp("grading"))  # as a fresh clone: no gradebook yet

    archive = course / "downloaded" / "01_arena" / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "lms_download.zip", "w") as lms:
        for number, (student, (submission, _)) in enumerate(CLASSES["01_arena"].items()):
            path = submission.write(course / "tmp" / f"{student}_{4700 + number}_{submission.filename}")
            lms.write(path, path.name)
    for student, (submission, _) in CLASSES["04_evaluation"].items():
        submission.write(course / "submitted" / student / "04_evaluation" / submission.filename)

    runs = {assignment: grade(course, assignment) for assignment in CLASSES}
    for assignment, (result, seconds) in runs.items():
        print(f"\ngraded {assignment} for {len(CLASSES[assignment])} students in {seconds:.0f} s")
    return course, runs, wait_until_none_in(course)


def test_lms_zip_is_collected_into_submitted(graded):
    course, runs, *_ = graded
    for student, (submission, _) in CLASSES["01_arena"].items():
        assert (course / "submitted" / student / "01_arena" / submission.filename).exists(), runs["01_arena"][0].stdout


def test_every_student_gets_the_expected_score(graded):
    course, runs, *_ = graded
    grades = read_grades(course)
    expected = {(s, a): float(points) for a, students in CLASSES.items() for s, (_, points) in students.items()}
    got = {key: grades.get(key) for key in expected}
    assert got == expected, "\n".join(r.stdout + r.stderr for r, _ in runs.values())


def test_a_dead_kernel_is_reported_and_the_others_are_graded(graded):
    course, runs, *_ = graded
    good, _ = runs["01_arena"]
    assert good.returncode == 0, good.stdout + good.stderr
    broken, _ = runs["04_evaluation"]
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert broken.stderr.split("Not graded")[-1].split() == ["(see", "the", "log", "above;", "they", "count", "0",
                                                             "in", "grades.csv", "until", "regraded):", "grace"]
    graded_students = sorted(p.name for p in (course / "autograded").iterdir() if (p / "04_evaluation").exists())
    assert graded_students == sorted(set(CLASSES["04_evaluation"]) - {"grace"})


# What each student's feedback shows for the failing test (frank deleted his).
FAILURES = {"bob": "NotImplementedError", "carol": "ValueError", "erin": "NotImplementedError",
            "dave": "CellTimeoutError", "henry": "NotImplementedError"}


def test_feedback_shows_each_student_the_score_and_the_failing_tests(graded):
    course, *_ = graded
    for assignment, students in CLASSES.items():
        total = {"01_arena": 3, "04_evaluation": 4}[assignment]
        for student, (submission, points) in students.items():
            html = course / "feedback" / student / assignment / submission.filename.replace(".ipynb", ".html")
            if student == "grace":  # not graded, so no feedback
                assert not html.exists()
                continue
            text = html.read_text()
            assert f"Score: {points:.1f} / {total:.1f}" in text, f"{student}'s feedback for {assignment}"
            if student in FAILURES:
                assert FAILURES[student] in text, f"{student}'s feedback for {assignment}"


def test_grading_leaves_no_ray_running(graded):
    course, _, left_behind = graded
    assert not left_behind, f"processes left behind by grading (Ray, kernels): {left_behind}"
    # The check itself sees a process that works in a student's folder.
    stray = subprocess.Popen(["sleep", "60"], cwd=course / "autograded" / "henry")
    try:
        assert any(line.startswith(f"{stray.pid} ") for line in processes_in(course))
    finally:
        stray.kill()


def test_regrading_gives_identical_grades(graded):
    course, *_ = graded
    first = read_grades(course)
    result, _ = grade(course, "01_arena", "--force")
    assert result.returncode == 0, result.stdout + result.stderr
    result, _ = grade(course, "04_evaluation", "--force", "--student=henry")
    assert read_grades(course) == first


def test_the_script_says_what_it_needs(tmp_path):
    course = make_course(tmp_path)
    result, _ = grade(course, "99_nope")
    assert result.returncode == 2 and "no assignment '99_nope'" in result.stderr and "01_arena" in result.stderr
    result, _ = grade(tmp_path, "01_arena")  # not a course folder
    assert result.returncode == 2 and "run from the course root" in result.stderr


def test_jupyterhub_exchange_release_fetch_submit_collect(tmp_path):
    """The JupyterHub cycle on one machine, with the exchange in a temporary folder."""
    course = make_course(tmp_path)
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    student_home = tmp_path / "student"
    student_home.mkdir()
    where = f"--Exchange.root={exchange}"
    nbgrader("generate_assignment", "01_arena", cwd=course)
    nbgrader("release_assignment", "01_arena", where, cwd=course)

    listed = nbgrader("list", "--course=hands-on-rllib", where, cwd=student_home)
    assert "01_arena" in listed.stdout + listed.stderr
    nbgrader("fetch_assignment", "01_arena", "--course=hands-on-rllib", where, cwd=student_home)
    fetched = student_home / "01_arena"
    (notebook,) = fetched.glob("*.ipynb")
    submission, _ = arena_class()["alice"]
    submission.write(notebook)
    nbgrader("submit", "01_arena", "--course=hands-on-rllib", where, cwd=student_home)

    nbgrader("collect", "01_arena", where, cwd=course)
    collected = course / "submitted" / getpass.getuser() / "01_arena" / notebook.name
    assert collected.read_text() == notebook.read_text()
