"""The notebook series: metadata, drift from solutions/, nbgrader validate (graded budget).
Each notebook's full run, as a student sees it, is in test_binder.py."""

from __future__ import annotations

import json
import shutil

import pytest

from arena_lib import exercises
from tests.notebook_tools import (
    ASSIGNMENTS,
    ROOT,
    SOLUTIONS,
    STUDENT,
    grade_cells,
    make_course,
    nbgrader,
    read,
)


def copy_to(folder, notebook):
    """A copy of ``notebook`` with the course config, so nothing is written into the repo."""
    shutil.copy(ROOT / "nbgrader_config.py", folder)
    return shutil.copy(notebook, folder)


def test_every_assignment_has_a_source_and_a_student_notebook():
    assert len(SOLUTIONS) >= 4
    assert [p.relative_to(ROOT / "solutions") for p in SOLUTIONS] == [
        p.relative_to(ROOT / "notebooks") for p in STUDENT
    ]


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_graded_cells_are_well_formed(path):
    nb = read(path)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)), f"duplicate grade ids in {path.name}: {ids}"
    tests = grade_cells(nb)
    assert tests, f"{path.name} has no graded test cell"
    for cell in tests:
        meta = cell.metadata["nbgrader"]
        assert meta["points"] > 0 and meta["locked"] and not meta["solution"], meta
        assert "### BEGIN HIDDEN TESTS" in cell.source and "### END HIDDEN TESTS" in cell.source, meta["grade_id"]
        visible = cell.source.split("### BEGIN HIDDEN TESTS")[0]
        assert f"from {exercises.module_name(path.parent.name)} import check_" in visible, (
            f"{meta['grade_id']} has no visible self-check from its assignment's exercise module")
        # The rule for exercise authors (docs/grading-sandbox.md): hidden tests report answers; the grader judges them.
        hidden = cell.source.split("### BEGIN HIDDEN TESTS")[1]
        assert f'report_answers("{meta["grade_id"]}", ' in hidden, f"{meta['grade_id']}'s hidden tests report no answers"
    solutions = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert len(solutions) >= len(tests)
    for cell in solutions:
        assert "### BEGIN SOLUTION" in cell.source and not cell.get("outputs"), cell.metadata["nbgrader"]["grade_id"]
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit sources without outputs"


def test_all_grade_ids_are_unique_across_the_course():
    ids = [c.metadata["nbgrader"]["grade_id"] for p in SOLUTIONS for c in read(p).cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids))


def test_student_notebooks_are_generated_from_solutions(tmp_path):
    """notebooks/ is nbgrader's output for solutions/, never edited by hand."""
    course = make_course(tmp_path)
    for assignment in ASSIGNMENTS:
        nbgrader("generate_assignment", assignment, "--force", cwd=course)
    for committed in STUDENT:
        generated = course / committed.relative_to(ROOT)
        assert generated.exists(), f"nbgrader did not generate {committed.relative_to(ROOT)}"
        assert json.loads(generated.read_text()) == json.loads(committed.read_text()), (
            f"{committed.relative_to(ROOT)} differs from what nbgrader generates from solutions/: "
            "run `make notebooks` and commit the result"
        )


# nbgrader validate on one solution (01: no training): the course config and the
# self-checks work under nbgrader. Every solution, hidden tests included, runs top to
# bottom with the same budget in test_binder.py (no error, every self-check passes), so
# running each a second time here would only add minutes to CI.
@pytest.mark.slow
@pytest.mark.parametrize("path", SOLUTIONS[:1], ids=lambda p: p.parent.name)
def test_nbgrader_validate_passes_on_solutions(path, tmp_path):
    result = nbgrader("validate", str(copy_to(tmp_path, path)), cwd=tmp_path)
    assert "Success! Your notebook passes all the tests." in result.stdout, result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("path", STUDENT, ids=lambda p: p.parent.name)
def test_nbgrader_validate_fails_on_untouched_student_notebooks(path, tmp_path):
    # nbgrader validate exits 0 either way: read its verdict.
    result = nbgrader("validate", str(copy_to(tmp_path, path)), cwd=tmp_path)
    graded = len(grade_cells(read(path)))
    assert f"VALIDATION FAILED ON {graded} CELL(S)" in result.stdout, result.stdout


def test_notebooks_never_read_how_they_are_run():
    """No branch on how a notebook runs (grading runs only exercise and test cells; tests inject
    their settings after the cell tagged "parameters"): every notebook has one such cell."""
    from tests.notebook_tools import parameters_cell

    for path in SOLUTIONS + STUDENT:
        text = path.read_text()
        assert "NBGRADER_EXECUTION" not in text and "GRADING" not in text, path
        parameters_cell(read(path))  # exactly one


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.parent.name)
def test_what_grading_runs_stands_on_its_own(path):
    """While grading only the exercise cells and the test cells run (arena_grading.cells): each
    exercise cell uses only what it imports or defines (exercises.check_graded_alone's rule, which
    the self-checks apply), and each test cell, visible and hidden parts, only what it imports or
    defines and what the exercise cells define."""
    from arena_grading.cells import is_exercise_cell, is_test_cell, split_test
    from arena_lib.exercises import NOTEBOOK_BUILTINS, bound_names, free_names

    nb = read(path)
    exercise_names = set()
    for cell in nb.cells:
        if is_exercise_cell(cell):
            exercise_names |= bound_names(cell.source)
    assert set(exercises.for_assignment(path.parent.name).GRADED_NAMES) <= exercise_names
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if is_exercise_cell(cell):
            missing = free_names(cell.source) - bound_names(cell.source) - NOTEBOOK_BUILTINS
            assert not missing, f"{grade_id} uses {sorted(missing)} from other cells"
        elif is_test_cell(cell):
            visible, hidden = split_test(cell.source)
            for part, code in (("visible part", visible), ("hidden tests", hidden)):
                missing = free_names(code) - exercise_names - NOTEBOOK_BUILTINS
                assert not missing, f"{grade_id}'s {part} uses {sorted(missing)}, which no exercise cell defines"
