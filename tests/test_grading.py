"""The instructor workflow with real nbgrader in a temporary course folder: an LMS
zip or submitted/ folder -> python -m arena_grading grade -> grades.csv and feedback, with good
and broken submissions; and the JupyterHub exchange cycle."""

from __future__ import annotations

import getpass
import subprocess

import pytest

from arena_lib.agents import load_agent
from tests.agent_files import random_agent, save
from tests.grading_run import WAITS_FOR_THE_CLASS, grade, not_graded, processes_in, read_grades
from tests.notebook_tools import make_course, nbgrader
from tests.submissions import Submission

pytestmark = [pytest.mark.slow, WAITS_FOR_THE_CLASS]
# The class (grading_run.py, graded once per session): 01_arena from an LMS zip, with the
# honest and broken students of submissions.arena_class and the cheaters that
# test_grading_trust.py looks at; 04_evaluation from submitted/.


def test_lms_zip_is_collected_into_submitted(graded):
    for student, (submission, _) in graded.classes["01_arena"].items():
        path = graded.course / "submitted" / student / "01_arena" / submission.filename
        assert path.exists(), graded.runs["01_arena"][0].stdout


def test_every_student_gets_the_expected_score(graded):
    grades = read_grades(graded.course)
    expected = {(s, a): float(points) for a, students in graded.classes.items() for s, (_, points) in students.items()}
    got = {key: grades.get(key) for key in expected}
    assert got == expected, "\n".join(r.stdout[-3000:] + r.stderr[-3000:] for r, _ in graded.runs.values())


def test_a_dead_kernel_is_reported_and_the_others_are_graded(graded):
    broken, _ = graded.runs["04_evaluation"]
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert not_graded(broken) == {"grace": "nbgrader could not grade it (its kernel died or stopped answering)"}
    folders = graded.course / "autograded"
    graded_students = sorted(p.name for p in folders.iterdir() if (p / "04_evaluation").exists())
    assert graded_students == sorted(set(graded.classes["04_evaluation"]) - {"grace"})


# What each student's feedback shows for the failing test (frank deleted his).
FAILURES = {"bob": "NotImplementedError", "carol": "ValueError", "erin": "NotImplementedError",
            "dave": "CellTimeoutError", "henry": "NotImplementedError"}


def test_feedback_shows_each_student_the_score_and_the_failing_tests(graded):
    for assignment, students in graded.classes.items():
        total = {"01_arena": 3, "04_evaluation": 4}[assignment]
        for student, (submission, points) in students.items():
            html = graded.course / "feedback" / student / assignment / submission.filename.replace(".ipynb", ".html")
            if student in ("grace", "cheat-memory", "attack-flood-big", "attack-huge"):  # not graded
                assert not html.exists()
                continue
            text = html.read_text()
            assert f"Score: {points:.1f} / {total:.1f}" in text, f"{student}'s feedback for {assignment}"
            if student in FAILURES:
                assert FAILURES[student] in text, f"{student}'s feedback for {assignment}"


def test_grading_leaves_no_ray_running(graded):
    assert not graded.left_behind, f"processes left behind by grading (Ray, kernels): {graded.left_behind}"
    # The check itself sees a process that works in a student's folder.
    stray = subprocess.Popen(["sleep", "60"], cwd=graded.course / "autograded" / "henry")
    try:
        assert any(line.startswith(f"{stray.pid} ") for line in processes_in(graded.course))
    finally:
        stray.kill()


def test_regrading_gives_identical_grades(graded):
    first = read_grades(graded.course)
    result, _ = grade(graded.course, "04_evaluation", "--force", "--student=henry")  # trains, yet the same
    assert result.returncode == 0, result.stdout + result.stderr
    assert read_grades(graded.course) == first


def test_the_script_says_what_it_needs(tmp_path):
    course = make_course(tmp_path)
    result, _ = grade(course, "99_nope")
    assert result.returncode == 2 and "no assignment '99_nope'" in result.stderr and "01_arena" in result.stderr
    result, _ = grade(tmp_path, "01_arena")  # not a course folder
    assert result.returncode == 2 and "run from the course root" in result.stderr


def test_jupyterhub_exchange_release_fetch_submit_collect(tmp_path):
    """The JupyterHub cycle on one machine, with the exchange in a temporary folder; notebook 8's
    agent file travels with its notebook."""
    course = make_course(tmp_path)
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    student_home = tmp_path / "student"
    student_home.mkdir()
    where = f"--Exchange.root={exchange}"
    nbgrader("generate_assignment", "08_league", cwd=course)
    nbgrader("release_assignment", "08_league", where, cwd=course)

    listed = nbgrader("list", "--course=hands-on-rllib", where, cwd=student_home)
    assert "08_league" in listed.stdout + listed.stderr
    nbgrader("fetch_assignment", "08_league", "--course=hands-on-rllib", where, cwd=student_home)
    fetched = student_home / "08_league"
    (notebook,) = fetched.glob("*.ipynb")
    Submission("08_league").solve().write(notebook)
    agent = save(random_agent(3), fetched, "08_league_agent.safetensors")
    nbgrader("submit", "08_league", "--course=hands-on-rllib", where, cwd=student_home)

    nbgrader("collect", "08_league", where, cwd=course)
    collected = course / "submitted" / getpass.getuser() / "08_league"
    assert (collected / notebook.name).read_text() == notebook.read_text()
    assert (collected / agent.name).read_bytes() == agent.read_bytes()
    load_agent(collected / agent.name)


