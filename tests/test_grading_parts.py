"""The grading sandbox, the graded run and the judge, piece by piece (quick): the real bubblewrap
sandbox and the build of arena_lib it mounts, what a graded run executes, the comparison of
answers and how the judge repeats a student's answer, feedback without hidden tests, pages
cleaned of scripts, and the one-way dependencies of arena_grading's modules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from arena_grading import sandbox
from arena_grading.judge import described, verdict
from arena_lib.answers import same


def run_in_sandbox(code: str, folder: Path, limits=sandbox.Limits(), library=None, **env):
    """Python code in the sandbox, with ``folder`` as its working folder (and ``library`` where arena_lib is)."""
    folder.chmod(0o755)
    old = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        return sandbox.run_sandboxed([sandbox.PYTHON, "-I", "-c", code], folder, limits, library=library,
                                     capture_output=True, text=True, timeout=120)
    finally:
        for name, value in old.items():
            os.environ.pop(name) if value is None else os.environ.__setitem__(name, value)


def test_the_sandbox_starts_here():
    assert sandbox.check().startswith("sandbox ok")


def test_the_sandbox_hides_everything_but_the_working_folder(tmp_path):
    secret = tmp_path / "gradebook.db"
    secret.write_text("grades")
    work = tmp_path / "autograded" / "alice" / "01_arena"
    work.mkdir(parents=True)
    (work / "notebook.ipynb").write_text("{}")
    code = (
        "import os, pathlib\n"
        f"print(sorted(os.listdir('.')), os.path.exists({str(secret)!r}), os.path.exists('../../../gradebook.db'))\n"
        "print(os.environ.get('RAY_ADDRESS'), os.environ.get('JUPYTERHUB_API_TOKEN'), os.getuid())\n"
        "print(os.environ['PATH'])\n"
        "try:\n    print(repr(open('/etc/shadow').read()))\nexcept OSError as e: print('shadow', e.errno)\n"
        "import arena_lib; print('arena_lib', arena_lib.__name__)\n"
        "try:\n    open('planted.txt', 'w')\nexcept OSError as e: print('write', e.errno)\n"
    )
    result = run_in_sandbox(code, work, RAY_ADDRESS="10.0.0.1:6379", JUPYTERHUB_API_TOKEN="token",
                            PATH="/home/instructor/secret-tools:" + os.environ["PATH"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "['notebook.ipynb'] False False"
    assert lines[1] == ("None None 65534" if os.geteuid() == 0 else f"None None {os.getuid()}")
    assert lines[2] == f"{Path(sandbox.PYTHON).parent}:/usr/local/bin:/usr/bin:/bin"  # none of the instructor's
    assert lines[3] in ("''", "shadow 13")  # /etc/shadow: empty or unreadable inside
    assert lines[4:] == ["arena_lib arena_lib", "write 30"]  # 30: read-only file system


def test_the_kernel_writes_only_to_small_in_memory_folders_and_not_its_own_memory(tmp_path):
    code = (
        "import ctypes, os\n"
        "def fill(path):\n"
        "    written = 0\n"
        "    try:\n"
        "        with open(path, 'wb') as f:\n"
        "            while written < 10**9:\n"
        "                f.write(b'x' * 10**6); written += 10**6\n"
        "    except OSError as e: return f'{written // 10**6} {e.errno}'\n"
        "print(fill('/tmp/fill'), fill('/dev/shm/fill'))\n"
        "x = bytearray(b'hello')\n"
        "try:\n"
        "    with open('/proc/self/mem', 'r+b') as mem:\n"
        "        mem.seek(ctypes.addressof((ctypes.c_char * 5).from_buffer(x))); mem.write(b'HACKD')\n"
        "except OSError as e: print('mem', e.errno)\n"
        "print(bytes(x).decode())\n"
    )
    result = run_in_sandbox(code, tmp_path, sandbox.Limits(tmp_bytes=50 * 1024**2, shm_bytes=30 * 1024**2))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["52", "28", "31", "28", "mem", "30", "hello"], result.stdout  # ENOSPC, EROFS


def test_the_memory_limit_kills_what_grows_past_it(tmp_path):
    limits = sandbox.Limits(memory_bytes=300 * 1024**2)
    result = run_in_sandbox("x = bytearray(b'x') * (600 * 1024**2); print('survived')", tmp_path, limits)
    assert result.returncode != 0 and "survived" not in result.stdout


def test_the_process_limit_stops_a_fork_loop(tmp_path):
    code = ("import subprocess\nkids = []\ntry:\n    for _ in range(500): kids.append(subprocess.Popen(['sleep', '30']))\n"
            "except OSError as e: print(len(kids), type(e).__name__)\nfor k in kids: k.kill()")
    result = run_in_sandbox(code, tmp_path, sandbox.Limits(processes=40))
    count, error = result.stdout.split()
    assert int(count) < 40 and error == "BlockingIOError"


def test_nbgrader_started_by_a_ray_task_can_interrupt_its_kernel():
    """A Ray task's thread blocks SIGINT and children inherit the mask: a kernel started so
    never sees nbgrader's interrupt, and one endless loop failed a whole notebook."""
    import signal

    from arena_grading.launch import nbgrader_child

    def blocked_signals(**kwargs):
        status = subprocess.run(["grep", "^SigBlk", "/proc/self/status"], capture_output=True, text=True, **kwargs)
        return int(status.stdout.split()[1], 16)

    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # as in a Ray task
    try:
        assert blocked_signals() & (1 << (signal.SIGINT - 1)), "the test did not block SIGINT"
        assert blocked_signals(preexec_fn=nbgrader_child) == 0
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def test_a_missing_bubblewrap_is_named_with_its_fix(monkeypatch):
    monkeypatch.setenv("ARENA_BWRAP", "/nonexistent/bwrap")
    with pytest.raises(sandbox.SandboxUnavailable, match="apt-get install bubblewrap"):
        sandbox.check()


