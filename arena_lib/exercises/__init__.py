"""The course's exercises: one module per assignment, named after it without its number
(``01_arena`` -> ``arena_lib.exercises.arena``, ``06_tune_and_scale`` ->
``arena_lib.exercises.tune_and_scale``).

A module holds everything of its assignment's exercises that is not secret: the
visible self-checks (``check_*``: they run a student's code on small cases and say
in words what is wrong, or print ✔), the helpers its hidden tests use, and the
settings its notebooks give. Hidden cases stay in the notebooks' hidden test cells;
the grade is decided outside the kernel (``arena_lib.answers``).
"""

from __future__ import annotations

import importlib
from types import ModuleType


def module_name(assignment: str) -> str:
    """``"05_models"`` -> ``"arena_lib.exercises.models"``."""
    number, _, name = assignment.partition("_")
    if not (number.isdigit() and name):
        raise ValueError(f"an assignment is named NN_name, like 01_arena; got {assignment!r}")
    return f"{__name__}.{name}"


def for_assignment(assignment: str) -> ModuleType:
    """The exercise module of an assignment."""
    return importlib.import_module(module_name(assignment))


def passed(message: str) -> None:
    """What a self-check prints when everything it tried was right."""
    print(f"✔ {message}")


def attempt(function, *args, advice: str = "", **kwargs):
    """Call a student's function; if it raises, fail the self-check with what it raised and
    what to do, instead of a traceback from deep inside the course's code."""
    name = getattr(function, "__name__", "your code")
    try:
        return function(*args, **kwargs)
    except NotImplementedError as error:
        raise AssertionError(f"{name} raised NotImplementedError: it is not written yet. Replace "
                             "`raise NotImplementedError()` with your code.") from error
    except Exception as error:  # noqa: BLE001 - whatever it was, the student reads it in words
        said = f": {error}" if str(error) else ""
        raise AssertionError(f"{name} raised {type(error).__name__}{said}. {advice}".strip()) from error
