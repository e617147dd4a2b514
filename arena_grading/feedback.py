"""Feedback a student can read, and pages nobody is harmed by opening.

- :class:`HideHiddenTests` (a step of ``nbgrader generate_feedback``): each test cell shows the
  instructor's self-check, a line where its hidden tests were that says how they went, and its
  outputs: those of the self-check and the judge's message. Nothing of the hidden tests is in
  the autograded notebook to begin with (``arena_grading.execute`` keeps none of their
  execution); an output that takes a judge's name is kept only if it is, word for word, what the
  judge recorded for that cell.
- :class:`SanitizeOutputs` (a step of ``nbgrader autograde``, so that formgrader shows what
  feedback shows): HTML, Markdown and SVG that student code displayed are cleaned with nbconvert's
  sanitizer, and a Markdown cell whose rendering would hold a script, an event handler or a
  ``javascript:`` link is replaced by its cleaned rendering.
- :class:`SafeFeedbackExporter` (``generate_feedback``'s exporter): the rendered page cleaned
  again as a whole (``arena_grading.safe_html``), its long lines wrapped, its colours readable
  (WCAG 2.1 AA), and the grading machine's paths left out.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import Preprocessor
from nbconvert.preprocessors.sanitize import SanitizeHTML
from traitlets import Bool, Set

from arena_grading import outcomes
from arena_grading.cells import grade_id, hidden_blocks, is_test_cell
from arena_grading.execute import JUDGE_NAMES
from arena_grading.safe_html import clean_fragment, clean_page, has_active_content
from arena_lib.answers import ANSWERS_MIME

PLACEHOLDERS = {
    "right": "# Hidden tests: they ran on cases of the instructor's, and your answers to them were right.",
    "wrong": "# Hidden tests: they ran on cases of the instructor's; the grader's verdict is below.",
    "no report": "# Hidden tests: they ran on cases of the instructor's; the grader's verdict is below.",
    "error": "# Hidden tests: they ran on cases of the instructor's (the self-check above failed: no points).",
}
UNKNOWN = "# Hidden tests: not shown."
# Wrapped lines, readable colours, underlined links (the file says why).
PAGE_CSS = (Path(__file__).parent / "templates" / "feedback.css").read_text()


def recorded_verdicts(config, resources) -> dict:
    """What the judge recorded of this notebook's test cells (grade id -> finding), or {}."""
    from nbgrader.coursedir import CourseDirectory

    info = (resources or {}).get("nbgrader") or {}
    if not info.get("student"):
        return {}
    path = outcomes.student_folder(CourseDirectory(config=config).root, info["assignment"], info["student"]) / \
        f"{info['notebook']}.verdicts.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def is_the_judges(output, finding: dict) -> bool:
    message = finding.get("message")
    return bool(message) and output.get("ename") == message[0] and output.get("evalue") == message[1]


class HideHiddenTests(Preprocessor):
    enabled = Bool(True).tag(config=True)  # nbconvert's preprocessors are off unless enabled

    def preprocess(self, nb, resources):
        verdicts = recorded_verdicts(self.config, resources)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [o for o in cell.get("outputs", []) if ANSWERS_MIME not in o.get("data", {})]
            if not is_test_cell(cell):
                continue
            finding = verdicts.get(grade_id(cell), {})
            cell.source = hidden_blocks(cell.source, PLACEHOLDERS.get(finding.get("outcome"), UNKNOWN))
            cell.outputs = [o for o in cell.outputs if not (
                o.output_type == "error" and o.get("ename") in JUDGE_NAMES and not is_the_judges(o, finding))]
        return nb, resources


class SanitizeOutputs(SanitizeHTML):
    """nbconvert's HTML sanitizer for every cell's outputs, and Markdown cells that would render
    to something active replaced by their cleaned rendering."""

    enabled = Bool(True).tag(config=True)
    safe_output_keys = Set(default_value={"metadata", "text/plain", "image/png", "image/jpeg", ANSWERS_MIME}).tag(
        config=True)

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        if cell.cell_type == "markdown":
            from nbconvert.filters import markdown2html_mistune

            rendered = markdown2html_mistune(cell.source)
            if has_active_content(rendered):
                cell.source = clean_fragment(rendered)
        return cell, resources


class SafeFeedbackExporter(HTMLExporter):
    """nbgrader's feedback page, cleaned as a whole after rendering (no script, event handler or
    ``javascript:``/``data:`` link, whatever produced it), with long lines wrapped."""

    def from_notebook_node(self, nb, resources=None, **kw):
        output, resources = super().from_notebook_node(nb, resources, **kw)
        output = clean_page(output)
        output = output.replace("<html>", '<html lang="en">', 1)
        output = output.replace("</head>", f"<style>{PAGE_CSS}</style></head>", 1)
        return without_machine_paths(output), resources


# Where the course's code lives on the grading machine (a traceback's file names): not the student's concern.
_MACHINE_PATH = re.compile(r"(?:/[\w.+-]+)+/(arena_lib|site-packages)/")


def without_machine_paths(text: str) -> str:
    return _MACHINE_PATH.sub(lambda m: "arena_lib/" if m.group(1) == "arena_lib" else "", text)
