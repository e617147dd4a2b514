"""The student release (python -m arena_grading release-students): what students and the
Binder badge get holds no solution, no hidden test and no grading tool, and its first
notebook runs from it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from arena_lib.kernel_client import RepollingKernelManager
from tests.notebook_tools import ROOT, errors_and_stderr, hidden_test_lines, read, tool_env


def release(folder, course=ROOT, *args):
    return subprocess.run([sys.executable, "-m", "arena_grading", "release-students", str(folder), *args],
                          cwd=course, capture_output=True, text=True, env=tool_env(), timeout=300)


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    folder = tmp_path_factory.mktemp("release") / "hands-on-rllib-students"
    done = release(folder, ROOT, "--repository", "someone/course")
    assert done.returncode == 0, done.stdout + done.stderr
    return folder


def test_the_release_holds_the_course_for_students_and_nothing_of_the_instructors(released):
    for name in ("notebooks/01_arena/01_rl_and_the_arena.ipynb", "arena_lib/exercises/arena.py", "environment.yml",
                 "postBuild", "requirements/course.lock.txt", "README.md", "Makefile", "pyproject.toml"):
        assert (released / name).is_file(), f"{name} is missing from the release"
    for name in ("solutions", "tests", "bench", "arena_grading", "scripts", ".grading", ".ci"):
        assert not (released / name).exists(), f"{name} is in the release"
    assert "someone/course" in (released / "README.md").read_text()
    assert 'include = ["arena_lib*"]' in (released / "pyproject.toml").read_text()


def test_no_file_of_the_release_holds_a_solution_or_a_hidden_test(released):
    hidden = hidden_test_lines()
    assert len(hidden) > 30
    # In code, a line such as "import contextlib" gives nothing away; one with a number or a string may.
    telling = {line for line in hidden if any(c.isdigit() or c in "'\"" for c in line)}
    for path in (p for p in released.rglob("*") if p.is_file()):
        text = path.read_text(errors="replace")
        if path.suffix == ".ipynb":
            text = "\n".join(cell.source for cell in read(path).cells)
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            assert marker not in text, f"{path.relative_to(released)} holds {marker}"
        shown = {line.strip() for line in text.splitlines()} & (hidden if path.suffix == ".ipynb" else telling)
        assert not shown, f"{path.relative_to(released)} holds hidden test lines: {sorted(shown)[:3]}"
    for path in released.glob("notebooks/*/*.ipynb"):  # the exercise cells are stubs
        for cell in read(path).cells:
            if cell.metadata.get("nbgrader", {}).get("solution"):
                assert "raise NotImplementedError()" in cell.source, f"{path.name}: {cell.metadata.nbgrader}"


def test_a_release_that_would_leak_is_refused(tmp_path):
    course = tmp_path / "course"
    for name in ("notebooks", "arena_lib", "solutions"):
        shutil.copytree(ROOT / name, course / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("README.md", "pyproject.toml", "environment.yml", "postBuild", "start"):
        shutil.copy(ROOT / name, course / name)
    (course / "requirements").mkdir()
    (solution,) = (course / "solutions" / "01_arena").glob("*.ipynb")
    shutil.copy(solution, course / "notebooks" / "01_arena" / "answers.ipynb")  # a slip: the solution copied over
    done = release(tmp_path / "out", course)
    assert done.returncode == 2 and "answers.ipynb" in done.stderr and "BEGIN SOLUTION" in done.stderr
    assert not (tmp_path / "out").exists()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "something").write_text("x")
    done = release(tmp_path / "full")
    assert done.returncode == 2 and "is not empty" in done.stderr


@pytest.mark.slow
def test_notebook_1_runs_from_the_release(released, tmp_path):
    """With the release's arena_lib first on the path, as its own environment would have it."""
    work = tmp_path / "01_arena"
    shutil.copytree(released / "notebooks" / "01_arena", work)
    (path,) = work.glob("*.ipynb")
    nb = read(path)
    nb.cells.append(nbformat.v4.new_code_cell("import arena_lib\nprint('arena_lib from', arena_lib.__file__)"))
    os.environ["PYTHONPATH"], before = str(released), os.environ.get("PYTHONPATH")
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3", kernel_manager_class=RepollingKernelManager, allow_errors=True,
                       resources={"metadata": {"path": str(work)}}).execute()
    finally:
        os.environ.pop("PYTHONPATH") if before is None else os.environ.__setitem__("PYTHONPATH", before)
    errors, _ = errors_and_stderr(nb)
    # The student version's exercise raises NotImplementedError, and its self-check says so; nothing else.
    assert [e[1] for e in errors] == ["NotImplementedError", "SelfCheckFailed"], errors
    assert "not written yet" in errors[1][2]
    assert f"arena_lib from {released / 'arena_lib'}" in nb.cells[-1].outputs[0].text
