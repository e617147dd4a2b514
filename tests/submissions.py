"""Student submissions for the grading tests, built from the committed student
notebooks the way students change them: solving, breaking, tampering."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from notebook_tools import ROOT, read

MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def student_notebook(assignment: str):
    (path,) = (ROOT / "notebooks" / assignment).glob("*.ipynb")
    return path.name, read(path)


def _solution_sources(assignment: str) -> dict:
    (path,) = (ROOT / "solutions" / assignment).glob("*.ipynb")
    sources = {}
    for cell in read(path).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            lines = [line for line in cell.source.splitlines() if line.strip() not in MARKERS]
            sources[meta["grade_id"]] = "\n".join(lines)
    return sources


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
        solutions = _solution_sources(self.assignment)
        for grade_id in grade_ids or solutions:
            self.nb.cells[_index(self.nb, grade_id)].source = solutions[grade_id]
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
    }


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
