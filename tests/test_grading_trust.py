"""Grades an instructor can trust: the cheaters of the grading test class (each a wrong
answer plus one trick, forge or attack, see submissions.py), graded by `python -m arena_grading
grade` with real nbgrader and the real sandbox between honest students (grading_run.py); one
of them again without the sandbox, to show the holes these tests would catch; a notebook that
sleeps; grading as an ordinary user."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from tests.browser import launch
from tests.grading_run import SECRET, grade, not_graded, read_grades, to_grade_by_hand
from tests.notebook_tools import hidden_test_lines, make_course, read, tool_env
from tests.submissions import Submission, cheating_class, forging_class, sleeper

pytestmark = pytest.mark.slow


def probes(course, student) -> dict:
    """What the student's probes printed, read from the graded notebook (instructor side)."""
    nb = read(course / "autograded" / student / "01_arena" / "01_rl_and_the_arena.ipynb")
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    return dict(re.findall(r"^PROBE (\w+): (.*)$", text, flags=re.M))


def feedback_text(course, student) -> str:
    page = (course / "feedback" / student / "01_arena" / "01_rl_and_the_arena.html").read_text()
    return html.unescape(re.sub(r"<[^>]+>", "", page))


HONEST = {"alice", "bob", "carol", "erin", "frank", "ivan", "zoe", "mistaken-1", "mistaken-2", "mistaken-3", "mistaken-4"}
# Each in-kernel trick and forge: sent to manual grading, with what was found.
SENT_TO_REVIEW = {
    "cheat-builtins": "assigns to builtins.abs", "cheat-monkeypatch": "assigns to _Arena.step",
    "cheat-hide-errors": "assigns to sys.excepthook", "cheat-transformer": "input_transformers_post",
    "cheat-leak-tests": "get_ipython", "forge-rebind": "assigns to arena_lib.answers.report_answers",
    "forge-profile": "sys.setprofile", "attack-leak-transformed": "get_ipython",
}


def test_every_cheat_gets_zero_and_the_students_after_them_their_grade(graded):
    grades = read_grades(graded.course)
    cheaters = sorted(set(graded.classes["01_arena"]) - HONEST)
    assert len(cheaters) == 15
    assert {s: grades[(s, "01_arena")] for s in cheaters} == dict.fromkeys(cheaters, 0.0)
    assert grades[("zoe", "01_arena")] == 3.0  # graded after every cheater


def test_forged_reports_and_in_kernel_tricks_go_to_a_person_with_the_reason(graded):
    """Each of these would change what the hidden tests report (tests/test_exercises.py shows
    the forges earning full marks from the comparison alone)."""
    result, _ = graded.runs["01_arena"]
    listed = to_grade_by_hand(result)
    assert set(listed) == set(SENT_TO_REVIEW), listed
    for student, reason in SENT_TO_REVIEW.items():
        assert reason in listed[student], f"{student}: {listed[student]}"
    graded_students = {p.parent.name for p in (graded.course / "autograded").glob("*/01_arena")}
    with Gradebook(f"sqlite:///{graded.course / 'gradebook.db'}", "hands-on-rllib") as gb:
        for submission in gb.assignment_submissions("01_arena"):
            if submission.student_id not in graded_students:
                continue  # not graded at all (listed as such): nothing was scored
            (notebook,) = submission.notebooks
            sent = submission.student_id in SENT_TO_REVIEW
            assert notebook.flagged == sent, submission.student_id
            if sent:  # (frank's deleted test cell needs a manual grade too, nbgrader's own way)
                assert all(grade.needs_manual_grade for grade in notebook.grades), submission.student_id
                assert "Sent to manual grading" in notebook.comments[0].auto_comment
    for student in SENT_TO_REVIEW:
        text = feedback_text(graded.course, student)
        assert "Score: 0.0 / 3.0" in text and "Your instructor grades this notebook by hand" in text, student


def test_who_is_not_graded_and_why(graded):
    result, _ = graded.runs["01_arena"]
    assert result.returncode == 1
    assert not_graded(result) == {
        "cheat-memory": "the kernel reached its memory limit (2.0 GiB) and was killed",
        "attack-flood-big": "it sent a single output message larger than 33,554,432 bytes "
                            "(c.SandboxedExecute.message_bytes_limit), so its kernel was stopped"}
    assert result.stderr.count("attack-flood-big") == 1


