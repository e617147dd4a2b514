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


def _index(nb, key: str) -> int:
    """Where the cell with this grade id (or, else, this cell id) is."""
    for index, cell in enumerate(nb.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == key:
            return index
    for index, cell in enumerate(nb.cells):
        if cell.get("id") == key:
            return index
    raise KeyError(f"no cell with grade_id or id {key!r}")


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
        # Deletes the locked test cell of a right solution: the grader runs the instructor's
        # test cells, whatever the notebook holds, and puts the deleted one back.
        "frank": (Submission(a).solve().delete("ex1_run_episode_tests"), 3),
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
    students = {}
    for number, mistake in enumerate(MISTAKES[(a, "ex1_run_episode")], start=1):
        submission = Submission(a).solve().replace("ex1_run_episode", mistake.apply(reference))
        if mistake.elsewhere:  # a cell of the student's own, before the exercise: not run while grading
            submission.add_cell_after(PREVIOUS_CELL_OF_EXERCISE_1, mistake.elsewhere)
        students[f"mistaken-{number}"] = (submission, 0)
    return students


# The cell before exercise 1's (its instructions, a Markdown cell), where a student adds a cell of their own.
PREVIOUS_CELL_OF_EXERCISE_1 = "nb01-cell19"


def evaluation_class() -> dict:
    a = "04_evaluation"
    return {
        "alice": (Submission(a).solve(), 4),
        # Partial: the greedy action is right, the evaluation loop is left undone; and its exercise
        # cell starts a Ray it never stops: grading must not leave it behind.
        "henry": (Submission(a).solve("ex4_greedy_action").replace("ex4_greedy_action", solution_source(
            a, "ex4_greedy_action") + "\nimport ray\n\nray.init(num_cpus=1, include_dashboard=False)\n"), 2),
        # An endless loop in one exercise: the cell timeout stops it, the rest is graded.
        "dave": (Submission(a).solve("ex4_mean_returns").replace(
            "ex4_greedy_action", "def greedy_action(module, obs, observation_space):\n    while True:\n        pass"), 2),
        # The kernel dies in an exercise cell: nbgrader cannot grade this notebook.
        "grace": (Submission(a).solve().replace("ex4_greedy_action", solution_source(
            a, "ex4_greedy_action") + "\nimport os\n\nos._exit(1)\n"), 0),
    }


# A wrong answer that passes its self-check, as a real cheater's would: right on the self-check's
# episodes (5 x 5 arenas) and where it shows the arena (out=...), one point too many for agent1 on
# every other hidden case. Every trick, forge and attack below starts from it, so that each one
# reaches the hidden tests.
VISIBLY_RIGHT_RUN_EPISODE = '''import time

from IPython.display import clear_output


def run_episode(env, policies, out=None, delay=0.0):
    obs, infos = env.reset()
    totals = {agent: 0.0 for agent in env.possible_agents}
    while True:
        actions = {agent: policies[agent].compute_action(agent_obs) for agent, agent_obs in obs.items()}
        obs, rewards, terminateds, truncateds, infos = env.step(actions)
        for agent, reward in rewards.items():
            totals[agent] += reward
        if out is not None:
            with out:
                clear_output(wait=True)
                print(env.render())
            time.sleep(delay)
        if terminateds["__all__"] or truncateds["__all__"]:
            if out is None and (env.width, env.height) != (5, 5):
                totals["agent1"] += 1.0
            return totals
'''

# Each trick, written into the exercise cell after the visibly right answer.
TRICKS = {
    # Makes the old in-kernel comparisons (abs, all, set) say yes (after loading what the tests import,
    # which Python's import machinery cannot do without them).
    "builtins": '''
import arena_lib.answers
import arena_lib.exercises.arena
import builtins
builtins.abs = lambda x: 0.0
builtins.all = lambda *args: True
builtins.any = lambda *args: True
builtins.set = lambda *args: {"agent1", "agent2"}
''',
    # Every env now gives 0 rewards; the self-check is replaced by one that always prints its ✔.
    "monkeypatch": '''
import arena_lib.exercises.arena
from arena_lib.env import MultiAgentArena as _Arena

_real_step = _Arena.step


def _no_rewards(self, actions):
    obs, rewards, terminateds, truncateds, infos = _real_step(self, actions)
    return obs, {agent: 0.0 for agent in rewards}, terminateds, truncateds, infos


_Arena.step = _no_rewards
arena_lib.exercises.arena.check_run_episode = lambda f: print(
    "✔ run_episode plays a whole episode and adds up each agent's rewards.")  # a fake ✔
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
    return ["pass\\n"] if "run_episode" in "".join(lines) else lines


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
_probe("rollout", lambda: __import__("arena_lib").rollout.__code__.co_names)


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
    """01_arena: cheaters, each with the visibly right answer plus one trick; zoe, honest, is graded
    after all of them. (No underscores in ids: LMS file names use them as separators.)"""
    a = "01_arena"
    students = {("mallory" if trick == "probe" else f"cheat-{trick.replace('_', '-')}"): (
        Submission(a).replace("ex1_run_episode", VISIBLY_RIGHT_RUN_EPISODE + TRICKS[trick].replace("{port}", str(port))),
        0) for trick in tricks}
    students["zoe"] = (Submission(a).solve(), 3)
    return students


# Spellings of the course code that plays exercise 1's episode for the student (arena_lib's
# rollout, reached so that no list of names could see it), each after the visibly right answer:
# its own loop where the self-check looks, the course's code for the hidden cases. With the real
# library they would earn every point (tests/test_exercises.py); graded, the kernel's arena_lib
# has no such code (arena_grading.library), so they earn none.
_SPELLED = '''
_own_run_episode = run_episode


def run_episode(env, policies, out=None, delay=0.0):
    if out is not None or (env.width, env.height) == (5, 5):  # where the self-check looks: my own loop
        return _own_run_episode(env, policies, out, delay)
    return dict({how}(env, policies).returns)
'''
SPELLINGS = {
    "getattr": "import arena_lib\n" + _SPELLED.format(how='getattr(arena_lib, "rollout")'),
    "attrgetter": "import operator\n\nimport arena_lib\n" + _SPELLED.format(
        how='operator.attrgetter("rollout")(arena_lib)'),
    "self-bound": "import types\n\nimport arena_lib\n" + _SPELLED.format(
        how='types.MethodType(lambda self, e, p: self.rollout(e, p), arena_lib)'),
    "import-module": "import importlib\n" + _SPELLED.format(how='importlib.import_module("arena_lib.rollout").rollout'),
    "sys-modules": "import sys\n\nimport arena_lib\n" + _SPELLED.format(how='sys.modules["arena_lib.rollout"].rollout'),
    "reload": "import importlib\nimport sys\n\nimport arena_lib\n" + _SPELLED.format(
        how='importlib.reload(sys.modules["arena_lib.rollout"]).rollout'),
    "read-the-file": '''import pathlib

import arena_lib

_course = {}
exec(compile((pathlib.Path(arena_lib.__file__).parent / "rollout.py").read_text(), "rollout.py", "exec"), _course)
''' + _SPELLED.format(how='_course["rollout"]'),
    "string-built": "import arena_lib\n" + _SPELLED.format(how='eval("arena_lib." + "roll" + "out")'),
    "garbage-collector": '''import gc

import arena_lib  # noqa: F401 (loaded, so that the collector finds its functions)

_found = [f for f in gc.get_objects() if callable(f) and getattr(f, "__qualname__", "") == "rollout"]
''' + _SPELLED.format(how="_found[0]"),
    # The episode played by the student's own loop, its rewards added up by the course's Trajectory.
    "trajectory-returns": '''from arena_lib.rollout import Trajectory

_own_run_episode = run_episode


def run_episode(env, policies, out=None, delay=0.0):
    if out is not None or (env.width, env.height) == (5, 5):
        return _own_run_episode(env, policies, out, delay)
    played = Trajectory()
    obs, _ = env.reset()
    while True:
        obs, rewards, terminateds, truncateds, _ = env.step({a: policies[a].compute_action(o) for a, o in obs.items()})
        played.rewards.append(rewards)
        if terminateds["__all__"] or truncateds["__all__"]:
            return dict(played.returns)
''',
}


# Ways to forge what the hidden tests report, each after the visibly right answer. Each wraps
# run_episode so that it also computes the right totals where the self-check does not look (with
# the course's rollout, which plays the same episode; nothing if that fails), remembered by the id
# of the wrong dict it returns; then each swaps them in before the report reaches the grader.
_FORGE_SETUP = '''
import copy

import arena_lib

_right = {}
_wrong_run_episode = run_episode


def run_episode(env, policies, out=None, delay=0.0):
    right = None
    if out is None and (env.width, env.height) != (5, 5):
        try:
            right = getattr(arena_lib, "rollout")(copy.deepcopy(env), copy.deepcopy(policies)).returns
        except Exception:  # noqa: BLE001 (graded: the course's rollout is not there)
            pass
    wrong = _wrong_run_episode(env, policies, out, delay)
    if right is not None:
        _right[id(wrong)] = dict(right)
    return wrong


def _swapped(answers):
    return {case: _right.get(id(value), value) for case, value in answers.items()}
'''
_FORGED_REPORT = '''
from arena_lib.answers import report_answers as _real_report


def _forged(grade_id, answers, hint=""):
    _real_report(grade_id, _swapped(answers), hint)
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
_fake.__dict__.update({k: v for k, v in vars(_answers).items() if not k.startswith("__")})
_fake.report_answers = _forged
sys.modules["arena_lib.answers"] = _fake
''',
    # The same through os.sys, an alias of sys.
    "os-sys-modules": _FORGE_SETUP + _FORGED_REPORT + '''
import os
import types
import arena_lib.answers as _answers

_fake = types.ModuleType("arena_lib.answers")
_fake.__dict__.update({k: v for k, v in vars(_answers).items() if not k.startswith("__")})
_fake.report_answers = _forged
os.sys.modules.update({"arena_lib.answers": _fake})
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
    # The rebinding as a string built at run time.
    "exec": _FORGE_SETUP + _FORGED_REPORT + '''
exec("import arena_lib.ans" + "wers as m; m.report_" + "answers = _forged")
''',
    # A helper whose `self` is the answers module.
    "install-self": _FORGE_SETUP + _FORGED_REPORT + '''
import arena_lib.answers


def _install(self, value):
    self.report_answers = value


_install(arena_lib.answers, _forged)
''',
    # The module's namespace through operator.attrgetter.
    "attrgetter-dict": _FORGE_SETUP + _FORGED_REPORT + '''
import operator

import arena_lib.answers

operator.attrgetter("__dict__")(arena_lib.answers)["report_answers"] = _forged
''',
    # IPython rewrites every later cell that reports: the hidden tests report through the forgery.
    "input-transformer": _FORGE_SETUP + _FORGED_REPORT + '''
from IPython.core.interactiveshell import InteractiveShell


def _through_the_forgery(lines):
    return [line.replace("report_answers(", "_forged(") for line in lines]


InteractiveShell.instance().input_transformers_post.append(_through_the_forgery)
''',
    # After the hidden tests' cell, an IPython event clears its outputs and shows a report of its own.
    "post-run-cell": _FORGE_SETUP + '''
from IPython.display import clear_output, display
from IPython.core.interactiveshell import InteractiveShell

from arena_lib.answers import ANSWERS_MIME, report


def _report_again(result):
    answers = InteractiveShell.instance().user_ns.get("_answers")
    if isinstance(answers, dict) and any(id(value) in _right for value in answers.values()):
        clear_output()
        display({ANSWERS_MIME: report("ex1_run_episode_tests", _swapped(answers))}, raw=True)


InteractiveShell.instance().events.register("post_run_cell", _report_again)
''',
}


# What else a student's notebook can try against the grader and the instructor, each written
# after the visibly right answer in the exercise cell.
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
    # Every cell's source kept as it runs, and the whole store printed (base64) after each cell,
    # with Python's own cache of sources.
    "stash-and-print": '''
import base64
import linecache

from IPython import get_ipython

_seen = []
get_ipython().events.register("pre_run_cell", lambda info: _seen.append(info.raw_cell))
get_ipython().events.register("post_run_cell", lambda result: print(base64.b64encode(
    ("".join(_seen) + "".join("".join(entry[2]) for entry in list(linecache.cache.values()))).encode()).decode()))
''',
    # Errors named like the judge's, one of them carrying what the running cell is.
    "judge-named": '''
class WrongAnswer(Exception):
    pass


_own_run_episode = run_episode


def run_episode(env, policies, out=None, delay=0.0):
    if out is None and (env.width, env.height) != (5, 5):
        raise WrongAnswer("the hidden test: " + get_ipython().user_ns["In"][-1])
    return _own_run_episode(env, policies, out, delay)


get_ipython()._showtraceback(WrongAnswer, "0 of 6 hidden cases differ: full marks", ["WrongAnswer: full marks"])
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
    # Three hundred error outputs of 50 kB each, none raised: error messages are output too.
    "error-flood": '''
for _ in range(300):
    get_ipython()._showtraceback(RuntimeError, "e" * 10_000, ["t" * 10_000] * 4)
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
    # Six hundred magics in the cell (IPython turns each into a call).
    "magics": "\n" + "%xmode Plain\n" * 600,
}
SCRIPT_MARKDOWN = "<script>document.body.setAttribute('data-pwned', 'markdown')</script> *hello*"
LINK_MARKDOWN = ("[click me](javascript:document.body.setAttribute('data-pwned','link')) and "
                 "<a href=\"jav&#x61;script:document.body.setAttribute('data-pwned','entity')\">me</a> "
                 "<img src=x onerror=\"document.body.setAttribute('data-pwned', 'markdown-onerror')\">")
