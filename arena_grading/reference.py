"""The reference answers: the instructor's source notebook in ``solutions/``, graded as a
submission is (the same graded run, sandbox and library build), once per change of that
notebook, of arena_lib or of the pinned packages; cached in ``.grading/`` (out of the
sandbox's reach), with how long it took, which sets the default time budget of a submission."""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import nbformat
from nbgrader.coursedir import CourseDirectory

from arena_grading import outcomes
from arena_grading.cells import is_exercise_cell, is_test_cell

PACKAGES = ("ray", "torch", "numpy", "gymnasium", "nbgrader", "ipykernel")


class ReferenceFailed(RuntimeError):
    """The reference solution does not pass its own tests: nothing can be graded against it."""


def source_path(config, assignment: str, notebook: str) -> Path:
    coursedir = CourseDirectory(config=config)
    return Path(coursedir.format_path(coursedir.source_directory, ".", assignment)) / f"{notebook}.ipynb"


def reference_answers(config, assignment: str, notebook: str) -> dict:
    """grade_id -> {"answers": {case: answer}, "hint": str} of one notebook, recorded once per
    source and versions."""
    source = source_path(config, assignment, notebook)
    key = fingerprint(source)
    cache = outcomes.reference_path(CourseDirectory(config=config).root, assignment, notebook)
    if cache.exists():
        try:
            stored = json.loads(cache.read_text())
        except ValueError:
            stored = {}
        if stored.get("fingerprint") == key:
            return stored["answers"]
    cache.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    answers = record_reference(config, source, assignment, stderr=cache.with_suffix(".reference-stderr.txt"))
    seconds = time.perf_counter() - started
    partial = cache.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps({"fingerprint": key, "seconds": seconds, "answers": answers}, indent=1))
    partial.replace(cache)  # atomic: graders running side by side never read half a file
    return answers


def fingerprint(source: Path) -> str:
    digest = hashlib.sha256(source.read_bytes())
    (library,) = importlib.util.find_spec("arena_lib").submodule_search_locations  # found, not imported
    for path in sorted(Path(library).rglob("*.py")):
        digest.update(path.read_bytes())
    for package in PACKAGES:
        digest.update(f"{package}={metadata.version(package)}".encode())
    return digest.hexdigest()


def record_reference(config, source: Path, assignment: str, stderr: Path | None = None) -> dict:
    """Grade the source notebook as a submission is graded; its hidden tests' answers. Its
    kernel's stderr goes to ``stderr``."""
    from arena_grading.execute import SandboxedExecute

    folder = Path(tempfile.mkdtemp(prefix="arena-reference-"))
    folder.chmod(0o755)
    nb = nbformat.read(source, as_version=4)
    resources = {"metadata": {"path": str(folder)}, "arena_kernel_stderr": stderr, "arena_source": copy.deepcopy(nb),
                 "nbgrader": {"assignment": assignment, "notebook": source.stem}}
    try:
        nb, resources = SandboxedExecute(config=config).preprocess(nb, resources)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    failures = [f"{cell.metadata.nbgrader['grade_id']}: {o.ename}: {o.evalue}"[:300] for cell in nb.cells
                if is_test_cell(cell) or is_exercise_cell(cell) for o in cell.get("outputs", [])
                if o.output_type == "error"]
    answers = {}
    for grade_id, hidden in resources["arena_hidden"].items():
        reports = [r for r in hidden["reports"] if r.get("grade_id") == grade_id]
        if hidden["error"] or hidden["altered"] or not reports:
            failures.append(f"{grade_id}: its hidden tests " + (
                f"raised {hidden['error']}" if hidden["error"] else "reported no answers"))
            continue
        entry = answers.setdefault(grade_id, {"answers": {}, "hint": reports[0].get("hint", "")})
        for report in reports:
            entry["answers"].update(report.get("answers", {}))
    if failures:
        raise ReferenceFailed(f"the reference solution {source} fails its own tests, so it cannot be graded "
                              "against: " + "; ".join(failures))
    return answers


def record_assignment(course: Path, assignment: str, sandboxed: bool = True) -> int:
    """Record (or find cached) the reference answers of every notebook of an assignment,
    saying so; 0 if they are there, 1 if the reference cannot be run, 2 if there is nothing."""
    from traitlets.config.loader import PyFileConfigLoader

    from arena_grading.library import LibraryBuildError
    from arena_grading.sandbox import SandboxUnavailable

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.SandboxedExecute.sandbox = sandboxed
    config.CourseDirectory.root = str(course)
    notebooks = sorted((course / "solutions" / assignment).glob("*.ipynb"))
    if not notebooks:
        print(f"no notebooks in solutions/{assignment}/", file=sys.stderr)
        return 2
    for notebook in notebooks:
        try:
            answers = reference_answers(config, assignment, notebook.stem)
        except (ReferenceFailed, SandboxUnavailable, LibraryBuildError) as error:
            print(f"cannot grade {assignment}: {error}", file=sys.stderr)
            return 1
        cases = sum(len(entry["answers"]) for entry in answers.values())
        print(f"reference answers of {notebook.name}: {cases} hidden cases in {len(answers)} test cells")
    return 0
