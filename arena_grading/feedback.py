"""Feedback without the hidden tests, and outputs that cannot run code where they are opened.

nbgrader renders the autograded notebook as it is, hidden tests included (upstream issues
#917, #1363). :class:`HideHiddenTests` (a step of ``nbgrader generate_feedback``) removes,
before rendering:

- the code between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``;
- every output the hidden tests' execution made (``arena_grading.execute`` marks where it
  starts), whatever it holds: the student's code, called by the hidden tests, may print
  them in any form; an error there is named, without its message;
- in a notebook the judge sent to review, every output but the judge's messages: its code
  reached into the kernel, where it could have read the hidden tests;
- every line of a hidden test wherever else it shows up, in every cell.

:class:`SanitizeOutputs` (a step of ``nbgrader autograde``, so that formgrader shows what
feedback shows) escapes HTML and drops scripts and other active content that student code
displayed, with nbconvert's bleach-based sanitizer.
"""

from __future__ import annotations

import re

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbconvert.preprocessors.sanitize import SanitizeHTML
from traitlets import Bool, Set

from arena_grading.execute import HIDDEN_OUTPUTS_MIME, hidden_outputs_start
from arena_grading.judge import JUDGE_NAMES, REVIEW_NAME, is_test_cell
from arena_lib.answers import ANSWERS_MIME

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
PLACEHOLDER = "# (hidden tests: not shown; their messages are below)"
REDACTED = "[a line of a hidden test]"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TRACEBACK_PREFIX = re.compile(r"^\s*(?:-*>)?\s*\d+\s")
MIN_LENGTH = 4  # shorter lines (")", "else:") give nothing away


def hidden_blocks(source: str) -> tuple[str, list[str]]:
    """(the source without hidden blocks, the hidden lines)."""
    kept, hidden, inside = [], [], False
    for line in source.splitlines():
        if line.strip() == BEGIN:
            inside = True
            kept.append(PLACEHOLDER)
        elif line.strip() == END:
            inside = False
        elif inside:
            hidden.append(line)
        else:
            kept.append(line)
    return "\n".join(kept), hidden


def normalize(line: str) -> str:
    line = ANSI.sub("", line)
    return TRACEBACK_PREFIX.sub("", line, count=1).strip()


def hidden_lines(nb) -> set[str]:
    lines = set()
    for cell in nb.cells:
        if is_test_cell(cell):
            lines.update(n for n in map(normalize, hidden_blocks(cell.source)[1]) if len(n) >= MIN_LENGTH)
            lines.update((BEGIN, END))
    return lines


def redact(text: str, hidden: set[str]) -> str:
    return "\n".join(REDACTED if normalize(line) in hidden else line for line in text.split("\n"))


def redact_output(output, hidden: set[str]):
    if output.output_type == "stream":
        output.text = redact(output.text, hidden)
    elif output.output_type == "error":
        output.evalue = redact(output.evalue, hidden)
        output.traceback = [redact(entry, hidden) for entry in output.traceback]
    else:
        for mime, value in output.get("data", {}).items():
            if isinstance(value, str):  # text, HTML, SVG; images are base64 and never match a line
                output.data[mime] = redact(value, hidden)
    return output


def is_judges(output) -> bool:
    return output.output_type == "error" and output.get("ename") in JUDGE_NAMES


def without_hidden_outputs(cell) -> list:
    """A test cell's outputs up to where its hidden tests ran, and a note of an error there."""
    start = hidden_outputs_start(cell)
    if start is None:
        return list(cell.outputs)
    shown = list(cell.outputs[:start])
    errors = [o.ename for o in cell.outputs[start + 1:] if o.output_type == "error"]
    if errors:
        shown.append(nbformat.v4.new_output("stream", name="stdout", text=(
            f"The hidden tests stopped with {errors[0]} (its message is not shown: it could hold the hidden "
            "tests; run the self-check above, and your function on other cases of your own).\n")))
    return shown


class HideHiddenTests(Preprocessor):
    enabled = Bool(True).tag(config=True)  # nbconvert's preprocessors are off unless enabled

    def preprocess(self, nb, resources):
        hidden = hidden_lines(nb)
        in_review = any(is_judges(o) and o.ename == REVIEW_NAME
                        for cell in nb.cells if is_test_cell(cell) for o in cell.get("outputs", []))
        for cell in nb.cells:
            if is_test_cell(cell):
                cell.source = hidden_blocks(cell.source)[0]
                cell.outputs = without_hidden_outputs(cell)
            if cell.cell_type == "code":
                if in_review:
                    cell.outputs = [o for o in cell.outputs if is_judges(o)]
                cell.outputs = [redact_output(o, hidden) for o in cell.outputs if ANSWERS_MIME not in o.get("data", {})]
            else:
                cell.source = redact(cell.source, hidden)
        return nb, resources


class SanitizeOutputs(SanitizeHTML):
    """nbconvert's HTML sanitizer for every cell, keeping the grader's own outputs (the
    hidden tests' reports and the separator) for the judge and for feedback."""

    enabled = Bool(True).tag(config=True)
    safe_output_keys = Set(default_value={"metadata", "text/plain", "image/png", "image/jpeg", ANSWERS_MIME,
                                          HIDDEN_OUTPUTS_MIME}).tag(config=True)
