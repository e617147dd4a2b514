"""Feedback without the hidden tests (a step of ``nbgrader generate_feedback``).

nbgrader renders the autograded notebook as it is, hidden tests included
(upstream issues #917, #1363). This preprocessor removes, before rendering:
the code between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``; the
answers the hidden tests handed to the grader; every line of a hidden test
wherever else it shows up (tracebacks, or text a student's code printed after
reading it from the kernel), in every cell. Tracebacks keep the student's own lines.
"""

from __future__ import annotations

import re

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from arena_grading.judge import is_test_cell
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


class HideHiddenTests(Preprocessor):
    enabled = Bool(True).tag(config=True)  # nbconvert's preprocessors are off unless enabled

    def preprocess(self, nb, resources):
        hidden = hidden_lines(nb)
        for cell in nb.cells:
            if is_test_cell(cell):
                cell.source = hidden_blocks(cell.source)[0]
            if cell.cell_type == "code":
                cell.outputs = [redact_output(o, hidden) for o in cell.outputs if ANSWERS_MIME not in o.get("data", {})]
            else:
                cell.source = redact(cell.source, hidden)
        return nb, resources