def test_sizes_are_read_or_refused_in_words():
    assert sandbox.parse_size("2G") == 2 * 1024**3 and sandbox.parse_size("512M") == 512 * 1024**2
    with pytest.raises(ValueError, match="e.g. '2G'"):
        sandbox.parse_size("lots")


def test_answers_are_the_same_only_as_plain_equal_data():
    assert same({"a": [1.0, 2]}, {"a": [1.0 + 1e-12, 2]})
    assert not same(1, True) and not same({"a": 1}, {"a": 1, "b": 2}) and not same([1], [1, 1])
    assert not same("policy1", "policy2") and not same(8.5, 8.4)


REFERENCE = {"answers": {"seed 1": {"agent1": 8.5}, "steps": 5, "name": "policy1"}, "hint": "Add up the rewards."}
RIGHT = {"seed 1": {"agent1": 8.5}, "steps": 5, "name": "policy1"}


def report(answers, grade_id="ex1"):
    return {"grade_id": grade_id, "answers": answers, "hint": "forged hint"}


def ran(*reports, **record):
    return {"ran": True, "reports": list(reports), "error": None, **record}


def test_the_verdict_names_the_wrong_cases_and_gives_the_reference_hint():
    assert verdict(REFERENCE, ran(report(RIGHT)), "ex1") is None
    name, wrong = verdict(REFERENCE, ran(report({**RIGHT, "seed 1": {"agent1": 0.0}})), "ex1")
    assert name == "WrongAnswer" and "1 of 3 hidden cases differ" in wrong and "seed 1: your code gave" in wrong
    assert "Add up the rewards." in wrong and "forged hint" not in wrong and "8.5" not in wrong
    # A forged report beside the real one, a missing one, a report for another cell: never a pass.
    assert verdict(REFERENCE, ran(report(RIGHT), report({"seed 1": 0})), "ex1")
    assert "did not run" in verdict(REFERENCE, {"ran": False}, "ex1")[1]
    assert verdict(REFERENCE, ran(report(RIGHT, grade_id="ex2")), "ex1")
    assert "did not reach the grader whole" in verdict(REFERENCE, ran(report(RIGHT), altered=True), "ex1")[1]
    # An error while the hidden tests ran is named, never quoted; course code that is not there says so.
    assert verdict(REFERENCE, ran(error="KeyError"), "ex1")[1].startswith("While the hidden tests ran, your code raised "
                                                                            "KeyError (its message is not shown")
    assert "Write that part yourself" in verdict(REFERENCE, ran(error="WriteYourOwn"), "ex1")[1]
    # Hidden tests skipped because the self-check failed: its own error says why.
    assert verdict(REFERENCE, {"ran": False, "skipped": True}, "ex1") is None


