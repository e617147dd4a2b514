"""The judge: hidden tests report answers; this process decides whether they are right.

A student's code runs in the same Python process as the tests that grade it, so
whatever a test checks inside the kernel, a student cell can rebind (builtins,
``arena_lib``, numpy, IPython's own hooks). So the hidden tests only *report* the
student's results on fixed cases (``arena_lib.answers.report_answers``), and this
preprocessor, in nbgrader's process outside the sandbox, compares them with the
answers of the reference solution: the source notebook in ``solutions/``, run once
in the same sandbox and cached in ``.grading/`` (out of the sandbox's reach). A
grade cell whose answers are missing or differ gets an error output, so nbgrader
gives it no points, with a message that says which cases were wrong.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import time
from importlib import metadata
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import setenv

from arena_lib.answers import ANSWERS_MIME, same

CACHE_FOLDER = ".grading"
PACKAGES = ("ray", "torch", "numpy", "gymnasium", "nbgrader", "ipykernel")


class ReferenceFailed(RuntimeError):
    """The reference solution does not pass its own tests: nothing can be graded against it."""


def is_test_cell(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade", False) and not meta.get("solution", False)


def reports_in(cell) -> list[dict]:
    """The reports among the outputs of a test cell's hidden tests (all its outputs if it ran whole)."""
    from arena_grading.execute import hidden_outputs_start

    outputs = cell.get("outputs", [])
    start = hidden_outputs_start(cell)
    return [o.data[ANSWERS_MIME] for o in outputs[0 if start is None else start + 1:]
            if o.output_type == "display_data" and ANSWERS_MIME in o.get("data", {})]


def collected_answers(nb) -> dict:
    """grade_id -> {"answers": {...}, "hint": str} from every test cell's reports."""
    found = {}
    for cell in nb.cells:
        if is_test_cell(cell):
            grade_id = cell.metadata.nbgrader["grade_id"]
            for report in reports_in(cell):
                if report.get("grade_id") == grade_id:
                    entry = found.setdefault(grade_id, {"answers": {}, "hint": report.get("hint", "")})
                    entry["answers"].update(report.get("answers", {}))
    return found


def wrong_cases(expected: dict, reports: list[dict], grade_id: str) -> list[tuple[str, object]] | None:
    """The hidden cases the student's reports got wrong, as (case, what they gave); None if there
    is no report, or one that is incomplete or altered."""
    if not reports:
        return None
    wrong, cases = [], expected["answers"]
    for report in reports:
        answers = report.get("answers") if report.get("grade_id") == grade_id else None
        if not isinstance(answers, dict) or answers.keys() != cases.keys():
            return None
        wrong += [(case, answers[case]) for case in cases if not same(cases[case], answers[case])]
    return wrong


def verdict(expected: dict, reports: list[dict], grade_id: str) -> str | None:
    """None if every report of this cell has exactly the reference's answers, else what is wrong."""
    if not reports:
        return ("The hidden tests of this exercise did not run to their end (was a test cell changed, "
                "or the notebook's code altered?), so this exercise gets no points.")
    wrong = wrong_cases(expected, reports, grade_id)
    if wrong is None:
        return "The hidden tests' answers were incomplete or altered, so they could not be checked."
    if not wrong:
        return None
    lines = [f"{len({c for c, _ in wrong})} of {len(expected['answers'])} hidden cases differ from the reference solution:"]
    lines += [f"  - {case}: your code gave {_short(value)}" for case, value in wrong[:5]]
    if expected.get("hint"):
        lines.append(expected["hint"])
    return "\n".join(lines)


def _short(value, limit=160) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else text[:limit] + "..."


def failure_output(message: str, name: str | None = None) -> NotebookNode:
    """A test cell's error output with the judge's words (a WRONG_NAME error unless ``name``)."""
    name = name or WRONG_NAME
    return nbformat.v4.new_output("error", ename=name, evalue=message, traceback=[f"{name}: {message}"])


def source_notebook(config, assignment: str, notebook: str) -> NotebookNode:
    coursedir = CourseDirectory(config=config)
    folder = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
    return nbformat.read(folder / f"{notebook}.ipynb", as_version=4)