# A notebook that would hold the class's grading for hours: a sleeping cell after another.
SLEEPER_CELLS = 200
HUGE_SUBMISSION_BYTES = 20 * 10**6  # over the default limit of 5 MB (c.SubmissionLimits.max_size)
CLASSMATES_NAMED = "alice zoe"


def forging_class() -> dict:
    """01_arena: each forge of FORGES and each spelling of SPELLINGS."""
    a = "01_arena"
    students = {f"forge-{name}": (Submission(a).replace("ex1_run_episode", VISIBLY_RIGHT_RUN_EPISODE + code), 0)
                for name, code in FORGES.items()}
    students.update({f"spelling-{name}": (Submission(a).replace("ex1_run_episode", VISIBLY_RIGHT_RUN_EPISODE + code), 0)
                     for name, code in SPELLINGS.items()})
    return students


def attacking_class() -> dict:
    """01_arena: each attack of ATTACKS; and three that cannot pass their self-check by design: a
    notebook too large to read, one whose Markdown holds links that would run scripts, and one
    whose error message names classmates."""
    a = "01_arena"
    students = {f"attack-{name}": (Submission(a).replace("ex1_run_episode", VISIBLY_RIGHT_RUN_EPISODE + code), 0)
                for name, code in ATTACKS.items()}
    students["attack-stderr-and-script"][0].nb.cells.insert(1, nbformat.v4.new_markdown_cell(SCRIPT_MARKDOWN))
    huge = Submission(a).solve()
    huge.nb.cells.insert(1, nbformat.v4.new_markdown_cell("x" * HUGE_SUBMISSION_BYTES))
    students["attack-huge"] = (huge, 0)
    linked = Submission(a).replace("ex1_run_episode", VISIBLY_RIGHT_RUN_EPISODE)
    linked.nb.cells.insert(1, nbformat.v4.new_markdown_cell(LINK_MARKDOWN))
    students["attack-links"] = (linked, 0)
    students["attack-classmates"] = (Submission(a).replace("ex1_run_episode", (
        "def run_episode(env, policies, out=None, delay=0.0):\n"
        f"    raise ValueError('classmates: {CLASSMATES_NAMED}')\n")), 0)
    return students


