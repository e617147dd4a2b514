"""Grades an instructor can trust: the cheaters of the grading test class, graded by `python -m
arena_grading grade` with real nbgrader and the real sandbox between honest students
(grading_run.py). Each cheater passes its visible self-check (a real cheater can: the self-check's
case shows in its own messages), so that each reaches the hidden tests: tricks on the kernel,
spellings of the course's code that would compute the answers, forged reports, attacks on the
grader and the instructor. Then: one of them again without the sandbox, to show the holes these
tests would catch; a notebook that sleeps; grading as an ordinary user."""

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
from tests.grading_run import SECRET, WAITS_FOR_THE_CLASS, grade, not_graded, read_grades
from tests.notebook_tools import hidden_test_lines, make_course, read, tool_env
from tests.submissions import (
    ATTACKS,
    CLASSMATES_NAMED,
    FORGES,
    HONEST_RUN_EPISODES,
    SPELLINGS,
    TRICKS,
    Submission,
    attacking_class,
    cheating_class,
    sleeper,
)

pytestmark = [pytest.mark.slow, WAITS_FOR_THE_CLASS]


def probes(course, student) -> dict:
    """What the student's probes printed, read from the graded notebook (instructor side)."""
    nb = read(course / "autograded" / student / "01_arena" / "01_rl_and_the_arena.ipynb")
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    return dict(re.findall(r"^PROBE (\w+): (.*)$", text, flags=re.M))


def feedback_page(course, student) -> str:
    return (course / "feedback" / student / "01_arena" / "01_rl_and_the_arena.html").read_text()


def feedback_text(course, student) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", feedback_page(course, student)))


def verdict_of(course, student) -> dict:
    """What the judge recorded of exercise 1's test cell for a student."""
    import json

    path = course / ".grading" / "students" / "01_arena" / student / "01_rl_and_the_arena.verdicts.json"
    return json.loads(path.read_text())["ex1_run_episode_tests"]


NEVER_GRADED = {"cheat-memory", "attack-flood-big", "attack-huge"}
# By design these cannot pass their self-check: the attack is in what the self-check shows, or
# IPython refuses the cell (more than 500 magics) and the student is graded, with 0.
FAIL_THEIR_SELF_CHECK = {"attack-classmates", "attack-magics"}


def cheaters(graded) -> list[str]:
    return sorted(s for s in graded.classes["01_arena"] if s.startswith(("cheat-", "attack-", "forge-", "spelling-"))
                  or s == "mallory")


def test_every_cheater_reached_the_hidden_tests_and_got_no_points(graded, graded_tables):
    """Each passed its visible self-check and its hidden tests ran (what the judge recorded)
    before it got 0; the honest students graded after them kept their grade."""
    for course, students in ((graded.course, cheaters(graded)), (graded_tables.course, cheaters(graded_tables))):
        grades = read_grades(course)
        for student in students:
            assert grades[(student, "01_arena")] == 0.0, student
            if student in NEVER_GRADED or student in FAIL_THEIR_SELF_CHECK:
                continue
            found = verdict_of(course, student)
            assert found["outcome"] != "error", f"{student} did not pass its self-check: {found}"
            assert found["hidden ran"] and not found["hidden skipped"], f"{student}: the hidden tests did not run"
    assert len(cheaters(graded)) == len(TRICKS) + len(ATTACKS) + 3
    assert len(cheaters(graded_tables)) == len(FORGES) + len(SPELLINGS)
    assert read_grades(graded.course)[("zoe", "01_arena")] == 3.0  # graded after every cheater


def test_course_code_spelled_any_way_is_not_there_while_grading(graded_tables):
    """Each spelling reaches the course's code that would compute the answers (with the real
    library it earns full marks: tests/test_exercises.py); graded, that code raises WriteYourOwn."""
    for name in SPELLINGS:
        found = verdict_of(graded_tables.course, f"spelling-{name}")
        assert found["hidden error"] == "WriteYourOwn", (name, found)
        assert "course code that computes this exercise's answer" in found["message"][1]
        assert "Write that part yourself" in feedback_text(graded_tables.course, f"spelling-{name}")