def refused_helpers(assignment: str) -> dict[str, str]:
    """The assignment's ``REFUSED_HELPERS`` (helper name -> why), read from its exercise module's
    source without importing it: that would load RLlib into every nbgrader command."""
    import ast

    from arena_lib.exercises import module_name

    spec = importlib.util.find_spec(module_name(assignment))
    if spec is None or not spec.origin:
        return {}
    for node in ast.parse(Path(spec.origin).read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "REFUSED_HELPERS" for t in node.targets):
            return ast.literal_eval(node.value)
    return {}


REVIEW_NAME = "SentToReview"
REFUSED_NAME = "RefusedHelper"
WRONG_NAME = "WrongAnswer"
JUDGE_NAMES = {WRONG_NAME, REVIEW_NAME, REFUSED_NAME}  # the errors the judge itself puts in a test cell


class JudgeAnswers(NbGraderPreprocessor):
    """Runs right after SandboxedExecute in ``nbgrader autograde``: reads the student's code
    (``review``), then compares each test cell's reported answers with the reference's."""

    def preprocess(self, nb, resources):
        from arena_grading import outcomes, review

        info = resources["nbgrader"]
        reference = reference_answers(self.config, info["assignment"], info["notebook"])
        reading = review.read(nb, source_notebook(self.config, info["assignment"], info["notebook"]),
                              refused_helpers(info["assignment"]))
        resources["arena_review"] = reading
        record = outcomes.record_path(self.config, resources, "review.json")
        if record:
            record.write_text(json.dumps({"review": [str(f) for f in reading.review],
                                          "refused": [str(f) for f in reading.refusals]}, indent=1))
        record_verdicts, findings = outcomes.record_path(self.config, resources, "verdicts.json"), {}
        for cell in nb.cells:
            if not is_test_cell(cell):
                continue
            grade_id = cell.metadata.nbgrader["grade_id"]
            reports = reports_in(cell)
            # Only errors and the grader's verdict decide; a number a student's code shows
            # as the cell's result would otherwise count as partial credit.
            cell.outputs = [o for o in cell.outputs if o.output_type != "execute_result"]
            if reading.refusals:
                cell.outputs.insert(0, failure_output(
                    "This exercise asks you to write it yourself, and your code " + "; ".join(
                        sorted({f.what for f in reading.refusals})) + ". So its tests give no points.", REFUSED_NAME))
            if reading.review:
                cell.outputs.insert(0, failure_output(
                    "Your instructor grades this notebook by hand: its code reaches into the grader's or Python's "
                    "machinery, which an automatic grade cannot trust (" + "; ".join(
                        str(f) for f in reading.review[:5]) + ").", REVIEW_NAME))
            if grade_id not in reference or reading.refusals or reading.review:
                findings[grade_id] = {"outcome": "refused" if reading.refusals else "review"}
                continue
            problem = verdict(reference[grade_id], reports, grade_id)
            errors = [o for o in cell.outputs if o.output_type == "error"]
            if problem and not errors:
                cell.outputs.insert(0, failure_output(problem))  # an error already explains itself
            findings[grade_id] = finding(reference[grade_id], reports, grade_id, errors)
        if record_verdicts:
            record_verdicts.write_text(json.dumps(findings, indent=1))
        return nb, resources


def finding(expected: dict, reports: list[dict], grade_id: str, errors: list) -> dict:
    """What the class report reads of one test cell: right, an error (its name and first line),
    no report, or the hidden cases the student's answers got wrong (with what they gave)."""
    if errors:
        error = errors[0]
        first_line = str(error.evalue).splitlines()[0][:200] if error.evalue else ""
        return {"outcome": "error", "error": f"{error.ename}: {first_line}"}
    wrong = wrong_cases(expected, reports, grade_id)
    if wrong is None:
        return {"outcome": "no report"}
    return {"outcome": "wrong", "wrong": {case: _short(value) for case, value in wrong}} if wrong else {"outcome": "right"}


