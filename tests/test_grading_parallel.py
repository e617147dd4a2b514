"""Grading in parallel on Ray (`python -m arena_grading grade --workers / --ray-address`, arena_grading/parallel.py):
the same grades, gradebook entries, feedback and grades.csv rows as serial grading, on this
machine's cores and over a real two-node Ray cluster; a lost worker is reported and a rerun
finishes the class."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
from nbgrader.api import Gradebook

from arena_grading.execute import KERNEL_FOLDER_PREFIX
from arena_grading.parallel import SCRATCH_PREFIX
from arena_lib.cgroups import maker_is_alive
from tests.grading_run import SECRET, grade, wait_until_none_in
from tests.notebook_tools import make_course, tool_env
from tests.submissions import arena_class

pytestmark = pytest.mark.slow


def course_like(graded, folder, students):
    """A fresh course with some of the graded class's submissions (assignment -> students)
    and its recorded reference answers."""
    course = make_course(folder)
    for assignment, names in students.items():
        for student in names:
            submitted = graded.course / "submitted" / student / assignment
            shutil.copytree(submitted, course / "submitted" / student / assignment)
        shutil.copytree(graded.course / ".grading" / assignment, course / ".grading" / assignment)
    return course


def gradebook_entries(course, assignment, students) -> dict:
    """(student, notebook, cell) -> every score and comment nbgrader keeps for it."""
    entries = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "hands-on-rllib") as gb:
        for submission in gb.assignment_submissions(assignment):
            if submission.student_id not in students:
                continue
            for notebook in submission.notebooks:
                key = (submission.student_id, notebook.name)
                entries[key] = (notebook.flagged, notebook.late_submission_penalty, submission.timestamp)
                for g in notebook.grades:
                    entries[(*key, g.name)] = (g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade)
                for c in notebook.comments:
                    entries[(*key, c.name, "comment")] = (c.auto_comment, c.manual_comment)
    return entries


def csv_rows(course, assignment, students) -> list[dict]:
    with open(course / "grades.csv") as f:  # in nbgrader's order
        return [row for row in csv.DictReader(f) if row["assignment"] == assignment and row["student_id"] in students]


def feedback_verdicts(course, assignment, students) -> dict:
    """student -> what their feedback says: the scores and the errors of the graded cells."""
    verdicts = {}
    for html in sorted((course / "feedback").glob(f"*/{assignment}/*.html")):
        if html.parts[-3] not in students:
            continue
        text = html.read_text()
        verdicts[html.parts[-3]] = (re.findall(r"Score: [\d.]+ / [\d.]+", text),
                                    sorted(set(re.findall(r"(\w+(?:Error|Answer))\b", text))))
    return verdicts


# Graded again with --workers 2, to keep CI short, part of the class: 04's but dave (his cell
# timeout costs a worker the minute it costs serially), grace's dead kernel included; and 01's
# right, raising, a deleted test, a cheat that rebinds arena_lib for whoever shares its
# process, one that is never graded (memory), and zoe, graded after the cheaters.
PARALLEL_CLASS = {
    "01_arena": ("alice", "carol", "frank", "cheat-monkeypatch", "cheat-memory", "zoe"),
    "04_evaluation": ("alice", "henry", "grace"),
}


@pytest.mark.timeout(2400)  # the serial class (the graded fixture) may be graded first, inside this test
def test_two_workers_give_exactly_the_serial_grades_and_feedback(graded, tmp_path):
    for assignment, students in PARALLEL_CLASS.items():
        assert set(students) <= set(graded.classes[assignment]), f"{assignment}: not in the test class"
    course = course_like(graded, tmp_path, PARALLEL_CLASS)
    before = scratch_folders()
    runs = {}
    for assignment, students in PARALLEL_CLASS.items():
        runs[assignment] = result, seconds = grade(course, assignment, "--workers", "2")
        print(f"\n{assignment}: {len(students)} students with --workers 2 in {seconds:.0f} s "
              f"(serial: {len(graded.classes[assignment])} students in {graded.runs[assignment][1]:.0f} s)")
        assert result.returncode == graded.runs[assignment][0].returncode, result.stdout + result.stderr
    # Compared once both are graded: grades.csv lists every student of the gradebook for each assignment.
    for assignment, students in PARALLEL_CLASS.items():
        assert gradebook_entries(course, assignment, students) == gradebook_entries(graded.course, assignment, students)
        assert csv_rows(course, assignment, students) == csv_rows(graded.course, assignment, students)
        assert feedback_verdicts(course, assignment, students) == feedback_verdicts(graded.course, assignment, students)
        assert sorted(p.parent.name for p in (course / "autograded").glob(f"*/{assignment}")) == sorted(
            p.parent.name for p in (graded.course / "autograded").glob(f"*/{assignment}") if p.parent.name in students)
    result = runs["04_evaluation"][0]
    # grace's kernel died (os._exit): listed, with the reason, never silently dropped.
    assert re.search(r"Not graded.*\n  grace: nbgrader could not grade it", result.stderr), result.stderr
    assert not left_in_scratch_folders(before), "processes left behind"

    # Run again: the graded are skipped; only who was not graded (cheat-memory) is tried again.
    done = sorted(p.parent.name for p in (course / "autograded").glob("*/01_arena"))
    again, _ = grade(course, "01_arena", "--workers", "2")
    assert f"{len(done)} already graded, not regraded" in again.stdout, again.stdout
    assert "graded 0 of 1 submissions" in again.stdout and "cheat-memory:" in again.stderr, again.stdout + again.stderr
    assert sorted(p.parent.name for p in (course / "autograded").glob("*/01_arena")) == done


@pytest.fixture(scope="module")
def reference_01(tmp_path_factory):
    """01's reference answers, recorded once for this module's small classes."""
    course = make_course(tmp_path_factory.mktemp("reference"))
    done = subprocess.run([sys.executable, "-m", "arena_grading", "record", "01_arena"], cwd=course,
                          env=tool_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return course / ".grading" / "01_arena"


def small_class(folder, reference):
    """Three students of 01 (right, untouched, raising) in submitted/."""
    course = make_course(folder)
    shutil.copytree(reference, course / ".grading" / "01_arena")
    expected = {}
    for student, (submission, points) in list(arena_class().items())[:3]:
        submission.write(course / "submitted" / student / "01_arena" / submission.filename)
        expected[student] = points
    return course, expected


def scores(course) -> dict:
    with open(course / "grades.csv") as f:
        return {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(f)}


def test_a_two_node_ray_cluster_grades_on_both_nodes(tmp_path, reference_01):
    """Head and worker are separate Ray node processes (own raylet, own CPUs) on this machine."""
    from ray.cluster_utils import Cluster

    course, expected = small_class(tmp_path, reference_01)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        result, seconds = grade(course, "01_arena", "--ray-address", cluster.address)
    finally:
        cluster.shutdown()
    print(f"\n{len(expected)} students over two nodes in {seconds:.0f} s\n{result.stdout[-400:]}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "on 2 Ray node(s)" in result.stdout, result.stdout
    assert len(re.findall(r"^  node \w+: \d+ ", result.stdout, re.M)) == 2
    assert scores(course) == expected


def descendants(grading: subprocess.Popen, marker: str) -> list[psutil.Process]:
    """This grading run's processes whose command line holds ``marker``: its Ray workers
    grading a submission now ("ray::grade_submission"), their kernels ("ipykernel_launcher")."""
    found = []
    for process in psutil.Process(grading.pid).children(recursive=True):
        try:
            if marker in " ".join(process.cmdline()):
                found.append(process)
        except psutil.Error:
            continue
    return found


def scratch_folders(prefix: str = SCRATCH_PREFIX) -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob(f"{prefix}*"))


def left_in_scratch_folders(before: set = frozenset()) -> list[str]:
    """Processes still working in a parallel grader's scratch folder (kernels, their Ray),
    other than those that were there ``before`` (another grading run on this machine)."""
    return [line for folder in scratch_folders() - before for line in wait_until_none_in(folder)]


def test_a_lost_worker_is_reported_and_a_rerun_grades_the_rest(tmp_path, reference_01):
    course, expected = small_class(tmp_path, reference_01)
    before, kernel_folders_before = scratch_folders(), scratch_folders(KERNEL_FOLDER_PREFIX)
    grading = subprocess.Popen([sys.executable, "-m", "arena_grading", "grade", "01_arena", "--workers", "1",
                                "--retries=0"],
                               cwd=course, env=tool_env(ARENA_TEST_SECRET=SECRET), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not (kernels := descendants(grading, "ipykernel_launcher")) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert kernels, "no Ray worker ever started a kernel to grade a submission"
    busy = descendants(grading, "ray::grade_submission")
    for worker in busy:
        worker.kill()
    out, err = grading.communicate(timeout=600)
    assert grading.returncode == 1, out + err
    lost = re.findall(r"^  (\w+): lost its Ray worker", err, re.M)
    assert len(lost) == 1, err
    assert set(scores(course)) >= set(expected) - set(lost)
    assert not left_in_scratch_folders(before), "the lost worker's nbgrader or kernel is still running"

    rerun, _ = grade(course, "01_arena", "--workers", "2")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"{len(expected) - 1} already graded" in rerun.stdout and "graded 1 of 1" in rerun.stdout, rerun.stdout
    assert scores(course) == expected
    assert not left_in_scratch_folders(before), "processes left behind"
    stale = [f for f in scratch_folders(KERNEL_FOLDER_PREFIX) - kernel_folders_before
             if not maker_is_alive(f.name, KERNEL_FOLDER_PREFIX)]
    stale += [f for f in scratch_folders() - before if not maker_is_alive(f.name, SCRATCH_PREFIX)]
    assert not stale, f"temp folders of killed graders and their kernels: {stale}"