def test_a_forged_report_carries_only_what_the_students_code_computed(graded_tables):
    """Each forge delivered its report to the judge (it was read and compared), but the right
    answers it wanted to put in it had to come from the course's code, which is not there."""
    for name in FORGES:
        found = verdict_of(graded_tables.course, f"forge-{name}")
        assert found["outcome"] == "wrong", (name, found)
        assert "hidden cases differ from the reference solution" in found["message"][1], (name, found)


def test_honest_answers_in_every_style_get_full_marks_and_no_flag(graded_tables):
    grades = read_grades(graded_tables.course)
    honest = [f"honest-{name}" for name in HONEST_RUN_EPISODES]
    assert len(honest) >= 20
    assert {s: grades[(s, "01_arena")] for s in honest} == dict.fromkeys(honest, 3.0)
    with Gradebook(f"sqlite:///{graded_tables.course / 'gradebook.db'}", "hands-on-rllib") as gb:
        for submission in gb.assignment_submissions("01_arena"):
            if submission.student_id in honest:
                (notebook,) = submission.notebooks
                assert not notebook.flagged and not any(g.needs_manual_grade for g in notebook.grades)
    result, _ = graded_tables.runs["01_arena"]
    assert not any(s in result.stderr for s in honest), result.stderr


def test_who_is_not_graded_and_why(graded):
    result, _ = graded.runs["01_arena"]
    assert result.returncode == 1
    listed = not_graded(result)
    assert re.fullmatch(r"its submission is 19\.\d MiB, more than the 5\.0 MiB allowed \(c\.SubmissionLimits\.max_size\)"
                        r", so nbgrader did not read it", listed.pop("attack-huge", "")), result.stderr
    assert listed == {
        "cheat-memory": "the kernel reached its memory limit (2.0 GiB) and was killed",
        "attack-flood-big": "it sent a single output message larger than 33,554,432 bytes "
                            "(c.SandboxedExecute.message_bytes_limit), so its kernel was stopped"}
    assert result.stderr.count("attack-flood-big") == 1


def test_floods_of_output_and_errors_leave_the_grader_small_and_the_files_small(graded):
    """attack-flood-small printed 1 GB in 1-MB messages, attack-error-flood 300 errors of 50 kB,
    attack-huge sent 20 MB: each kept small, the grader's peak memory under 0.5 GB, and no
    feedback file over 2 MB."""
    for student, note in (("attack-flood-small", "The grader kept no more of this output"),
                          ("attack-error-flood", "The grader kept only the first error of this cell")):
        autograded = graded.course / "autograded" / student / "01_arena" / "01_rl_and_the_arena.ipynb"
        assert autograded.stat().st_size < 2e6, student
        assert note in autograded.read_text(), student
    for page in (graded.course / "feedback").glob("*/01_arena/*.html"):
        assert page.stat().st_size < 2e6, f"{page} is {page.stat().st_size / 1e6:.1f} MB"
    peak = graded.grader_peaks["01_arena"]
    if peak is not None:
        print(f"\nthe grader's processes peaked at {peak / 1e9:.2f} GB while grading 01 with floods of output")
        assert peak < 0.5e9, f"the grader held {peak / 1e9:.2f} GB"


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