class FlagForReview(NbGraderPreprocessor):
    """Runs after SaveAutoGrades: a notebook the judge would not trust needs a person. Its
    grades are marked as needing a manual grade (nbgrader's formgrader lists them) and the
    notebook as flagged, with what was found in the exercise cells' comments."""

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook

        reading = resources.get("arena_review")
        if reading is None or not reading.review:
            return nb, resources
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            notebook = gb.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
            notebook.flagged = True
            for grade in notebook.grades:
                grade.needs_manual_grade = True
            reasons = "Sent to manual grading: " + "; ".join(str(f) for f in reading.review)
            for comment in notebook.comments:
                comment.auto_comment = reasons
            gb.db.commit()
        return nb, resources


def record_assignment(course: Path, assignment: str, sandboxed: bool = True) -> int:
    """Record (or find cached) the reference answers of every notebook of an assignment,
    saying so; 0 if they are there, 1 if the reference cannot be run, 2 if there is nothing."""
    import sys

    from traitlets.config.loader import PyFileConfigLoader

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
        except (ReferenceFailed, SandboxUnavailable) as error:
            print(f"cannot grade {assignment}: {error}", file=sys.stderr)
            return 1
        cases = sum(len(entry["answers"]) for entry in answers.values())
        print(f"reference answers of {notebook.name}: {cases} hidden cases in {len(answers)} test cells")
    return 0


def cache_path(course: Path, assignment: str, notebook: str) -> Path:
    """Where one notebook's reference answers are kept (the class report reads them too)."""
    return Path(course) / CACHE_FOLDER / assignment / f"{notebook}.json"


def reference_answers(config, assignment: str, notebook: str) -> dict:
    """The reference solution's answers for one notebook, recorded once per source and versions."""
    coursedir = CourseDirectory(config=config)
    source = Path(coursedir.format_path(coursedir.source_directory, ".", assignment)) / f"{notebook}.ipynb"
    key = _fingerprint(source)
    cache = cache_path(coursedir.root, assignment, notebook)
    if cache.exists():
        stored = json.loads(cache.read_text())
        if stored.get("fingerprint") == key:
            return stored["answers"]
    cache.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    answers = record_reference(config, source, stderr=cache.with_suffix(".reference-stderr.txt"))
    seconds = time.perf_counter() - started
    partial = cache.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps({"fingerprint": key, "seconds": seconds, "answers": answers}, indent=1))
    partial.replace(cache)  # atomic: graders running side by side never read half a file
    return answers


def reference_seconds(config, assignment: str, notebook: str) -> float | None:
    """How long the reference solution took to run as a submission is (None if not recorded)."""
    try:
        return json.loads(cache_path(CourseDirectory(config=config).root, assignment, notebook).read_text()).get("seconds")
    except (OSError, ValueError):
        return None


def _fingerprint(source: Path) -> str:
    digest = hashlib.sha256(source.read_bytes())
    (library,) = importlib.util.find_spec("arena_lib").submodule_search_locations  # found, not imported
    for path in sorted(Path(library).rglob("*.py")):
        digest.update(path.read_bytes())
    for package in PACKAGES:
        digest.update(f"{package}={metadata.version(package)}".encode())
    return digest.hexdigest()


def record_reference(config, source: Path, stderr: Path | None = None) -> dict:
    """Run the source notebook (the reference solution) as a submission is run; collect its
    answers. Its kernel's stderr goes to ``stderr``."""
    from arena_grading.execute import SandboxedExecute

    folder = Path(tempfile.mkdtemp(prefix="arena-reference-"))
    folder.chmod(0o755)
    try:
        nb = nbformat.read(source, as_version=4)
        graded_budget = setenv(NBGRADER_EXECUTION="autograde")  # as a submission is run
        with contextlib.nullcontext() if os.environ.get("NBGRADER_EXECUTION") else graded_budget:
            nb, _ = SandboxedExecute(config=config).preprocess(
                nb, {"metadata": {"path": str(folder)}, "arena_kernel_stderr": stderr})
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    failures = [(cell.metadata.nbgrader["grade_id"], o.ename, o.evalue)
                for cell in nb.cells if is_test_cell(cell) for o in cell.outputs if o.output_type == "error"]
    if failures:
        raise ReferenceFailed(f"the reference solution {source} fails its own tests, so it cannot be "
                              f"graded against: {failures}")
    return collected_answers(nb)