def test_the_judge_repeats_a_students_answer_only_as_data_of_the_kind_expected():
    assert described(8.25, 8.5) == "8.25" and described(3, 5) == "3" and described("nan", 1.0) == "nan"
    assert described(True, False) == "True" and described(None, 2) == "None"
    assert described([1, 2], [1, 3]) == "[1, 2]"
    assert described({"agent1": 1.0, "agent2": -2.5}, {"agent1": 2.0, "agent2": 0.0}) == "{'agent1': 1.0, 'agent2': -2.5}"
    secret = "the hidden test: _answers = run_episode(MultiAgentArena({'ts': 40}))"
    for given, expected in [(secret, "policy1"), (secret, 3.0), ([secret], ["a"]), ({"agent1": secret}, {"agent1": 1.0}),
                            ({secret: 1}, {"agent1": 1}), (list(range(96)), list(range(1, 97))), ([secret] * 3, [1, 2, 3])]:
        shown = described(given, expected)
        assert "hidden" not in shown and "MultiAgentArena" not in shown and len(shown) < 120, shown
    assert described("policy2", "policy1") == "a different str"
    assert described(list(range(96)), list(range(1, 97))).startswith("a list of 96 items of which 96 differ, the first")


def test_feedback_shows_the_self_check_and_the_judges_words_and_no_hidden_test(tmp_path):
    """What HideHiddenTests leaves of a test cell: its visible self-check, a line that says how
    the hidden tests went, the self-check's outputs and the judge's message as the judge recorded
    it; an output that takes the judge's name without being its words is dropped."""
    import json

    from traitlets.config import Config

    from arena_grading.feedback import HideHiddenTests

    message = ["WrongAnswer", "1 of 2 hidden cases differ from the reference solution"]
    records = tmp_path / ".grading" / "students" / "01_arena" / "ann"
    records.mkdir(parents=True)
    (records / "01_rl_and_the_arena.verdicts.json").write_text(json.dumps({"ex1_tests": {
        "outcome": "wrong", "message": message}}))
    cell = nbformat.v4.new_code_cell(
        "check(run_episode)\n### BEGIN HIDDEN TESTS\nsecret_expected = run_episode(Arena({'ts': 40}))\n"
        "report_answers('ex1_tests', {'x': secret_expected})\n### END HIDDEN TESTS",
        metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": "ex1_tests", "points": 3}})
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="✔ run_episode plays a whole episode\n"),
        nbformat.v4.new_output("error", ename="WrongAnswer", evalue="0 of 2 hidden cases differ: full marks",
                               traceback=["WrongAnswer: full marks"]),
        nbformat.v4.new_output("error", ename=message[0], evalue=message[1], traceback=[": ".join(message)]),
    ]
    config = Config()
    config.CourseDirectory.root = str(tmp_path)
    nb, _ = HideHiddenTests(config=config).preprocess(nbformat.v4.new_notebook(cells=[cell]), {
        "nbgrader": {"student": "ann", "assignment": "01_arena", "notebook": "01_rl_and_the_arena"}})
    (shown,) = nb.cells
    assert "secret_expected" not in shown.source and "check(run_episode)" in shown.source
    assert "the grader's verdict is below" in shown.source
    assert [o.get("evalue", o.get("text")) for o in shown.outputs] == ["✔ run_episode plays a whole episode\n", message[1]]


def test_a_page_is_cleaned_of_everything_that_runs_or_leaves_it():
    from arena_grading.safe_html import clean_page, has_active_content

    page = ("<!DOCTYPE html><html><head><script>alert(1)</script><meta http-equiv='refresh' content='0;url=http://x'>"
            "</head><body onload='alert(2)'><a href=' jav&#x61;script:alert(3)'>a</a><a href='java\tscript:x'>b</a>"
            "<a href='data:text/html,<script>alert(4)</script>'>c</a><a href='#top'>top</a>"
            "<a href='https://docs.ray.io'>ray</a><img src='data:image/png;base64,iVBORw0KGgo=' alt='a figure'>"
            "<img src=x onerror='alert(5)'><svg><a xlink:href='javascript:alert(6)'><text>t</text></a>"
            "<animate attributeName='href' to='javascript:alert(7)'/></svg><iframe src='http://x'></iframe>"
            "<form action='http://x'><input></form><p style='color: red'>kept</p></body></html>")
    cleaned = clean_page(page)
    for active in ("<script", "onload", "onerror", "javascript", "data:text", "<iframe", "<form", "<animate",
                   "http-equiv", "java\tscript", "alert(3)"):
        assert active not in cleaned, active
    for kept in ("href=\"#top\"", "https://docs.ray.io", "data:image/png;base64,iVBORw0KGgo=", "kept", "a figure"):
        assert kept in cleaned, kept
    assert cleaned.startswith("<!DOCTYPE html>")
    assert has_active_content("<a href='javascript:x'>x</a>") and not has_active_content("<b>bold</b> <a href='#a'>a</a>")


