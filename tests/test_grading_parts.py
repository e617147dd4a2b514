"""The grading sandbox and judge, piece by piece (quick): the real bubblewrap sandbox,
the comparison of answers, and feedback without hidden tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from arena_grading import sandbox
from arena_grading.feedback import REDACTED, HideHiddenTests
from arena_grading.judge import verdict
from arena_lib.answers import ANSWERS_MIME, same


def run_in_sandbox(code: str, folder: Path, limits=sandbox.Limits(), **env):
    """Python code in the sandbox, with ``folder`` as its working folder."""
    folder.chmod(0o755)
    old = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        return sandbox.run_sandboxed([sandbox.PYTHON, "-I", "-c", code], folder, limits,
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

    from arena_grading.parallel import nbgrader_child

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


REFERENCE = {"answers": {"seed 1": {"agent1": 8.5}, "steps": 5}, "hint": "Add up the rewards."}


def report(answers, grade_id="ex1"):
    return {"grade_id": grade_id, "answers": answers, "hint": "forged hint"}


def test_the_verdict_names_the_wrong_cases_and_gives_the_reference_hint():
    assert verdict(REFERENCE, [report({"seed 1": {"agent1": 8.5}, "steps": 5})], "ex1") is None
    wrong = verdict(REFERENCE, [report({"seed 1": {"agent1": 0.0}, "steps": 5})], "ex1")
    assert "1 of 2 hidden cases differ" in wrong and "seed 1: your code gave" in wrong
    assert "Add up the rewards." in wrong and "forged hint" not in wrong and "8.5" not in wrong
    # A forged report beside the real one, a missing one, a report for another cell: never a pass.
    assert verdict(REFERENCE, [report({"seed 1": {"agent1": 8.5}, "steps": 5}), report({"seed 1": 0})], "ex1")
    assert "did not run to their end" in verdict(REFERENCE, [], "ex1")
    assert verdict(REFERENCE, [report({"seed 1": {"agent1": 8.5}, "steps": 5}, grade_id="ex2")], "ex1")


def test_feedback_drops_hidden_tests_answers_and_every_hidden_line():
    test_cell = nbformat.v4.new_code_cell(
        "check(run_episode)\n### BEGIN HIDDEN TESTS\nsecret_expected = run_episode(Arena({'ts': 40}))\n"
        "report_answers('ex1', {'x': secret_expected})\n### END HIDDEN TESTS",
        metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": "ex1", "points": 3}})
    test_cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="hello\nsecret_expected = run_episode(Arena({'ts': 40}))\n"),
        nbformat.v4.new_output("display_data", data={ANSWERS_MIME: {"grade_id": "ex1"}, "text/plain": "(answers)"}),
        nbformat.v4.new_output("error", ename="AssertionError", evalue="wrong", traceback=[
            "\x1b[0;32m----> 3\x1b[0m secret_expected = run_episode(Arena({'ts': 40}))", "AssertionError: wrong"]),
    ]
    later = nbformat.v4.new_code_cell("print(In)")
    later.outputs = [nbformat.v4.new_output("stream", name="stdout", text="report_answers('ex1', {'x': secret_expected})")]
    nb = nbformat.v4.new_notebook(cells=[test_cell, later])
    nb, _ = HideHiddenTests().preprocess(nb, {})
    assert "secret_expected" not in nb.cells[0].source and "check(run_episode)" in nb.cells[0].source
    assert [o.output_type for o in nb.cells[0].outputs] == ["stream", "error"]
    assert nb.cells[0].outputs[0].text == f"hello\n{REDACTED}\n"
    assert nb.cells[0].outputs[1].traceback == [REDACTED, "AssertionError: wrong"]
    assert nb.cells[1].outputs[0].text == REDACTED


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
    code = "import sys, arena_grading.judge, arena_grading.feedback, arena_grading.execute; print('ray' in sys.modules)"
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
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = bytearray(b'x') * (600 * 1024**2)")])
    resources = {"metadata": {"path": str(work)}, "nbgrader": {"student": "ann", "assignment": "01_arena",
                                                                "notebook": "01_rl_and_the_arena"}}
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
                   "--retries N with --workers", "exits 1 if there is anyone in either list"):
        assert option in shown, f"grade --help does not explain {option.split()[0]}:\n{shown}"
    refused = run("grade", "01_arena", "--workers", "0")
    assert refused.returncode == 2 and "must be at least 1, got 0" in refused.stderr
    refused = run("grade", "01_arena", "--workers", "2", "--ray-address", "host:6379")
    assert refused.returncode == 2 and "not allowed with argument" in refused.stderr
    refused = run("grade", "01_arena", "--retries", "-1")
    assert refused.returncode == 2 and "must be 0 or more" in refused.stderr
