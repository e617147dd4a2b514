"""The judge: the hidden tests report answers; this process, outside the student's kernel,
decides whether they are right.

The hidden tests run last in a graded run (``arena_grading.execute``) and only *report* the
student's results on fixed cases (``arena_lib.answers.report_answers``); nothing of their
execution but those reports leaves the kernel. :class:`JudgeAnswers`, in nbgrader's process,
compares them with the reference solution's (``arena_grading.reference``). A test cell whose
answers are missing, altered or different gets the judge's message as an error output, so that
nbgrader gives it no points.

The judge's messages are its own words: which hidden cases were wrong, named as the
instructor named them, and the reference's hint. What the student's code answered is repeated
only as data of the kind expected (a number, a short list of numbers, a type name), never as
text, so a report cannot carry anything else into feedback. The course code a student may not
call (``WRITE_YOUR_OWN``) is absent while grading, so an altered report can only carry answers
the student's own code computed: the judge reads no code.
"""

from __future__ import annotations

import json
import math
import numbers

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from arena_grading import outcomes
from arena_grading.cells import grade_id, is_test_cell
from arena_grading.execute import JUDGE_NAMES
from arena_grading.reference import reference_answers
from arena_lib.answers import same

WRONG_NAME, NO_ANSWER_NAME = JUDGE_NAMES
SHOWN_ITEMS = 8  # a list or dict of at most this many numbers is repeated whole
NOT_SHOWN = ("its message is not shown: the hidden cases are the instructor's. Run the self-check above, and try "
             "your code on cases of your own")


def wrong_cases(expected: dict, reports: list[dict], test_id: str) -> list[tuple[str, object]] | None:
    """The hidden cases the student's reports got wrong, as (case, what they gave); None if there
    is no report, or one that is incomplete or altered. Every report must be right."""
    if not reports:
        return None
    wrong, cases = [], expected["answers"]
    for report in reports:
        answers = report.get("answers") if report.get("grade_id") == test_id else None
        if not isinstance(answers, dict) or answers.keys() != cases.keys():
            return None
        wrong += [(case, answers[case]) for case in cases if not same(cases[case], answers[case])]
    return wrong


