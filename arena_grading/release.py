"""The student-only copy of the course: ``python -m arena_grading release-students FOLDER``.

The repository instructors work in holds the solutions, every hidden test, the grading tools
and their tests. Students (and the Binder badge) get a copy with none of that: the generated
notebooks, ``arena_lib``, what Binder builds from, and a README, Makefile and nbgrader
configuration of their own (``arena_grading/student_release/``). Before it is written, the
copy is read back: a file with a solution block, a hidden test or one of its lines stops
the release with the file's name.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat

TEMPLATES = Path(__file__).parent / "student_release"
COPIED = ["notebooks", "arena_lib", "labsettings", "environment.yml", "postBuild", "start", "requirements/course.lock.txt",
          "requirements/tf.lock.txt", "docs/performance.md"]
# What running the notebooks leaves beside them (notebook 8's agent file among it) stays out.
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "checkpoints", "tune_results",
                                 "[0-9][0-9]_*_agent.safetensors")
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
BINDER = ("[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/{repository}/main"
          "?urlpath=lab/tree/notebooks/01_arena/01_rl_and_the_arena.ipynb)")


class ReleaseLeaks(RuntimeError):
    """The student release would hold something of the instructors' only."""


def notebook_table(course: Path) -> str:
    """The README's table of notebooks (its section "The notebooks"), for the students' README."""
    readme = (course / "README.md").read_text()
    section = readme.split("## The notebooks", 1)[1].split("\n## ", 1)[0]
    return "\n".join(line for line in section.splitlines() if line.startswith("|"))


def hidden_lines(course: Path) -> set[str]:
    """The lines of hidden tests that give their cases away: those with a number or a string in
    them (seeds, configs, case names; at least 12 characters), which the student notebooks do
    not also have. (A line such as ``def __enter__(self):`` gives nothing away.)"""
    visible = {line.strip() for path in course.glob("notebooks/*/*.ipynb")
               for cell in nbformat.read(path, as_version=4).cells for line in cell.source.splitlines()}
    hidden = set()
    for path in course.glob("solutions/*/*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            for block in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, flags=re.S):
                hidden.update(line.strip() for line in block.splitlines())
    return {line for line in hidden - visible if len(line) >= 12 and re.search(r"[0-9'\"]", line)}


def leaks(folder: Path, course: Path) -> list[str]:
    """What of the instructors' the release in ``folder`` holds, file by file."""
    found = [f"{name}/ (instructors only)" for name in ("solutions", "tests", "bench", "arena_grading", ".grading")
             if (folder / name).exists()]
    hidden = hidden_lines(course)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        if path.suffix == ".ipynb":  # the notebook's own JSON escapes quotes: read its cells' sources
            text = "\n".join(cell.source for cell in nbformat.reads(text, as_version=4).cells)
        for marker in MARKERS:
            if marker in text:
                found.append(f"{path.relative_to(folder)}: {marker!r}")
        lines = {line.strip() for line in text.splitlines()} & hidden
        if lines:
            found.append(f"{path.relative_to(folder)}: {len(lines)} line(s) of hidden tests, e.g. {sorted(lines)[0]!r}")
    return found


def students_pyproject(text: str) -> str:
    """The course's pyproject.toml with only arena_lib, and without the tests' settings."""
    sections = re.split(r"(?m)^(?=\[)", text)
    kept = [section for section in sections if not section.startswith(
        ("[tool.setuptools.package-data]", "[tool.pytest"))]
    text = "".join(kept).replace('include = ["arena_lib*", "arena_grading*"]', 'include = ["arena_lib*"]')
    return text.rstrip() + "\n"


def release(course: Path, folder: Path, repository: str = "hands-on-rllib/hands-on-rllib-students") -> list[str]:
    """Write the student release of ``course`` into ``folder`` (new, or empty); return its files."""
    if folder.exists() and any(folder.iterdir()):
        raise FileExistsError(f"{folder} is not empty: give a new folder (the release replaces nothing)")
    if folder.resolve().is_relative_to(course.resolve()):
        raise ValueError(f"{folder} is inside the course folder: give a folder outside it")
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    for name in COPIED:
        source = course / name
        if source.is_dir():
            shutil.copytree(source, staging / name, ignore=IGNORED)
        elif source.exists():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, staging / name)
    readme = (TEMPLATES / "README.md").read_text()
    (staging / "README.md").write_text(readme.replace("{badge}", BINDER.format(repository=repository))
                                       .replace("{notebooks}", notebook_table(course)))
    for name in ("Makefile", "nbgrader_config.py"):
        shutil.copy2(TEMPLATES / name, staging / name)
    (staging / "pyproject.toml").write_text(students_pyproject((course / "pyproject.toml").read_text()))
    (staging / ".gitignore").write_text(".venv/\n__pycache__/\n.ipynb_checkpoints/\ncheckpoints/\ntune_results/\n")
    found = leaks(staging, course)
    if found:
        shutil.rmtree(staging)
        raise ReleaseLeaks("the student release would hold what only instructors may see:\n  " + "\n  ".join(found))
    staging.rename(folder) if not folder.exists() else [p.rename(folder / p.name) for p in staging.iterdir()]
    shutil.rmtree(staging, ignore_errors=True)
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