def test_a_gigabyte_of_output_leaves_the_grader_small_and_the_files_small(graded):
    """attack-flood-small printed 1 GB in 1-MB messages: kept up to the cap, with a note;
    attack-flood-big in 40-MB messages, none read: its kernel was stopped (above)."""
    autograded = graded.course / "autograded" / "attack-flood-small" / "01_arena" / "01_rl_and_the_arena.ipynb"
    feedback = graded.course / "feedback" / "attack-flood-small" / "01_arena" / "01_rl_and_the_arena.html"
    assert autograded.stat().st_size < 10e6 and feedback.stat().st_size < 10e6
    assert "The grader kept no more of this output" in autograded.read_text()
    peak = graded.grader_peaks["01_arena"]
    if peak is not None:
        print(f"\nthe grader's processes peaked at {peak / 1e9:.2f} GB while grading 01 with 2 GB of output")
        assert peak < 1e9, f"the grader held {peak / 1e9:.1f} GB"


def test_the_kernel_writes_nothing_to_the_host_disk(graded):
    """attack-disk filled its socket folder and /tmp and left a folder nobody may enter."""
    found = probes(graded.course, "attack-disk")
    sockets, sockets_error = found["sockets"].split()
    tmp, tmp_error = found["tmp"].split()
    assert int(sockets) <= 2 * 1024**2 and sockets_error == "OSError", found  # the 1 MiB socket folder is full
    assert int(tmp) <= 300 * 1024**2 and tmp_error == "OSError", found  # the 256 MiB /tmp is full
    temp = Path(tempfile.gettempdir())
    left = [p for p in set(temp.iterdir()) - graded.temp_before if p.name.startswith(("arena-kernel-", "arena-grade"))]
    assert not left, f"left on the host: {left}"
    assert not [p for p in temp.glob("arena-*/**/fill")], "the kernel's files reached the host's temporary folder"


def test_student_stderr_reaches_neither_the_grader_nor_the_instructor(graded):
    result, _ = graded.runs["01_arena"]
    shown = result.stdout + result.stderr
    assert "for student 'zoe'" not in shown and "\x1b[2J" not in shown and "grading was hacked" not in shown
    assert "zoe" not in not_graded(result)
    record = (graded.course / ".grading" / "students" / "01_arena" / "attack-stderr-and-script" /
              "01_rl_and_the_arena.kernel-stderr.txt")
    assert "for student 'zoe'" in record.read_text()  # kept for the instructor, in a file of its own
    assert "for student 'zoe'" not in outcomes_log(graded.course, "attack-stderr-and-script")


def outcomes_log(course, student) -> str:
    return (course / ".grading" / "students" / "01_arena" / student / "nbgrader.log").read_text()


def test_feedback_never_shows_a_hidden_test(graded):
    hidden = hidden_test_lines()
    assert len(hidden) > 10
    for student in set(graded.classes["01_arena"]) - {"cheat-memory", "attack-flood-big"}:
        text = feedback_text(graded.course, student)
        shown = {line.strip() for line in text.splitlines()} & hidden
        assert not shown, f"{student}'s feedback shows hidden test lines: {sorted(shown)[:3]}"
        # Nor in another form: "| "-prefixed, HTML-escaped or joined, as attack-leak-transformed printed them.
        # (Not "EarlyEndArena({": the visible self-check's own case shows in its tracebacks.)
        for telltale in ("_RecordingOutput", "_early = EarlyEndArena", "_policies(seed", "_answers["):
            assert telltale not in text, f"{student}'s feedback shows {telltale!r}"


def test_feedback_says_in_words_what_was_wrong(graded):
    wrong = feedback_text(graded.course, "ivan")  # passes the self-check, not the hidden cases
    assert "Score: 0.0 / 3.0" in wrong and "hidden cases differ from the reference solution" in wrong
    assert "Add up every step's reward per agent" in wrong  # the hint
    assert "(answers of" not in wrong  # the report to the grader is not shown
    fooled = feedback_text(graded.course, "cheat-monkeypatch")  # its visible self-check was replaced by a fake ✔
    assert "Your instructor grades this notebook by hand" in fooled and "assigns to _Arena.step" in fooled
    hidden = feedback_text(graded.course, "cheat-hide-errors")  # nbgrader reads the error from the reply
    assert "Score: 0.0 / 3.0" in hidden


def test_opening_the_feedback_runs_no_script_a_student_displayed(graded, tmp_path):
    from playwright.sync_api import sync_playwright

    page_path = graded.course / "feedback" / "attack-stderr-and-script" / "01_arena" / "01_rl_and_the_arena.html"
    assert "<script>document.title" not in page_path.read_text()
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page()
            page.goto(page_path.as_uri())
            page.wait_for_timeout(1000)
            assert page.evaluate("document.body.getAttribute('data-pwned')") is None
            assert page.title() != "pwned"
            assert page.locator("text=Score: 0.0 / 3.0").count() >= 1  # the page itself did render
        finally:
            browser.close()


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


