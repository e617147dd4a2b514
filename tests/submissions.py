"""Student submissions for the grading tests, built from the committed student
notebooks the way students change them: solving, breaking, tampering."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from tests.known_mistakes import MISTAKES
from tests.notebook_tools import ROOT, read, solution_source


def student_notebook(assignment: str):
    (path,) = (ROOT / "notebooks" / assignment).glob("*.ipynb")
    return path.name, read(path)


def exercise_ids(nb) -> list[str]:
    """The grade ids of a notebook's exercise (solution) cells."""
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]


def _index(nb, grade_id: str) -> int:
    for index, cell in enumerate(nb.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return index
    raise KeyError(f"no cell with grade_id {grade_id!r}")


class Submission:
    """A student's copy of an assignment's notebook, changed step by step."""

    def __init__(self, assignment: str):
        self.assignment = assignment
        self.filename, self.nb = student_notebook(assignment)
        self.nb = copy.deepcopy(self.nb)

    def solve(self, *grade_ids: str) -> "Submission":
        """Write the reference solution into these exercise cells (all if none named)."""
        for grade_id in grade_ids or exercise_ids(self.nb):
            self.nb.cells[_index(self.nb, grade_id)].source = solution_source(self.assignment, grade_id)
        return self

    def replace(self, grade_id: str, source: str) -> "Submission":
        self.nb.cells[_index(self.nb, grade_id)].source = source
        return self

    def delete(self, grade_id: str) -> "Submission":
        del self.nb.cells[_index(self.nb, grade_id)]
        return self

    def delete_cells_containing(self, text: str) -> "Submission":
        self.nb.cells = [c for c in self.nb.cells if text not in c.source]
        return self

    def add_cell_after(self, grade_id: str, source: str) -> "Submission":
        cell = nbformat.v4.new_code_cell(source)
        cell.id = f"student-added-{len(self.nb.cells)}"
        self.nb.cells.insert(_index(self.nb, grade_id) + 1, cell)
        return self

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(self.nb, path)
        return path


# Each class: student -> (submission, expected points). The exercises:
# 01_arena: ex1_run_episode (3); 04_evaluation: ex4_greedy_action (2), ex4_mean_returns (2).
def arena_class() -> dict:
    a = "01_arena"
    return {
        "alice": (Submission(a).solve(), 3),  # the reference solution
        "bob": (Submission(a), 0),  # the untouched student version
        "carol": (Submission(a).replace("ex1_run_episode", "def run_episode(env, policies, out=None, delay=0.0):\n"
                                        "    raise ValueError('I give up')"), 0),
        # Writes `assert True` over the locked test; nbgrader restores the test.
        "erin": (Submission(a).replace("ex1_run_episode_tests", "assert True"), 0),
        # Deletes the locked test cell, even of a right solution: nbgrader does not
        # put a deleted test back, so its points are lost.
        "frank": (Submission(a).solve().delete("ex1_run_episode_tests"), 0),
        # Plays 12 steps, the self-check's episode, whatever the env says: ✔, and wrong on the hidden cases.
        "ivan": (Submission(a).solve().replace("ex1_run_episode", solution_source(a, "ex1_run_episode").replace(
            "    while True:\n", "    for _ in range(12):\n").replace(
            "            return totals", "            return totals\n    return totals")), 0),
    }


def mistakes_class() -> dict:
    """01_arena: one student per known mistake of tests/known_mistakes.py, for the class report
    (their counts are known): ``mistaken-1`` makes the first mistake of the table, and so on."""
    a = "01_arena"
    reference = solution_source(a, "ex1_run_episode")
    return {f"mistaken-{number}": (Submission(a).solve().replace("ex1_run_episode", mistake.apply(reference)), 0)
            for number, mistake in enumerate(MISTAKES[(a, "ex1_run_episode")], start=1)}


def evaluation_class() -> dict:
    a = "04_evaluation"
    return {
        "alice": (Submission(a).solve(), 4),
        # Partial: the greedy action is right, the evaluation loop is left undone;
        # and never stops Ray: grading must not leave it behind.
        "henry": (Submission(a).solve("ex4_greedy_action").delete_cells_containing("ray.shutdown()"), 2),
        # An endless loop in one exercise: the cell timeout stops it, the rest is graded.
        "dave": (Submission(a).solve("ex4_mean_returns").replace(
            "ex4_greedy_action", "def greedy_action(module, obs, observation_space):\n    while True:\n        pass"), 2),
        # The kernel dies while Ray runs: nbgrader cannot grade this notebook.
        "grace": (Submission(a).solve().add_cell_after("ex4_greedy_action", "import os\nos._exit(1)"), 0),
    }


# A wrong answer that looks right: plays the whole episode, prints every board,
# but never adds up the rewards (all totals 0).
WRONG_RUN_EPISODE = '''import time

from IPython.display import clear_output


def run_episode(env, policies, out=None, delay=0.0):
    obs, infos = env.reset()
    while True:
        actions = {agent: policies[agent].compute_action(agent_obs) for agent, agent_obs in obs.items()}
        obs, rewards, terminateds, truncateds, infos = env.step(actions)
        if out is not None:
            with out:
                clear_output(wait=True)
                print(env.render())
        if terminateds["__all__"] or truncateds["__all__"]:
            return {"agent1": 0.0, "agent2": 0.0}
'''

# Each trick, written into the exercise cell after the wrong answer.
TRICKS = {
    # Makes the old in-kernel comparisons (abs, all, set) say yes.
    "builtins": '''
import builtins
builtins.abs = lambda x: 0.0
builtins.all = lambda *args: True
builtins.any = lambda *args: True
builtins.set = lambda *args: {"agent1", "agent2"}
''',
    # Every env now gives 0 rewards, so the zero totals agree with the library's rollout;
    # the self-check is replaced by one that always prints its ✔.
    "monkeypatch": '''
import arena_lib.exercises.arena
import arena_lib.rollout
from arena_lib.env import MultiAgentArena as _Arena

_real_step = _Arena.step


def _no_rewards(self, actions):
    obs, rewards, terminateds, truncateds, infos = _real_step(self, actions)
    return obs, {agent: 0.0 for agent in rewards}, terminateds, truncateds, infos


_Arena.step = _no_rewards
arena_lib.exercises.arena.check_run_episode = lambda f: print(
    "✔ run_episode plays a whole episode and adds up each agent's rewards.")  # a fake ✔
arena_lib.exercises.arena.rollout = arena_lib.rollout.rollout
''',
    # Errors neither shown nor reported: custom exception handler, excepthook, no traceback.
    "hide_errors": '''
import sys
from IPython import get_ipython
sys.excepthook = lambda *args: None
get_ipython().set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)
get_ipython().showtraceback = lambda *args, **kwargs: None
''',
    # Rewrites every later cell that tests the exercise into `pass`: no test runs, no error
    # shows, and stock nbgrader gives full points.
    "transformer": '''
from IPython import get_ipython


def _skip_tests(lines):
    return ["pass\\n"] if "check_run_episode" in "".join(lines) else lines


get_ipython().input_transformers_post.append(_skip_tests)
''',
    # Prints the source of every later cell (the hidden tests too) into the feedback.
    "leak_tests": '''
from IPython import get_ipython
get_ipython().events.register("pre_run_cell", lambda info: print(info.raw_cell))
''',
    # What the kernel can reach, each line saying what it got or the error's name; last,
    # full marks written into the gradebook (three folders up from autograded/<student>/<assignment>/).
    "probe": '''
import glob
import os
import socket
import sqlite3


def _probe(name, action):
    try:
        print(f"PROBE {name}: {action()}")
    except Exception as error:
        print(f"PROBE {name}: {type(error).__name__}")


_probe("solutions", lambda: "###" in open("../../../solutions/01_arena/01_rl_and_the_arena.ipynb").read())
_probe("submissions", lambda: len(glob.glob("../../../submitted/*/01_arena/*.ipynb")))
_probe("gradebook", lambda: os.path.exists("../../../gradebook.db"))
_probe("socket", lambda: socket.create_connection(("127.0.0.1", {port}), timeout=5).recv(64).decode())
_probe("secret", lambda: os.environ.get("ARENA_TEST_SECRET"))
_probe("write", lambda: open("planted.txt", "w").write("x"))
_probe("user", lambda: os.getuid())


def _full_marks():
    db = sqlite3.connect("file:../../../gradebook.db?mode=rw", uri=True)
    db.execute("UPDATE grade SET manual_score = 3.0 WHERE notebook_id IN (SELECT n.id FROM submitted_notebook n "
               "JOIN submitted_assignment a ON n.assignment_id = a.id WHERE a.student_id = 'mallory')")
    db.commit()
    return "written"


_probe("gradebook_write", _full_marks)
''',
    # Many small processes (a plain fork of the kernel would hit the memory limit first).
    "fork": '''
import subprocess

_children, _error = [], None
for _ in range(3000):
    try:
        _children.append(subprocess.Popen(["sleep", "60"]))
    except OSError as error:
        _error = type(error).__name__
        break
print(f"PROBE fork: {len(_children)} {_error}")
for _child in _children:
    _child.kill()
    _child.wait()
''',
    # Memory until something stops it (8 GB at most, touched page by page).
    "memory": '''
_chunks = [bytearray(b"x") * (100 * 1024**2) for _ in range(80)]
print(f"PROBE memory: survived with {len(_chunks) / 10:.1f} GB")
''',
}


def cheating_class(port: int, tricks=TRICKS) -> dict:
    """01_arena: cheaters, each with a wrong answer plus one trick; zoe, honest, is graded
    after all of them. (No underscores in ids: LMS file names use them as separators.)"""
    a = "01_arena"
    students = {("mallory" if trick == "probe" else f"cheat-{trick.replace('_', '-')}"): (
        Submission(a).replace("ex1_run_episode", WRONG_RUN_EPISODE + TRICKS[trick].replace("{port}", str(port))), 0)
        for trick in tricks}
    students["zoe"] = (Submission(a).solve(), 3)
    return students


# Ways to forge what the hidden tests report, each written after WRONG_RUN_EPISODE in the
# exercise cell. Each wraps the wrong run_episode so that it also computes the right totals
# (with the library's rollout, which plays the same episode) and remembers them by the id of
# the wrong dict it returns; then each swaps them in before the report reaches the grader.
_FORGE_SETUP = '''
import copy
from arena_lib.rollout import rollout as _rollout

_right = {}
_wrong_run_episode = run_episode


def run_episode(env, policies, out=None, delay=0.0):
    right = _rollout(copy.deepcopy(env), copy.deepcopy(policies)).returns
    wrong = _wrong_run_episode(env, policies, out, delay)
    _right[id(wrong)] = right
    return wrong
'''
_FORGED_REPORT = '''
from arena_lib.answers import report_answers as _real_report


def _forged(grade_id, answers, hint=""):
    _real_report(grade_id, {case: _right.get(id(value), value) for case, value in answers.items()}, hint)
'''
_SWAP_IN_FRAME = '''
    if frame.f_code.co_name == "report_answers" and "answers" in frame.f_locals:
        answers = frame.f_locals["answers"]
        for case, value in list(answers.items()):
            answers[case] = _right.get(id(value), value)
'''
FORGES = {
    # Rebinds the reporting function in its module.
    "rebind": _FORGE_SETUP + _FORGED_REPORT + '''
import arena_lib.answers
arena_lib.answers.report_answers = _forged
''',
    # A trace function edits the answers in report_answers' frame as it is called.
    "trace": _FORGE_SETUP + '''
import sys


def _tracer(frame, event, arg):
    if event == "call":''' + _SWAP_IN_FRAME.replace("\n    ", "\n        ") + '''
    return None


sys.settrace(_tracer)
''',
    # A profile hook does the same, with nothing rebound.
    "profile": _FORGE_SETUP + '''
import sys


def _profiler(frame, event, arg):
    if event == "call":''' + _SWAP_IN_FRAME.replace("\n    ", "\n        ") + '''

sys.setprofile(_profiler)
''',
    # A forged module in sys.modules, which the hidden test's import then finds.
    "sys-modules": _FORGE_SETUP + _FORGED_REPORT + '''
import sys
import types
import arena_lib.answers as _answers

_fake = types.ModuleType("arena_lib.answers")
_fake.ANSWERS_MIME, _fake.report_answers = _answers.ANSWERS_MIME, _forged
sys.modules["arena_lib.answers"] = _fake
''',
    # The hidden test's own frame: its global report_answers is swapped while it runs.
    "frames": _FORGE_SETUP.replace("    return wrong\n", "    sys._getframe(1).f_globals['report_answers'] = _forged\n"
                                   "    return wrong\n") + _FORGED_REPORT + '''
import sys
''',
    # The garbage collector finds the module's namespace, which is then edited.
    "gc": _FORGE_SETUP + _FORGED_REPORT + '''
import gc

import arena_lib.answers  # noqa: F401 (loaded, so the collector can find its namespace)

for _namespace in gc.get_objects():
    if isinstance(_namespace, dict) and _namespace.get("__name__") == "arena_lib.answers":
        _namespace["report_answers"] = _forged
''',
    # The rebinding as a string built at run time, which no reading of names can see.
    "exec": _FORGE_SETUP + _FORGED_REPORT + '''
exec("import arena_lib.ans" + "wers as m; m.report_" + "answers = _forged")
''',
}


# What else a student's notebook can try against the grader and the instructor, each written
# after WRONG_RUN_EPISODE in the exercise cell (or, for `script`, also as a markdown cell).
ATTACKS = {
    # Prints the hidden test that calls it (the running cell, and its caller's frame) into the
    # student's output, transformed so that no line matches a line of the test.
    "leak-transformed": '''
import html
import sys

_leaking_run_episode = run_episode


def run_episode(env, policies, out=None, delay=0.0):
    source = get_ipython().user_ns["In"][-1] + str(sys._getframe(1).f_code.co_names)
    print("| " + source.replace("\\n", "\\n| "))
    print(html.escape(source))
    print(" ;; ".join(source.splitlines()))
    return _leaking_run_episode(env, policies, out, delay)
''',
    # A fake line of nbgrader's log and terminal escape codes, written to the kernel's stderr;
    # and HTML that runs scripts when a page shows it.
    "stderr-and-script": '''
import os

os.write(2, (b"[AutogradeApp | ERROR] There was an error processing assignment '01_arena' for student 'zoe'\\n"
             b"\\x1b[2J\\x1b[31mgrading was hacked\\x1b[0m\\n") * 20)
from IPython.display import HTML, display

display(HTML("<b>bold</b><script>document.title = 'pwned'; document.body.setAttribute('data-pwned', 'script')"
             "</script><img src=x onerror=\\"document.body.setAttribute('data-pwned', 'onerror')\\">"))
''',
    # One gigabyte of output in messages of 40 MB.
    "flood-big": '''
for _ in range(25):
    print("x" * 40 * 10**6, flush=True)
''',
    # One gigabyte of output in a thousand messages of 1 MB.
    "flood-small": '''
for _ in range(1000):
    print("y" * 10**6, flush=True)
''',
    # Fills the kernel's socket folder (its path is in the kernel's arguments) and /tmp, and
    # leaves a sub-folder nobody may enter, as if to be left behind on the host.
    "disk": '''
import os
import sys
from pathlib import Path


def _fill(folder):
    written, error = 0, None
    try:
        (folder / "locked").mkdir()
        with open(folder / "locked" / "fill", "wb") as filler:
            while written < 3 * 10**9:
                filler.write(b"x" * 10**6)
                written += 10**6
    except OSError as failed:
        error = type(failed).__name__
    os.chmod(folder / "locked", 0)
    return f"{written} {error}"


print("PROBE sockets:", _fill(Path(sys.argv[sys.argv.index("-f") + 1]).parent / "sockets"))
print("PROBE tmp:", _fill(Path("/tmp")))
''',
}
SCRIPT_MARKDOWN = "<script>document.body.setAttribute('data-pwned', 'markdown')</script> *hello*"
# A notebook that would hold the class's grading for hours: a sleeping cell after another.
SLEEPER_CELLS = 200


def forging_class() -> dict:
    """01_arena: a forge that rebinds and one that hooks (tests/test_review.py reads every forge of
    FORGES), each attack of ATTACKS."""
    a = "01_arena"
    students = {f"forge-{name}": (Submission(a).replace("ex1_run_episode", WRONG_RUN_EPISODE + FORGES[name]), 0)
                for name in ("rebind", "profile")}
    for name, code in ATTACKS.items():
        students[f"attack-{name}"] = (Submission(a).replace("ex1_run_episode", WRONG_RUN_EPISODE + code), 0)
    scripted = students["attack-stderr-and-script"][0]
    scripted.nb.cells.insert(1, nbformat.v4.new_markdown_cell(SCRIPT_MARKDOWN))
    return students


def sleeper() -> Submission:
    submission = Submission("01_arena").solve()
    for number in range(SLEEPER_CELLS):
        submission.add_cell_after("ex1_run_episode", "import time\ntime.sleep(55)")
    return submission
