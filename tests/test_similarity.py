"""Code that looks copied (arena_grading/similarity.py), on a class whose copies are known: right
answers to exercise 1 written apart (tests/submissions.py's honest ones), and copies of some of
them with names changed, functions reordered and comments added. The copies are paired with
their originals; no two answers written apart are."""

from __future__ import annotations

import re

from arena_grading.similarity import THRESHOLD, similar_pairs
from tests.notebook_tools import ROOT
from tests.submissions import HONEST_RUN_EPISODES

RENAMED = {"totals": "scores", "obs": "observation", "rewards": "gains", "agent": "who", "env": "arena"}


def disguised(code: str) -> str:
    """A copy as a student hides one: other names, its functions in reverse order, comments added."""
    for old, new in RENAMED.items():
        code = re.sub(rf"\b{old}\b", new, code)
    head, *definitions = re.split(r"\n(?=def |class )", code)
    code = head + "\n" + "\n".join(reversed(definitions))
    lines = [line + ("  # my own step" if line.strip().startswith(("for ", "scores")) else "") for line in code.splitlines()]
    return "# Exercise 1, my solution\n" + "\n".join(lines) + "\n"


COPIED = ("helper-functions", "a-class-with-self", "recursion", "generator", "numpy-array", "while-flag")


def test_copies_are_found_and_answers_written_apart_are_not_paired():
    submissions = {f"apart-{name}": {"ex1_run_episode": code} for name, code in HONEST_RUN_EPISODES.items()}
    submissions.update({f"copy-{name}": {"ex1_run_episode": disguised(HONEST_RUN_EPISODES[name])} for name in COPIED})
    pairs = similar_pairs(ROOT, "01_arena", submissions)
    found = {(pair.first, pair.second) for pair in pairs}
    assert found == {(f"apart-{name}", f"copy-{name}") for name in COPIED}, sorted(found)
    assert all(pair.similarity >= THRESHOLD and pair.exercise == "ex1_run_episode" for pair in pairs)
    pair = pairs[0]
    assert pair.first_code == submissions[pair.first]["ex1_run_episode"]  # side by side, for a person to judge


def test_the_given_code_and_what_everyone_wrote_alike_pair_nobody():
    """Students who left the stub, or wrote the reference answer, are not paired for that."""
    from tests.notebook_tools import solution_source

    reference = solution_source("01_arena", "ex1_run_episode")
    stub = (ROOT / "notebooks" / "01_arena" / "01_rl_and_the_arena.ipynb").read_text()
    assert "raise NotImplementedError()" in stub
    submissions = {f"reference-{n}": {"ex1_run_episode": reference} for n in range(3)}
    submissions["unreadable"] = {"ex1_run_episode": "def run_episode(:\n    \x00"}
    assert similar_pairs(ROOT, "01_arena", submissions) == []