def test_an_lms_download_of_notebook_8_brings_the_agent_file_along(tmp_path):
    """zip_collect with the course's file-name pattern takes the agent file next to the notebook."""
    import zipfile

    course = make_course(tmp_path)
    nbgrader("generate_assignment", "08_league", cwd=course)
    archive = course / "downloaded" / "08_league" / "archive"
    archive.mkdir(parents=True)
    files = tmp_path / "files"
    notebook = Submission("08_league").write(files / "alice_4711_08_league.ipynb")
    agent = save(random_agent(3), files, "alice_4711_08_league_agent.safetensors")
    with zipfile.ZipFile(archive / "lms_download.zip", "w") as lms:
        for path in (notebook, agent):
            lms.write(path, path.name)
    nbgrader("zip_collect", "08_league", "--force", cwd=course)
    submitted = course / "submitted" / "alice" / "08_league"
    assert (submitted / "08_league_agent.safetensors").read_bytes() == agent.read_bytes()
    assert (submitted / "08_league.ipynb").exists()


def test_grades_export_as_canvas_and_moodle_import_them(graded, tmp_path):
    """python -m arena_grading export: one row per student, the LMS's id columns, one column per
    assignment; from a Canvas gradebook export (--roster), its own rows and ids."""
    import csv
    import sys

    def export(*args):
        done = subprocess.run([sys.executable, "-m", "arena_grading", "export", *args], cwd=graded.course,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    def rows(path):
        with open(path, newline="") as f:
            return list(csv.reader(f))

    grades = read_grades(graded.course)
    export("--lms", "canvas", "--output", str(tmp_path / "canvas.csv"))
    canvas = rows(tmp_path / "canvas.csv")
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "01_arena", "04_evaluation"]
    assert canvas[1] == ["Points Possible", "", "", "", "", "3", "4"]
    by_login = {row[3]: row for row in canvas[2:]}
    assert by_login["alice"][5:] == [f"{grades[('alice', '01_arena')]:g}", f"{grades[('alice', '04_evaluation')]:g}"]
    assert by_login["grace"][6] == "0"  # not graded: 0, as in grades.csv

    roster = tmp_path / "canvas-export.csv"  # what Canvas's Grades ▸ Export gives, two students and a stranger
    roster.write_text("Student,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (55)\n"
                      "    Points Possible,,,,,10\n"
                      '"Liddell, Alice",1001,S-1,alice,Section A,7\n'
                      '"Builder, Bob",1002,S-2,bob,Section A,9\n'
                      '"Stranger, Sam",1003,S-3,sam,Section B,5\n')
    done = export("--lms", "canvas", "--roster", str(roster), "--assignment", "01_arena", "--output",
                  str(tmp_path / "filled.csv"))
    filled = rows(tmp_path / "filled.csv")
    assert filled[2] == ["Liddell, Alice", "1001", "S-1", "alice", "Section A", f"{grades[('alice', '01_arena')]:g}"]
    assert filled[4][5] == ""  # not in the gradebook: left as it is in Canvas
    assert "Not in the roster" in done.stderr and "zoe" in done.stderr

    export("--lms", "moodle", "--output", str(tmp_path / "moodle.csv"))
    moodle = rows(tmp_path / "moodle.csv")
    assert moodle[0] == ["Username", "01_arena", "04_evaluation"]
    assert ["henry", "0", f"{grades[('henry', '04_evaluation')]:g}"] in moodle


def test_a_canvas_roster_matches_the_names_of_canvas_downloads(tmp_path):
    """Canvas names a download after the student ("liddellalice_4711_..."), which becomes the nbgrader id."""
    from arena_grading.lms import Grades, canvas_rows

    grades = Grades(["01_arena"], {"01_arena": 3.0}, {"liddellalice": {"01_arena": 2.0}}, {"liddellalice": ("", "", "")})
    roster = [{"Student": "Liddell, Alice", "ID": "1001", "SIS User ID": "", "SIS Login ID": "al", "Section": "A"}]
    rows, missing = canvas_rows(grades, roster, "Student")
    assert rows[2] == ["Liddell, Alice", "1001", "", "al", "A", "2"] and missing == []