def test_no_page_shows_a_hidden_test_or_runs_a_script(graded, graded_tables):
    """Every feedback page of both classes: no line of a hidden test (as it is, or prefixed, escaped,
    joined or encoded by the student's code), no script, event handler or javascript:/data: link."""
    import base64

    from bs4 import BeautifulSoup

    hidden = hidden_test_lines()
    assert len(hidden) > 10
    encoded = base64.b64encode("_RecordingOutput".encode()).decode()[:16]
    pages = [p for g in (graded, graded_tables) for p in (g.course / "feedback").glob("*/01_arena/*.html")]
    assert len(pages) >= 60
    for page in pages:
        student = page.parts[-3]
        raw = page.read_text()
        text = html.unescape(re.sub(r"<[^>]+>", "", raw))
        shown = {line.strip() for line in text.splitlines()} & hidden
        assert not shown, f"{student}'s feedback shows hidden test lines: {sorted(shown)[:3]}"
        for telltale in ("_RecordingOutput", "_early = EarlyEndArena", "_policies(seed", "_answers[", encoded):
            assert telltale not in raw, f"{student}'s feedback shows {telltale!r}"
        soup = BeautifulSoup(raw, "html.parser")
        assert not soup.find_all("script"), f"{student}'s feedback has a script"
        handlers = [a for tag in soup.find_all(True) for a in tag.attrs if a.lower().startswith("on")]
        assert not handlers, f"{student}'s feedback has event handlers {handlers}"
        links = [tag.get(a) for tag in soup.find_all(True) for a in ("href", "src", "action") if tag.get(a)]
        assert not [u for u in links if re.match(r"\s*(javascript|vbscript):", u, re.I) or
                    (u.strip().lower().startswith("data:") and not u.startswith("data:image/"))], (student, links)


def test_feedback_says_in_words_what_was_wrong(graded):
    wrong = feedback_text(graded.course, "ivan")  # passes the self-check, not the hidden cases
    assert "Score: 0.0 / 3.0" in wrong and "hidden cases differ from the reference solution" in wrong
    assert "Add up every step's reward per agent" in wrong  # the hint
    assert "the grader's verdict is below" in wrong
    assert "(answers of" not in wrong  # the report to the grader is not shown
    named = feedback_text(graded.course, "attack-judge-named")  # its own errors are named as its own
    assert "WrongAnswer (raised by your code)" in named and "full marks" not in named.split("Hidden tests")[-1]
    right = feedback_text(graded.course, "alice")
    assert "your answers to them were right" in right and "/work/" not in right


def test_opening_the_feedback_runs_no_script_a_student_displayed(graded, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            for student in ("attack-stderr-and-script", "attack-links"):
                page_path = graded.course / "feedback" / student / "01_arena" / "01_rl_and_the_arena.html"
                page = browser.new_page()
                page.goto(page_path.as_uri())
                for link in page.locator("a").all():
                    if link.is_visible() and "click me" in link.inner_text():
                        link.click()
                page.wait_for_timeout(500)
                assert page.evaluate("document.body.getAttribute('data-pwned')") is None, student
                assert page.title() != "pwned"
                assert page.locator("text=Score: 0.0 / 3.0").count() >= 1  # the page itself did render
                page.close()
        finally:
            browser.close()


def test_the_anonymized_report_names_no_classmate_in_a_students_words(graded):
    """attack-classmates' error message names two classmates: in the anonymized report each is
    "[a student]", never their pseudonym (which the page would otherwise tie to a real name)."""
    done = subprocess.run([sys.executable, "-m", "arena_grading", "report", "01_arena", "--anonymize"],
                          cwd=graded.course, env=tool_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    page = (graded.course / "reports" / "01_arena" / "report.html").read_text()
    assert "classmates: [a student] [a student]" in html.unescape(page), "the message is quoted, scrubbed"
    for name in CLASSMATES_NAMED.split():
        assert not re.search(rf"\b{name}\b", page)


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
    """An exercise cell that sleeps for minutes would hold a class's grading. With a
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


def owner_of(path: Path) -> int | None:
    try:
        return path.lstat().st_uid
    except FileNotFoundError:  # gone already
        return None


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
    students = attacking_class()
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
    # What that user made (other processes of this machine may come and go in /tmp meanwhile).
    left = [p for p in set(Path(tempfile.gettempdir()).iterdir()) - temp_before if owner_of(p) == uid]
    shutil.rmtree(tmp_path, ignore_errors=True)
    assert not left, f"left on the host after grading as {user}: {left}"