def test_a_notebook_that_sleeps_costs_the_class_its_time_budget_and_no_more(tmp_path):
    """200 cells of time.sleep(55) would hold a class's grading for three hours. With a
    budget of 20 s for the notebook (c.SandboxedExecute.notebook_timeout; by default a few
    times the reference's time), its kernel is stopped and the class goes on: serially and
    on Ray."""
    course = make_course(tmp_path)
    with open(course / "nbgrader_config.py", "a") as config:
        config.write("\nc.SandboxedExecute.notebook_timeout = 20\n")
    for student, submission in (("sleepy", sleeper()), ("zoe", Submission("01_arena").solve())):
        submission.write(course / "submitted" / student / "01_arena" / submission.filename)
    why = ("it ran past its time budget of 20 s for the whole notebook (c.SandboxedExecute.notebook_timeout), "
           "so its kernel was stopped")
    for mode in ([], ["--workers", "2", "--force"]):
        result, seconds = grade(course, "01_arena", *mode)
        spent = re.search(r"in (\d+) s", result.stdout)
        print(f"\n{' '.join(mode) or 'serially'}: the class of 2 in {seconds:.0f} s ({result.stdout.strip()[-200:]})")
        assert not_graded(result) == {"sleepy": why}, result.stdout + result.stderr
        assert read_grades(course)[("zoe", "01_arena")] == 3.0
        assert spent and int(spent.group(1)) < 200, "the sleeping notebook was not stopped at its budget"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create a system user and delegate cgroups to it")
def test_grading_as_another_user_leaves_nothing_behind():
    """Grading as an ordinary user (the sandbox then in a user namespace, its cgroups in a
    group delegated to that user): the disk filler, who also left a folder nobody may enter,
    leaves nothing on the host, and an honest student is graded."""
    import pwd
    import shutil
    import uuid

    user = "arena-grader"
    if subprocess.run(["id", user], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user], check=True)
    uid = pwd.getpwnam(user).pw_uid
    tmp_path = Path(tempfile.mkdtemp(prefix="arena-course-of-a-user-"))  # pytest's own folder is root's alone
    tmp_path.chmod(0o755)
    course = make_course(tmp_path)
    students = forging_class()
    for student, submission in (("attack-disk", students["attack-disk"][0]), ("zoe", Submission("01_arena").solve())):
        submission.write(course / "submitted" / student / "01_arena" / submission.filename)
    delegated = f"arena-grading-test-{uuid.uuid4().hex[:6]}"
    groups = [Path("/sys/fs/cgroup") / delegated] if (Path("/sys/fs/cgroup") / "cgroup.controllers").exists() else [
        Path("/sys/fs/cgroup") / controller / delegated for controller in ("memory", "pids")]
    # The interpreter may live where only root may pass (pyenv in /root): let the user through meanwhile.
    closed = [p for p in Path(sys.base_prefix).parents if p != Path("/") and not os.stat(p).st_mode & 0o001]
    modes = {p: os.stat(p).st_mode for p in closed}
    try:
        for group in groups:
            (group / "grader").mkdir(parents=True)
            if group.parent == Path("/sys/fs/cgroup"):  # v2: let its children have the controllers
                (group / "cgroup.subtree_control").write_text("+memory +pids")
            for path in [group, *group.rglob("*")]:
                os.chown(path, uid, -1)
        for path in [tmp_path, *tmp_path.rglob("*")]:
            os.chown(path, uid, -1)
        for path in closed:
            os.chmod(path, modes[path] | 0o001)

        def into_the_delegated_group():
            for group in groups:
                (group / "grader" / "cgroup.procs").write_text(str(os.getpid()))

        temp_before = set(Path(tempfile.gettempdir()).iterdir())
        env = tool_env(ARENA_CGROUP_PARENT=delegated, HOME=str(tmp_path), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
        # runuser sets HOME from the password file (a folder that does not exist): env sets it back.
        result = subprocess.run(["runuser", "-u", user, "--", "env", f"HOME={tmp_path}", sys.executable, "-m",
                                 "arena_grading", "grade", "01_arena"],
                                cwd=course, env=env, capture_output=True, text=True, timeout=900,
                                preexec_fn=into_the_delegated_group)
    finally:
        for path in closed:
            os.chmod(path, modes[path])
        for group in groups:
            for leaf in (group / "grader", group):
                for _ in range(50):
                    try:
                        leaf.rmdir()
                        break
                    except FileNotFoundError:
                        break
                    except OSError:
                        time.sleep(0.2)
    assert result.returncode == 0, result.stdout + result.stderr
    assert read_grades(course) == {("attack-disk", "01_arena"): 0.0, ("zoe", "01_arena"): 3.0}
    assert probes(course, "attack-disk")["sockets"].endswith("OSError")
    left = [p for p in set(Path(tempfile.gettempdir()).iterdir()) - temp_before]
    shutil.rmtree(tmp_path, ignore_errors=True)
    assert not left, f"left on the host after grading as {user}: {left}"