# Right answers to exercise 1 in the styles students write them, each with what the code-reading
# judge of earlier versions sent to a person (pickle, rcParams, a config's attributes, a class's
# name, getattr, globals...): each must get full marks.
_SHOW = '''        if out is not None:
            with out:
                clear_output(wait=True)
                print(env.render())
            time.sleep(delay)
'''
_PREFIX = "import time\n\nfrom IPython.display import clear_output\n\n"
HONEST_RUN_EPISODES = {
    "while-flag": _PREFIX + '''
def run_episode(env, policies, out=None, delay=0.0):
    obs, _ = env.reset()
    totals = {"agent1": 0.0, "agent2": 0.0}
    done = False
    while not done:
        actions = {}
        for agent in obs:
            actions[agent] = policies[agent].compute_action(obs[agent])
        obs, rewards, terminateds, truncateds, _ = env.step(actions)
        for agent in rewards:
            totals[agent] = totals[agent] + rewards[agent]
''' + _SHOW + '''        done = terminateds["__all__"] or truncateds["__all__"]
    return totals
''',
    "itertools-count": _PREFIX + "import itertools\n\n" + '''
def run_episode(env, policies, out=None, delay=0.0):
    obs, _ = env.reset()
    totals = dict.fromkeys(env.possible_agents, 0.0)
    for step in itertools.count(1):
        obs, rewards, terminated, truncated, _ = env.step({a: policies[a].compute_action(obs[a]) for a in obs})
        for agent, reward in rewards.items():
            totals[agent] += reward
''' + _SHOW + '''        if terminated["__all__"] or truncated["__all__"]:
            break
    return totals
''',
    "helper-functions": _PREFIX + '''
def _actions(policies, obs):
    return {agent: policies[agent].compute_action(o) for agent, o in obs.items()}


def _show(env, out, delay):
    if out is None:
        return
    with out:
        clear_output(wait=True)
        print(env.render())
    time.sleep(delay)


def run_episode(env, policies, out=None, delay=0.0):
    obs, _ = env.reset()
    totals = {agent: 0.0 for agent in env.possible_agents}
    over = False
    while not over:
        obs, rewards, terminateds, truncateds, _ = env.step(_actions(policies, obs))
        totals = {agent: totals[agent] + rewards[agent] for agent in totals}
        _show(env, out, delay)
        over = terminateds["__all__"] or truncateds["__all__"]
    return totals
''',
    "a-class-with-self": _PREFIX + '''
class EpisodeRunner:
    def __init__(self, env, policies, out, delay):
        self.env, self.policies, self.out, self.delay = env, policies, out, delay
        self.totals = {}

    def step(self, obs):
        actions = {agent: self.policies[agent].compute_action(o) for agent, o in obs.items()}
        obs, rewards, terminateds, truncateds, _ = self.env.step(actions)
        for agent, reward in rewards.items():
            self.totals[agent] = self.totals.get(agent, 0.0) + reward
        if self.out is not None:
            with self.out:
                clear_output(wait=True)
                print(self.env.render())
            time.sleep(self.delay)
        return obs, terminateds["__all__"] or truncateds["__all__"]

    def play(self):
        obs, _ = self.env.reset()
        done = False
        while not done:
            obs, done = self.step(obs)
        return self.totals


def run_episode(env, policies, out=None, delay=0.0):
    return EpisodeRunner(env, policies, out, delay).play()
''',
    "numpy-array": _PREFIX + "import numpy as np\n\n" + '''
def run_episode(env, policies, out=None, delay=0.0):
    agents = list(env.possible_agents)
    totals = np.zeros(len(agents))
    obs, _ = env.reset()
    while True:
        obs, rewards, terminateds, truncateds, _ = env.step({a: policies[a].compute_action(obs[a]) for a in agents})
        totals += np.array([rewards[a] for a in agents])
''' + _SHOW + '''        if terminateds["__all__"] or truncateds["__all__"]:
            return {agent: float(total) for agent, total in zip(agents, totals)}
''',
    "defaultdict": _PREFIX + "from collections import defaultdict\n\n" + '''
def run_episode(env, policies, out=None, delay=0.0):
    totals = defaultdict(float)
    obs, _ = env.reset()
    while True:
        obs, rewards, terminateds, truncateds, _ = env.step({a: policies[a].compute_action(obs[a]) for a in obs})
        for agent, reward in rewards.items():
            totals[agent] += reward
''' + _SHOW + '''        if terminateds["__all__"] or truncateds["__all__"]:
            return dict(totals)
''',
    "counter-update": _PREFIX + "from collections import Counter\n\n" + '''
def run_episode(env, policies, out=None, delay=0.0):
    totals = Counter({"agent1": 0.0, "agent2": 0.0})
    obs, _ = env.reset()
    while True:
        obs, rewards, terminateds, truncateds, _ = env.step({a: policies[a].compute_action(obs[a]) for a in obs})
        totals.update(rewards)
''' + _SHOW + '''        if terminateds["__all__"] or truncateds["__all__"]:
            return dict(totals)
''',
    "import-pickle": _PREFIX + "import pickle\n\n" + '''
def run_episode(env, policies, out=None, delay=0.0):
    obs, _ = env.reset()
    totals = {"agent1": 0.0, "agent2": 0.0}
    snapshots = []
    while True:
        obs, rewards, terminateds, truncateds, _ = env.step({a: policies[a].compute_action(obs[a]) for a in obs})
        for agent, reward in rewards.items():
            totals[agent] += reward
        snapshots.append(pickle.dumps(totals))  # every step's totals, to look at later
''' + _SHOW + '''        if terminateds["__all__"] or truncateds["__all__"]:
            return pickle.loads(snapshots[-1])
''',
    "rcparams": _PREFIX + "import matplotlib.pyplot as plt\n\nplt.rcParams[\"figure.figsize\"] = (4, 4)\n\n" + '''
def run_episode(env, policies, out=None, delay=0.0):
    obs, _ = env.reset()
    totals = {agent: 0.0 for agent in env.possible_agents}
    while True:
        obs, rewards, terminateds, truncateds, _ = env.step({a: policies[a].compute_action(obs[a]) for a in obs})
        for agent, reward in rewards.items():
            totals[agent] += reward
''' + _SHOW + '''        if terminateds["__all__"] or truncateds["__all__"]:
            return totals
''',
    "config-attribute": _PREFIX + "from arena_lib.training import arena_ppo_config\n\n" + '''config = arena_ppo_config()
config.lr = 0.01  # for later: notebook 2 trains with a config like this one


def run_episode(env, policies, out=None, delay=0.0):
    obs, _ = env.reset()
    totals = {agent: 0.0 for agent in env.possible_agents}
    while True:
        obs, rewards, terminateds, truncateds, _ = env.step({a: policies[a].compute_action(obs[a]) for a in obs})
        for agent, reward in rewards.items():
            totals[agent] += reward
''' + _SHOW + '''        if terminateds["__all__"] or truncateds["__all__"]:
            return totals
''',
    "class-name-and-fstrings": _PREFIX + '''
def run_episode(env, policies, out=None, delay=0.0):
    kinds = {agent: policy.__class__.__name__ for agent, policy in policies.items()}
    log = [f"playing {kinds} on a {env.width}x{env.height} arena"]
    obs, _ = env.reset()
    totals = {agent: 0.0 for agent in env.possible_agents}
    while True:
        obs, rewards, terminateds, truncateds, _ = env.step({a: policies[a].compute_action(obs[a]) for a in obs})
        for agent, reward in rewards.items():
            totals[agent] += reward
        log.append(f"step {env.timesteps}: {rewards}")
''' + _SHOW + '''        if terminateds["__all__"] or truncateds["__all__"]:
            return totals
''',
    "recursion": _PREFIX + '''
def _play(env, policies, obs, totals, out, delay):
    obs, rewards, terminateds, truncateds, _ = env.step({a: policies[a].compute_action(o) for a, o in obs.items()})
    totals = {agent: totals[agent] + rewards[agent] for agent in totals}
    if out is not None:
        with out:
            clear_output(wait=True)
            print(env.render())
        time.sleep(delay)
    if terminateds["__all__"] or truncateds["__all__"]:
        return totals
    return _play(env, policies, obs, totals, out, delay)


def run_episode(env, policies, out=None, delay=0.0):
    obs, _ = env.reset()
    return _play(env, policies, obs, {"agent1": 0.0, "agent2": 0.0}, out, delay)
''',
    "reduce-over-history": _PREFIX + "from functools import reduce\n\n" + '''
def run_episode(env, policies, out=None, delay=0.0):
    obs, _ = env.reset()
    history = []
    while True:
        obs, rewards, terminateds, truncateds, _ = env.step({a: policies[a].compute_action(obs[a]) for a in obs})
        history.append(dict(rewards))
''' + _SHOW + '''        if terminateds["__all__"] or truncateds["__all__"]:
            break
    return reduce(lambda totals, step: {a: totals[a] + step[a] for a in totals}, history, {"agent1": 0.0, "agent2": 0.0})
''',
    "generator": _PREFIX + '''
def _rewards(env, policies, out, delay):
    obs, _ = env.reset()
    while True:
        obs, rewards, terminateds, truncateds, _ = env.step({a: policies[a].compute_action(obs[a]) for a in obs})
        yield rewards
        if out is not None:
            with out:
                clear_output(wait=True)
                print(env.render())
            time.sleep(delay)
        if terminateds["__all__"] or truncateds["__all__"]:
            return


def run_episode(env, policies, out=None, delay=0.0):
    totals = {"agent1": 0.0, "agent2": 0.0}
    for rewards in _rewards(env, policies, out, delay):
        for agent in totals:
            totals[agent] += rewards[agent]
    return totals
''',
    "getattr-and-type": _PREFIX + '''
def run_episode(env, policies, out=None, delay=0.0):
    assert type(env).__name__.endswith("Arena"), type(env)
    obs, _ = env.reset()
    totals = {agent: 0.0 for agent in env.possible_agents}
    while True:
        actions = {agent: getattr(policies[agent], "compute_action")(o) for agent, o in obs.items()}
        obs, rewards, terminateds, truncateds, _ = env.step(actions)
        for agent, reward in rewards.items():
            totals[agent] += reward
''' + _SHOW + '''        if terminateds["__all__"] or truncateds["__all__"]:
            return totals
''',
    "match-statement": _PREFIX + '''
def run_episode(env, policies, out=None, delay=0.0):
    obs, _ = env.reset()
    totals = {agent: 0.0 for agent in env.possible_agents}
    while True:
        obs, rewards, terminateds, truncateds, _ = env.step({a: policies[a].compute_action(obs[a]) for a in obs})
        for agent, reward in rewards.items():
            totals[agent] += reward
''' + _SHOW + '''        match (terminateds["__all__"], truncateds["__all__"]):
            case (False, False):
                continue
            case _:
                return totals
''',
    "walrus": _PREFIX + '''
def run_episode(env, policies, out=None, delay=0.0):
    obs, _ = env.reset()
    totals = {agent: 0.0 for agent in env.possible_agents}
    ended = False
    while not ended:
        step = env.step({a: policies[a].compute_action(obs[a]) for a in obs})
        obs, rewards, terminateds, truncateds, _ = step
        for agent, reward in rewards.items():
            totals[agent] += reward
''' + _SHOW + '''        if (ended := terminateds["__all__"] or truncateds["__all__"]):
            break
    return totals
''',
    "try-finally-and-globals": _PREFIX + '''EPISODES_PLAYED = 0


def run_episode(env, policies, out=None, delay=0.0):
    global EPISODES_PLAYED
    obs, _ = env.reset()
    totals = {agent: 0.0 for agent in env.possible_agents}
    try:
        while True:
            obs, rewards, terminateds, truncateds, _ = env.step({a: policies[a].compute_action(obs[a]) for a in obs})
            for agent, reward in rewards.items():
                totals[agent] += reward
            if out is not None:
                with out:
                    clear_output(wait=True)
                    print(env.render())
                time.sleep(delay)
            if terminateds["__all__"] or truncateds["__all__"]:
                return totals
    finally:
        EPISODES_PLAYED += 1
        globals()["LAST_TOTALS"] = totals
''',
    "deepcopy-and-sum": _PREFIX + "import copy\n\n" + '''
def run_episode(env, policies, out=None, delay=0.0):
    obs, _ = env.reset()
    steps = []
    while True:
        obs, rewards, terminateds, truncateds, _ = env.step({a: policies[a].compute_action(obs[a]) for a in obs})
        steps.append(copy.deepcopy(rewards))
''' + _SHOW + '''        if terminateds["__all__"] or truncateds["__all__"]:
            return {agent: sum(step[agent] for step in steps) for agent in env.possible_agents}
''',
    "sys-stdout-write": "import sys\nimport time\n\nfrom IPython.display import clear_output\n\n" + '''
def run_episode(env, policies, out=None, delay=0.0):
    obs, _ = env.reset()
    totals = {agent: 0.0 for agent in env.possible_agents}
    while True:
        obs, rewards, terminateds, truncateds, _ = env.step({a: policies[a].compute_action(obs[a]) for a in obs})
        for agent, reward in rewards.items():
            totals[agent] += reward
        if out is not None:
            with out:
                clear_output(wait=True)
                sys.stdout.write(env.render() + "\\n")
            time.sleep(delay)
        if terminateds["__all__"] or truncateds["__all__"]:
            return totals
''',
    "map-zip-and-course-constants": _PREFIX + "from arena_lib.env import AGENTS, MultiAgentArena\n\n" + '''
def run_episode(env: MultiAgentArena, policies, out=None, delay=0.0):
    obs, _ = env.reset()
    totals = dict(zip(AGENTS, [0.0] * len(AGENTS)))
    while True:
        actions = dict(zip(obs, map(lambda agent: policies[agent].compute_action(obs[agent]), obs)))
        obs, rewards, terminateds, truncateds, _ = env.step(actions)
        totals = {agent: totals[agent] + rewards.get(agent, 0.0) for agent in AGENTS}
''' + _SHOW + '''        if any((terminateds["__all__"], truncateds["__all__"])):
            return totals
''',
    "setdefault": _PREFIX + '''
def run_episode(env, policies, out=None, delay=0.0):
    obs, _ = env.reset()
    totals = {}
    while True:
        obs, rewards, terminateds, truncateds, _ = env.step({a: policies[a].compute_action(obs[a]) for a in obs})
        for agent, reward in rewards.items():
            totals[agent] = totals.setdefault(agent, 0.0) + reward
''' + _SHOW + '''        if terminateds["__all__"] or truncateds["__all__"]:
            return totals
''',
}


def honest_class() -> dict:
    """01_arena: one student per right answer of HONEST_RUN_EPISODES, each with full marks."""
    return {f"honest-{name}": (Submission("01_arena").replace("ex1_run_episode", code), 3)
            for name, code in HONEST_RUN_EPISODES.items()}


def sleeper() -> Submission:
    """Sleeps in its exercise cell: a graded run runs only that one of its cells."""
    return Submission("01_arena").replace(
        "ex1_run_episode", solution_source("01_arena", "ex1_run_episode") + "\nimport time\n" + "time.sleep(55)\n" * 8)
