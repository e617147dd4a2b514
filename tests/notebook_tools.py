"""Shared helpers for the notebook and grading tests: paths, nbgrader runs, outputs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted(ROOT.glob("solutions/*/*.ipynb"))
STUDENT = sorted(ROOT.glob("notebooks/*/*.ipynb"))
ASSIGNMENTS = sorted(p.parent.name for p in SOLUTIONS)


def tool_env(**extra) -> dict:
    """The environment for nbgrader and kernels: this venv's bin first (nbgrader calls alembic)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def nbgrader(*args, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run a real nbgrader command in a course folder; fail loudly with its output."""
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=cwd, env=tool_env(), capture_output=True, text=True, timeout=timeout,
    )
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def make_course(tmp_path: Path) -> Path:
    """A throw-away course folder with this repo's config and source notebooks."""
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions", course / "solutions")
    return course


def grade_cells(nb) -> list:
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


def errors_and_stderr(nb) -> tuple[list, list]:
    errors, stderr = [], []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                errors.append((index, output.ename, output.evalue))
            elif output.output_type == "stream" and output.name == "stderr":
                stderr.append((index, output.text))
    return errors, stderr


def pictures_without_text(nb) -> list[tuple[int, str]]:
    """(cell index, why) of each picture in ``nb``'s outputs that JupyterLab would show without a
    text alternative: a PNG with no HTML beside it (JupyterLab shows HTML first), or an ``<img>``
    of an HTML output without an ``alt`` with words in it (arena_lib/alt_text.py gives both)."""
    import re

    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            shown = data.get("text/html", "")
            if "image/png" in data and not shown:
                found.append((index, "a PNG without HTML"))
            for image in re.findall(r"<img\b[^>]*>", shown):
                if not re.search(r'\balt="[^"]*\w', image) or 'alt="Figure without a title.' in image:
                    found.append((index, image[:120]))
    return found


def read(path: Path):
    return nbformat.read(path, as_version=4)


MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN = "### BEGIN HIDDEN TESTS"


def cell_with_id(assignment: str, grade_id: str, folder: str = "solutions"):
    (path,) = (ROOT / folder / assignment).glob("*.ipynb")
    for cell in read(path).cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(f"no cell {grade_id!r} in {path.relative_to(ROOT)}")


def solution_source(assignment: str, grade_id: str) -> str:
    """The reference answer of an exercise cell, as a student would write it (no markers)."""
    lines = cell_with_id(assignment, grade_id).source.splitlines()
    return "\n".join(line for line in lines if line.strip() not in MARKERS)


def graded_cell_parts(assignment: str, grade_id: str) -> tuple[str, str]:
    """(the visible self-check, the hidden tests) of a test cell, as the kernel runs them."""
    visible, hidden = cell_with_id(assignment, grade_id).source.split(HIDDEN)
    return visible, hidden.replace("### END HIDDEN TESTS", "")


def run_solution(assignment: str, grade_id: str, context: dict | None = None) -> dict:
    """The namespace after running an exercise's reference answer in ``context`` (the names
    the notebook's earlier cells define, such as ``nn``)."""
    namespace = dict(context or {})
    exec(compile(solution_source(assignment, grade_id), f"<{grade_id}>", "exec"), namespace)
    return namespace


def hidden_test_lines() -> set[str]:
    """Lines of the hidden tests (at least 12 characters) that the student notebooks do not also have."""
    import re

    visible = {line.strip() for path in STUDENT for cell in read(path).cells for line in cell.source.splitlines()}
    hidden = set()
    for path in SOLUTIONS:
        for cell in read(path).cells:
            for block in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, flags=re.S):
                hidden.update(line.strip() for line in block.splitlines())
    return {line for line in hidden - visible if len(line) >= 12}


# Each notebook's settings for a short run (tests, and `python -m bench.notebook_series --short`):
# what its cell tagged "parameters" sets, smaller, so that every cell runs in a fraction of the
# time. Notebooks never read how they are run; the values are injected as a cell after that one,
# as papermill does.
SHORT_RUN = {
    "01_arena": {"DELAY": 0},
    "02_first_training": {"ITERATIONS": 2},
    "03_multi_agent": {"MAX_ITERATIONS": 2},
    "04_evaluation": {"MAX_ITERATIONS": 2},
    "05_models": {"ITERATIONS": 2},
    "06_tune_and_scale": {"MAX_ITERATIONS": 1, "EVALUATION_EPISODES": 2, "LEARNING_RATES": [3e-3],
                          "NETWORK_SIZES": [[64, 64]], "COMPARE_ITERATIONS": 1, "TWO_NODES_WANTED": False},
    "07_tensorflow_appendix": {"MAX_ITERATIONS": 2},
    "08_league": {"PAIR_ITERATIONS": 1, "LEAGUE_ITERATIONS": 2, "EPISODES": 4},
}
PARAMETERS_TAG, INJECTED_TAG = "parameters", "injected-parameters"


def parameters_cell(nb) -> int:
    """The index of the notebook's one cell tagged "parameters"."""
    (index,) = [i for i, cell in enumerate(nb.cells) if PARAMETERS_TAG in cell.metadata.get("tags", [])]
    return index


def parameters(path: Path) -> dict:
    """What the notebook's parameters cell sets to a literal (numbers, strings, lists...)."""
    import ast

    nb, values = read(path), {}
    for node in ast.parse(nb.cells[parameters_cell(nb)].source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass  # not a literal, such as Path("...")
    return values


def with_parameters(nb, values: dict):
    """``nb`` with a cell after its parameters cell that sets ``values`` (a copy; papermill's way)."""
    import copy

    nb = copy.deepcopy(nb)
    cell = nbformat.v4.new_code_cell("# Injected parameters\n" + "".join(f"{k} = {v!r}\n" for k, v in values.items()))
    cell.metadata["tags"] = [INJECTED_TAG]
    cell.id = "injected-parameters"
    nb.cells.insert(parameters_cell(nb) + 1, cell)
    return nb


def short_run(path: Path):
    """The notebook at ``path``, set for a short run (SHORT_RUN of its assignment)."""
    return with_parameters(read(path), SHORT_RUN[path.parent.name])
