"""Grades an instructor can trust: the cheaters of the grading test class (each a wrong
answer plus one trick, see submissions.TRICKS), graded by `python -m arena_grading grade` with real
nbgrader and the real sandbox between honest students (grading_run.py); then two of
them again without the sandbox, to show the holes these tests would catch."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys

import pytest

from tests.grading_run import SECRET, grade, not_graded, read_grades
from tests.notebook_tools import ROOT, make_course, read, tool_env
from tests.submissions import cheating_class

pytestmark = pytest.mark.slow


def probes(course, student) -> dict:
    """What the student's probes printed, read from the graded notebook (instructor side)."""
    nb = read(course / "autograded" / student / "01_arena" / "01_rl_and_the_arena.ipynb")
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    return dict(re.findall(r"^PROBE (\w+): (.*)$", text, flags=re.M))


def feedback_text(course, student) -> str:
    page = (course / "feedback" / student / "01_arena" / "01_rl_and_the_arena.html").read_text()
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def hidden_test_lines() -> set[str]:
    """Lines of 01's hidden tests that the student's own notebook does not also contain."""
    (source,) = (ROOT / "solutions" / "01_arena").glob("*.ipynb")
    (student,) = (ROOT / "notebooks" / "01_arena").glob("*.ipynb")
    visible = {line.strip() for cell in read(student).cells for line in cell.source.splitlines()}
    hidden = set()
    for cell in read(source).cells:
        for block in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, flags=re.S):
            hidden.update(line.strip() for line in block.splitlines())
    return {line for line in hidden - visible if len(line) >= 12}


def test_every_cheat_gets_zero_and_the_students_after_them_their_grade(graded):
    grades = read_grades(graded.course)
    cheaters = [s for s in graded.classes["01_arena"] if s.startswith("cheat-") or s == "mallory"]
    assert len(cheaters) == 8
    assert {s: grades[(s, "01_arena")] for s in cheaters} == dict.fromkeys(cheaters, 0.0)
    assert grades[("zoe", "01_arena")] == 3.0  # graded after every cheater


def test_only_the_kernel_that_ran_out_of_memory_is_not_graded(graded):
    result, _ = graded.runs["01_arena"]
    assert result.returncode == 1
    assert not_graded(result) == {"cheat-memory": "the kernel reached its memory limit (2.0 GiB) and was killed"}


def test_the_kernel_reaches_nothing_of_the_course_the_network_or_the_instructor(graded):
    assert probes(graded.course, "mallory") == {
        "solutions": "FileNotFoundError", "submissions": "0", "gradebook": "False",
        "socket": "ConnectionRefusedError", "secret": "None", "write": "OSError", "user": "65534",
        "gradebook_write": "OperationalError",
    }
    assert not (graded.course / "autograded" / "mallory" / "01_arena" / "planted.txt").exists()


def test_a_fork_loop_stops_at_the_process_limit(graded):
    count, error = probes(graded.course, "cheat-fork")["fork"].split()
    assert int(count) < 512 and error == "BlockingIOError"


def test_feedback_never_shows_a_hidden_test(graded):
    hidden = hidden_test_lines()
    assert len(hidden) > 10
    for student in set(graded.classes["01_arena"]) - {"cheat-memory"}:
        shown = {line.strip() for line in feedback_text(graded.course, student).splitlines()} & hidden
        assert not shown, f"{student}'s feedback shows hidden test lines: {sorted(shown)[:3]}"
    # The student whose hook printed every cell's source got those lines replaced.
    assert "[a line of a hidden test]" in feedback_text(graded.course, "cheat-leak-tests")


def test_feedback_says_in_words_what_was_wrong(graded):
    fooled = feedback_text(graded.course, "cheat-monkeypatch")  # its visible self-check was replaced by a fake ✔
    assert "Score: 0.0 / 3.0" in fooled and "hidden cases differ from the reference solution" in fooled
    assert "Add up every step's reward per agent" in fooled  # the hint
    # Shadowed builtins break Python's import of the self-check's module itself: 0, with the error.
    broken = feedback_text(graded.course, "cheat-builtins")
    assert "Score: 0.0 / 3.0" in broken and "ModuleNotFoundError" in broken
    hidden = feedback_text(graded.course, "cheat-hide-errors")  # nbgrader reads the error from the reply
    assert "Score: 0.0 / 3.0" in hidden and "showtraceback was disabled" in hidden
    skipped = feedback_text(graded.course, "cheat-transformer")
    assert "did not run to their end" in skipped
    assert "(answers of" not in skipped + fooled  # the report to the grader is not shown


def test_without_the_sandbox_the_holes_are_there(tmp_path, greeting_server):
    """Mallory's probes and gradebook forgery again, --unsafe-no-sandbox (only she is
    graded; zoe's submission is there to be read): they reach what the sandbox hides,
    and the forged grade counts."""
    students = cheating_class(greeting_server, tricks=["probe"])
    course = make_course(tmp_path)
    for student, (submission, _) in students.items():
        submission.write(course / "submitted" / student / "01_arena" / submission.filename)
    result, _ = grade(course, "01_arena", "--unsafe-no-sandbox", "--student=mallory")
    assert "WARNING: grading without the sandbox" in result.stderr
    reached = probes(course, "mallory")
    assert reached["solutions"] == "True" and reached["submissions"] == "2" and reached["gradebook"] == "True"
    assert reached["socket"] == "hello" and reached["secret"] == SECRET and reached["user"] == str(os.getuid())
    assert reached["gradebook_write"] == "written"
    assert read_grades(course)[("mallory", "01_arena")] == 3.0, "the forged grade: the hole the sandbox closes"


def test_grading_stops_and_says_why_when_the_sandbox_cannot_start(tmp_path):
    course = make_course(tmp_path)
    result = subprocess.run([sys.executable, "-m", "arena_grading", "grade", "01_arena"], cwd=course,
                            capture_output=True, text=True,
                            env=tool_env(ARENA_BWRAP="/nonexistent/bwrap"), timeout=120)
    assert result.returncode == 2
    assert "bubblewrap is not installed" in result.stderr and "apt-get install bubblewrap" in result.stderr
    assert "--unsafe-no-sandbox" in result.stderr
    assert not (course / "autograded").exists()
