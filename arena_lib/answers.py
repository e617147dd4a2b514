"""How a graded exercise's answers travel and when two answers are the same.

Hidden tests only *report* a student's results on fixed cases, with
:func:`report_answers`; the grader (``arena_grading.judge``), in nbgrader's own
process outside the student's kernel, compares them with the reference
solution's. Self-checks compare with the same rule, :func:`same`, so that a
self-check and the judge never disagree about what "equal" means.

This module imports nothing heavy: nbgrader loads it with every command.
"""

from __future__ import annotations

import math
import numbers

# The MIME type of a hidden test's report in the notebook's outputs.
ANSWERS_MIME = "application/vnd.arena-answers+json"

# Two numbers are the same answer when they differ by floating-point noise only.
RELATIVE_TOLERANCE = 1e-9
ABSOLUTE_TOLERANCE = 1e-9


def plain(value):
    """``value`` as JSON-ready data: numbers, strings, lists and dicts.

    numpy's numbers become Python ones; tuples and sets become lists (sets sorted);
    ``nan`` and ``inf`` become the strings ``"nan"`` and ``"inf"``, so that they equal
    themselves; anything else becomes ``"<its type's name>"``.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((plain(item) for item in value), key=repr)
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):  # an array or a numpy bool
        return plain(value.tolist())
    return f"<{type(value).__name__}>"


def same(expected, got) -> bool:
    """The one rule for "the same answer", on plain data (see :func:`plain`).

    Numbers (int or float) are the same within ``RELATIVE_TOLERANCE`` or
    ``ABSOLUTE_TOLERANCE``; ``True`` is not ``1``; dicts need exactly the same keys,
    lists the same length; everything else must be equal and of the same type.
    """
    if isinstance(expected, bool) or isinstance(got, bool):
        return type(expected) is type(got) and expected == got
    if isinstance(expected, (int, float)) and isinstance(got, (int, float)):
        return math.isclose(expected, got, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE)
    if isinstance(expected, dict) and isinstance(got, dict):
        return expected.keys() == got.keys() and all(same(expected[k], got[k]) for k in expected)
    if isinstance(expected, list) and isinstance(got, list):
        return len(expected) == len(got) and all(same(e, g) for e, g in zip(expected, got))
    return type(expected) is type(got) and expected == got


def same_answer(expected, got) -> bool:
    """:func:`same` for any two values, each first made plain: what self-checks compare with."""
    return same(plain(expected), plain(got))


def report(grade_id: str, answers: dict, hint: str = "") -> dict:
    """The report a hidden test hands over: ``{"grade_id", "answers", "hint"}``, plain data."""
    return {"grade_id": grade_id, "answers": {str(case): plain(value) for case, value in answers.items()},
            "hint": hint}


def report_answers(grade_id: str, answers: dict, hint: str = "") -> None:
    """Hand a hidden test's answers (case in words -> the student's result) to the grader.

    The grade is decided by the grader, outside this kernel, by comparing these
    answers with those of the reference solution; nothing here decides it.
    """
    from IPython.display import display

    display({ANSWERS_MIME: report(grade_id, answers, hint),
             "text/plain": f"(answers of {len(answers)} hidden cases handed to the grader)"}, raw=True)