def test_the_grading_kernel_is_installed_and_refuses_to_serve_jupyterlab(tmp_path):
    result = subprocess.run([sys.executable, "-m", "jupyter", "kernelspec", "list"], capture_output=True, text=True)
    assert "arena-grading" in result.stdout, "make setup installs it: python -m arena_grading install-kernel"
    # Picked in JupyterLab (TCP, not nbgrader's Unix sockets) it says so instead of hanging.
    connection = tmp_path / "kernel.json"
    connection.write_text('{"transport": "tcp", "ip": "127.0.0.1"}')
    result = subprocess.run([sandbox.PYTHON, "-I", "-m", "arena_grading.sandbox", "-f", str(connection)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "for nbgrader's grading only" in result.stderr


def test_grading_tools_start_quickly():
    """nbgrader loads arena_grading for every command: it must not load RLlib."""
    code = ("import sys, arena_grading.judge, arena_grading.feedback, arena_grading.execute, arena_grading.reference; "
            "print('ray' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_the_configured_limits_reach_the_kernel_and_its_end_is_reported(tmp_path):
    """c.SandboxedExecute.memory_limit in nbgrader_config.py is what the kernel gets, and the
    sandbox writes how the kernel ended where the grader (not the kernel) can read it."""
    from nbclient.exceptions import DeadKernelError
    from traitlets.config import Config

    from arena_grading.execute import SandboxedExecute

    config = Config()
    config.SandboxedExecute.memory_limit = "300M"
    config.CourseDirectory.root = str(tmp_path)
    work = tmp_path / "autograded" / "ann" / "01_arena"
    work.mkdir(parents=True)
    for folder in (tmp_path, tmp_path / "autograded", work.parent, work):
        folder.chmod(0o755)
    exercise = nbformat.v4.new_code_cell("x = bytearray(b'x') * (600 * 1024**2)", metadata={"nbgrader": {
        "solution": True, "grade": False, "grade_id": "ex", "locked": False}})
    nb = nbformat.v4.new_notebook(cells=[exercise])
    resources = {"metadata": {"path": str(work)}, "arena_source": nb, "nbgrader": {
        "student": "ann", "assignment": "01_arena", "notebook": "01_rl_and_the_arena"}}
    with pytest.raises(DeadKernelError):
        SandboxedExecute(config=config, timeout=60).preprocess(nb, resources)
    (report,) = (tmp_path / ".grading" / "students" / "01_arena" / "ann").glob("*.kernel.json")
    ended = json.loads(report.read_text())
    assert ended["oom_kills"] >= 1 and ended["memory_limit_bytes"] == 300 * 1024**2, ended


def test_the_grade_command_documents_every_option_and_refuses_bad_ones():
    def run(*args):
        return subprocess.run([sys.executable, "-m", "arena_grading", *args], capture_output=True, text=True)

    shown = " ".join(run("grade", "--help").stdout.split())
    for option in ("--workers N grade N submissions", "--ray-address ADDR grade on the running Ray cluster",
                   "--student ID only this student", "--force regrade", "--unsafe-no-sandbox run student code",
                   "--retries N with --workers", "exits 1 if anyone was not graded"):
        assert option in shown, f"grade --help does not explain {option.split()[0]}:\n{shown}"
    refused = run("grade", "01_arena", "--workers", "0")
    assert refused.returncode == 2 and "must be at least 1, got 0" in refused.stderr
    refused = run("grade", "01_arena", "--workers", "2", "--ray-address", "host:6379")
    assert refused.returncode == 2 and "not allowed with argument" in refused.stderr
    refused = run("grade", "01_arena", "--retries", "-1")
    assert refused.returncode == 2 and "must be 0 or more" in refused.stderr


def test_the_grading_build_of_arena_lib_has_no_code_that_computes_answers(tmp_path):
    """In the build for 01, each function of WRITE_YOUR_OWN raises WriteYourOwn, in the file
    itself; everything else is as it was, line for line, and imports."""
    from arena_grading.library import build
    from arena_grading.sandbox import library_path

    built = build("01_arena", tmp_path)
    real = library_path()
    stubbed = (built / "rollout.py").read_text().splitlines()
    original = (real / "rollout.py").read_text().splitlines()
    assert stubbed[:len(original)] != original and len(stubbed) >= len(original)
    assert [n for n, (a, b) in enumerate(zip(original, stubbed)) if a != b][0] > 20  # the top of the file is untouched
    assert (built / "env.py").read_text() == (real / "env.py").read_text()
    code = ("from arena_lib import MultiAgentArena, RandomPolicy, rollout\n"
            "from arena_lib.exercises import WriteYourOwn\n"
            "try:\n    rollout(MultiAgentArena(), {'agent1': RandomPolicy(1), 'agent2': RandomPolicy(2)})\n"
            "except WriteYourOwn as refused:\n    print('refused:', refused)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(tmp_path)}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refused: uses arena_lib's rollout: it plays the episode for you"), done.stdout


def test_the_sandbox_mounts_the_build_where_arena_lib_is(tmp_path):
    """Inside the sandbox there is no other arena_lib: its files, reached any way, are the build's."""
    from arena_grading.library import build

    work = tmp_path / "work"
    work.mkdir()
    built = build("01_arena", tmp_path / "build-parent")
    code = ("import pathlib, arena_lib, arena_lib.rollout\n"
            "print('WriteYourOwn' in (pathlib.Path(arena_lib.__file__).parent / 'rollout.py').read_text())\n"
            "print(sorted(p.name for p in pathlib.Path(arena_lib.__file__).parent.glob('*.pyc')))\n"
            "import sys; print(sys.modules['arena_lib.rollout'].rollout.__code__.co_names)\n")
    result = run_in_sandbox(code, work, library=built)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "True" and lines[1] == "[]" and "_WriteYourOwn" in lines[2], lines


def test_a_graded_run_executes_the_exercise_and_test_cells_and_the_hidden_tests_last():
    """Built from the source notebook: the student's exercise cells, the instructor's test cells
    (a deleted one put back), nothing a student added or edited elsewhere, hidden tests at the end."""
    from arena_grading.cells import EXERCISE, HIDDEN_TESTS, SELF_CHECK
    from arena_grading.execute import plan

    def cell(source, **nbgrader):
        made = nbformat.v4.new_code_cell(source)
        if nbgrader:
            made.metadata["nbgrader"] = nbgrader
        return made

    source = nbformat.v4.new_notebook(cells=[
        cell("import os  # setup"),
        cell("def f(): ...", solution=True, grade=False, grade_id="ex1"),
        cell("check(f)\n### BEGIN HIDDEN TESTS\nreport(f(1))\n### END HIDDEN TESTS", grade=True, solution=False,
             grade_id="ex1_tests", points=1),
        cell("def g(): ...", solution=True, grade=False, grade_id="ex2"),
        cell("check(g)\n### BEGIN HIDDEN TESTS\nreport(g(2))\n### END HIDDEN TESTS", grade=True, solution=False,
             grade_id="ex2_tests", points=1),
    ])
    student = nbformat.v4.new_notebook(cells=[
        cell("print('my own setup')"),
        cell("def g(): return 2", solution=True, grade=False, grade_id="ex2"),
        cell("def f(): return 1", solution=True, grade=False, grade_id="ex1"),
        cell("check(f)", grade=True, solution=False, grade_id="ex1_tests", points=1),
        cell("import os; os.system('echo added')"),
    ])
    run = plan(source, student)
    assert [(step.kind, step.grade_id) for step, _, _ in run] == [
        (EXERCISE, "ex1"), (SELF_CHECK, "ex1_tests"), (EXERCISE, "ex2"), (SELF_CHECK, "ex2_tests"),
        (HIDDEN_TESTS, "ex1_tests"), (HIDDEN_TESTS, "ex2_tests")]
    assert [runner.source for _, runner, _ in run] == [
        "def f(): return 1", "check(f)\n", "def g(): return 2", "check(g)\n", "\nreport(f(1))\n", "\nreport(g(2))\n"]
    assert [shown is None for _, _, shown in run] == [False, False, False, False, True, True]
    restored = [c for c in student.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex2_tests"]
    assert len(restored) == 1 and student.cells.index(restored[0]) == 2  # after the student's ex2 cell


def test_the_modules_of_arena_grading_depend_one_way():
    """No import cycle between arena_grading's modules (imports inside functions included), and
    arena_lib imports nothing of arena_grading."""
    import ast

    from tests.notebook_tools import ROOT

    modules = {p.stem: p for p in (ROOT / "arena_grading").glob("*.py")}
    imports = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "arena_grading":
                    found |= {alias.name for alias in node.names if alias.name in modules}
                elif node.module.startswith("arena_grading."):
                    found.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("arena_grading.")}
        imports[name] = found - {name, "__init__"}

    def cycle_from(start, path):
        for following in sorted(imports.get(path[-1], ())):
            if following == start:
                return [*path, start]
            if following not in path:
                found = cycle_from(start, [*path, following])
                if found:
                    return found
        return None

    for name in sorted(imports):
        cycle = cycle_from(name, [name])
        assert cycle is None, f"arena_grading's modules import each other: {' -> '.join(cycle)}"
    for path in (ROOT / "arena_lib").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [
                a.name for a in node.names] if isinstance(node, ast.Import) else []
            assert not any(n.startswith("arena_grading") for n in names), f"{path} imports arena_grading"