def _number(value) -> float | None:
    """A JSON answer as a number (``"nan"``, ``"inf"``: how plain() writes them), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    return float(value) if value in ("nan", "inf", "-inf") else None


def _shown_number(value) -> str:
    number = _number(value)
    if math.isnan(number) or math.isinf(number):
        return str(number)
    return str(int(number)) if isinstance(value, int) else repr(round(number, 6))


def _kind(value) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True or False"
    if _number(value) is not None:
        return "a number"
    if isinstance(value, str):
        return "a str"
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    if isinstance(value, dict):
        return f"a dict of {len(value)} entries"
    return "a value of another type"


def described(given, expected) -> str:
    """What a student's answer was, in words, repeating only data of the kind expected: never
    its text (a report is the student's to fill)."""
    if given is None:
        return "None"
    if isinstance(expected, bool):
        return repr(given) if isinstance(given, bool) else f"{_kind(given)}, where True or False was expected"
    if isinstance(given, bool):
        return f"{given!r}, where {_kind(expected)} was expected"
    if _number(expected) is not None:
        return _shown_number(given) if _number(given) is not None else f"{_kind(given)}, where a number was expected"
    if isinstance(expected, str):
        return "a different str" if isinstance(given, str) else f"{_kind(given)}, where a str was expected"
    if isinstance(expected, list):
        if not isinstance(given, list):
            return f"{_kind(given)}, where a list of {len(expected)} was expected"
        if len(given) != len(expected):
            return f"a list of {len(given)} items, where {len(expected)} were expected"
        if len(given) <= SHOWN_ITEMS and all(_number(g) is not None or isinstance(g, bool) for g in given):
            return "[" + ", ".join(repr(g) if isinstance(g, bool) else _shown_number(g) for g in given) + "]"
        differ = [i for i, (e, g) in enumerate(zip(expected, given)) if not same(e, g)]
        return (f"a list of {len(given)} items of which {len(differ)} differ, the first at position {differ[0]}: "
                f"{described(given[differ[0]], expected[differ[0]])}")
    if isinstance(expected, dict):
        if not isinstance(given, dict):
            return f"{_kind(given)}, where a dict of {len(expected)} entries was expected"
        if given.keys() != expected.keys():
            return f"a dict of {len(given)} entries whose keys differ from the expected ones"
        if len(given) <= SHOWN_ITEMS and all(_number(g) is not None for g in given.values()):
            return "{" + ", ".join(f"{key!r}: {_shown_number(value)}" for key, value in given.items()) + "}"
        differ = [key for key in expected if not same(expected[key], given[key])]
        return f"a dict in which {len(differ)} of {len(given)} entries differ"
    return "a different value"


def verdict(expected: dict, hidden: dict, test_id: str) -> tuple[str, str] | None:
    """None if the hidden tests ran and every report has exactly the reference's answers; else
    (the error's name, the judge's message)."""
    hint = expected.get("hint", "")
    if hidden.get("skipped"):
        return None  # the self-check failed: its error gives the cell no points, and says why
    if hidden.get("error") == "WriteYourOwn":
        return NO_ANSWER_NAME, ("While the hidden tests ran, your code called course code that computes this "
                                "exercise's answer, which is not there while grading (the self-check names it). "
                                "Write that part yourself.")
    if hidden.get("error"):
        return NO_ANSWER_NAME, (f"While the hidden tests ran, your code raised {hidden['error']} ({NOT_SHOWN}). "
                                "This exercise gets no points.")
    if not hidden.get("ran"):
        return NO_ANSWER_NAME, "The hidden tests of this exercise did not run, so it gets no points."
    wrong = None if hidden.get("altered") else wrong_cases(expected, hidden.get("reports", []), test_id)
    if wrong is None:
        return NO_ANSWER_NAME, ("The hidden tests' answers did not reach the grader whole (missing, incomplete or "
                                "altered), so this exercise gets no points.")
    if not wrong:
        return None
    cases = expected["answers"]
    lines = [f"{len({c for c, _ in wrong})} of {len(cases)} hidden cases differ from the reference solution:"]
    lines += [f"  - {case}: your code gave {described(value, cases[case])}" for case, value in wrong[:5]]
    if hint:
        lines.append(hint)
    return WRONG_NAME, "\n".join(lines)


def failure_output(name: str, message: str) -> NotebookNode:
    """A test cell's error output with the judge's words."""
    return nbformat.v4.new_output("error", ename=name, evalue=message, traceback=[f"{name}: {message}"])


def finding(expected: dict, hidden: dict, test_id: str, errors: list, judged: tuple | None) -> dict:
    """What the class report and feedback read of one test cell: right, an error of the
    self-check (its first line), the hidden tests' error, no report, or the hidden cases
    answered wrong (what the student gave, described as above); and the judge's message."""
    found = {"hidden ran": bool(hidden.get("ran")), "hidden error": hidden.get("error"),
             "hidden skipped": bool(hidden.get("skipped")),
             "message": list(judged) if judged else None}
    if errors:
        first = str(errors[0].get("evalue", "")).splitlines()
        found.update(outcome="error", error=f"{errors[0].get('ename')}: {first[0][:200] if first else ''}")
        return found
    wrong = None if hidden.get("altered") or hidden.get("error") else wrong_cases(
        expected, hidden.get("reports", []), test_id)
    if wrong is None:
        found["outcome"] = "no report"
    elif wrong:
        found.update(outcome="wrong", wrong={case: described(value, expected["answers"][case]) for case, value in wrong})
    else:
        found["outcome"] = "right"
    return found


class JudgeAnswers(NbGraderPreprocessor):
    """Runs right after SandboxedExecute in ``nbgrader autograde``: compares each test cell's
    reported answers with the reference's, and records what it found."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        reference = reference_answers(self.config, info["assignment"], info["notebook"])
        hidden_runs = resources.get("arena_hidden", {})
        findings = {}
        for cell in nb.cells:
            if not is_test_cell(cell):
                continue
            test_id = grade_id(cell)
            # Only errors and the judge's verdict decide; a number a student's code shows
            # as the cell's result would otherwise count as partial credit.
            cell.outputs = [o for o in cell.get("outputs", []) if o.output_type != "execute_result"]
            if test_id not in reference:
                continue
            hidden = hidden_runs.get(test_id, {})
            errors = [o for o in cell.outputs if o.output_type == "error"]
            judged = verdict(reference[test_id], hidden, test_id)
            if judged:
                cell.outputs.append(failure_output(*judged))
            findings[test_id] = finding(reference[test_id], hidden, test_id, errors, judged)
        record = outcomes.record_path(self.config, resources, "verdicts.json")
        if record:
            record.write_text(json.dumps(findings, indent=1))
        return nb, resources
