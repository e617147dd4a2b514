"""The course's exercises: one module per assignment, named after it without its number
(``01_arena`` -> ``arena_lib.exercises.arena``, ``06_tune_and_scale`` ->
``arena_lib.exercises.tune_and_scale``).

A module holds everything of its assignment's exercises that is not secret: the visible
self-checks (``check_*``: they run a student's code on small cases and say in words what is
wrong, or print ✔), the helpers its hidden tests use, and two declarations:

- ``GRADED_NAMES``: what the assignment's exercise cells define (``run_episode``, ...). While
  grading, only the exercise cells and the test cells run, so everything an exercise cell
  uses must come from an exercise cell; a self-check says so when it does not.
- ``WRITE_YOUR_OWN``: the course code that computes the assignment's answers (``"module:name"``
  -> why). While it is graded, the kernel gets a build of arena_lib in which each of them
  raises :class:`WriteYourOwn`, so that only the student's code can compute an answer; a
  self-check says so already in the student's own notebook.

Hidden cases stay in the notebooks' hidden test cells; the grade is decided outside the
kernel (``arena_lib.answers``).
"""

from __future__ import annotations

import ast
import builtins
import importlib
import linecache
import sys
import symtable
from types import ModuleType

from arena_lib.ray_setup import quiet_rllib_logs

# Self-checks build RLlib objects, which log RLlib's own deprecation notices: not the student's to act on.
quiet_rllib_logs()

# Names a notebook cell may use without defining them: Python's builtins and IPython's own.
# (The functions below build sets with set displays, not set(): a cell that replaced a builtin
# must not change what this check concludes about another cell.)
NOTEBOOK_BUILTINS = frozenset(dir(builtins)) | {"get_ipython", "display", "In", "Out", "exit", "quit"}


class SelfCheckFailed(AssertionError):
    """A self-check's verdict: IPython shows its message alone, as a sentence, not a traceback
    through the course's code (the whole traceback: :func:`show_traceback`)."""

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[31mSelf-check: {self}\x1b[0m",
                "(The self-check's own traceback, if you want it: arena_lib.exercises.show_traceback())"]


class WriteYourOwn(RuntimeError):
    """Course code that would compute an exercise's answer for the student. While grading, the
    build of arena_lib the kernel gets raises it from every such function; a self-check raises
    it when the student's code calls one."""

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[31mWriteYourOwn: {self}\x1b[0m"]


def show_traceback() -> None:
    """The full traceback of the last error a cell raised (a self-check shows only its message)."""
    import traceback

    error = getattr(sys, "last_value", None)
    if error is None:
        print("No cell has raised an error yet.")
        return
    traceback.print_exception(error)


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


def shown(value):
    """``value`` as a student should read it in a message: floats rounded to 6 decimals (no
    ``-1.0999999999999999``), numpy's numbers as plain ones, in dicts and lists too."""
    if isinstance(value, bool) or value is None:
        return value
    if hasattr(value, "item") and type(value).__module__ == "numpy" and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {key: shown(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(shown(item) for item in value) if isinstance(value, list) else tuple(
            shown(item) for item in value)
    return value


def self_check(function):
    """Decorator for a ``check_*`` function: its failures (``AssertionError``) reach the student
    as :class:`SelfCheckFailed`, one sentence without the course's traceback."""
    import functools

    @functools.wraps(function)
    def checked(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except SelfCheckFailed:
            raise
        except AssertionError as failed:
            raise SelfCheckFailed(str(failed)) from failed

    return checked


def attempt(function, *args, advice: str = "", explain: dict | None = None, **kwargs):
    """Call a student's function for a self-check, as grading would.

    First, whether the cell that defines it uses names that only other cells define (those
    do not run while grading); then the call, under watch for the course functions of the
    calling exercise module's ``WRITE_YOUR_OWN``. An exception becomes a message that says
    what was raised and what to do (``advice``; or ``explain[type]`` for an exception of that
    type, which then says all), not a traceback through the course's code."""
    caller = sys._getframe(1).f_globals
    check_graded_alone(function, caller.get("GRADED_NAMES", ()))
    name = getattr(function, "__name__", "your code")
    watch = _Watch(caller.get("WRITE_YOUR_OWN", {}))
    try:
        with watch:
            result = function(*args, **kwargs)
    except WriteYourOwn as refused:
        raise SelfCheckFailed(f"{name} {refused}") from refused
    except NotImplementedError as error:
        raise SelfCheckFailed(f"{name} raised NotImplementedError: it is not written yet. Replace "
                              "`raise NotImplementedError()` with your code.") from error
    except Exception as error:  # noqa: BLE001 - whatever it was, the student reads it in words
        for kind, words in (explain or {}).items():
            if isinstance(error, kind):
                raise SelfCheckFailed(words) from error
        said = f": {error}" if str(error) else ""
        raise SelfCheckFailed(f"{name} raised {type(error).__name__}{said}. {advice}".strip()) from error
    if watch.called:
        raise SelfCheckFailed(f"{name} {watch.called}")
    return result


# -- the course code an exercise must not call --------------------------------------------------

def split_target(target: str) -> tuple[str, str]:
    """``"arena_lib.rollout:Trajectory.returns"`` -> ``("arena_lib.rollout", "Trajectory.returns")``."""
    module, colon, qualname = target.partition(":")
    if not colon or not module.startswith("arena_lib.") or not qualname:
        raise ValueError(f"a WRITE_YOUR_OWN entry is 'arena_lib.module:name', got {target!r}")
    return module, qualname


def refusal(target: str, why: str) -> str:
    """What a student reads when their code calls ``target`` (``"module:name"``)."""
    return (f"uses arena_lib's {split_target(target)[1]}: {why}. This exercise asks you to write that "
            "yourself; while it is graded, the course's version is not there.")


class _Watch:
    """While active, notes the first call of a function of ``targets`` (a profile hook: the
    student's code runs unchanged). Functions are known by their file and qualified name, so
    that nothing needs importing to watch them."""

    def __init__(self, targets: dict):
        import importlib.util

        self.codes = {}
        for target, why in targets.items():
            module, qualname = split_target(target)
            spec = importlib.util.find_spec(module)
            if spec is not None and spec.origin:
                self.codes[spec.origin, qualname] = refusal(target, why)
        self.called = None

    def _profile(self, frame, event, arg):
        if event == "call" and self.called is None:
            code = frame.f_code
            self.called = self.codes.get((code.co_filename, code.co_qualname))

    def __enter__(self):
        if self.codes:
            self._before = sys.getprofile()
            sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc):
        if self.codes:
            sys.setprofile(self._before)


# -- what a cell uses that another cell defines --------------------------------------------------

def cell_source(obj) -> str | None:
    """The source of the notebook cell that defined ``obj`` (a function, a class or a method),
    or None when it was not defined in a cell IPython ran."""
    code = _code_of(obj)
    if code is None:
        return None
    lines = linecache.cache.get(code.co_filename)
    if not lines or lines[1] is not None:  # a file on disk has a modification time; a cell has none
        return None
    return "".join(lines[2])


def _code_of(obj):
    obj = getattr(obj, "__func__", obj)
    if isinstance(obj, type):
        for member in vars(obj).values():
            code = _code_of(member)
            if code is not None:
                return code
        return None
    return getattr(obj, "__code__", None)


def bound_names(source: str) -> set[str]:
    """Names a cell binds at its top level: assignments, definitions, imports."""
    try:
        table = symtable.symtable(source, "<cell>", "exec")
    except SyntaxError:
        return frozenset()
    return {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported() or s.is_namespace()}


def free_names(source: str) -> set[str]:
    """Names a cell uses without binding them, at its top level or in its functions and classes."""
    try:
        table = symtable.symtable(source, "<cell>", "exec")
    except SyntaxError:
        return frozenset()
    used = []

    def walk(scope, top):
        for symbol in scope.get_symbols():
            if top and symbol.is_referenced() and not (symbol.is_assigned() or symbol.is_imported()):
                used.append(symbol.get_name())
            elif not top and symbol.is_global() and symbol.is_referenced():
                used.append(symbol.get_name())
        for child in scope.get_children():
            walk(child, False)

    walk(table, True)
    return {*used} - bound_names(source)


def check_graded_alone(obj, graded_names=()) -> None:
    """Fail with what to do when ``obj``'s cell uses a name that no exercise cell defines: while
    grading, only exercise cells (those defining ``graded_names``) and test cells run."""
    source = cell_source(obj)
    if source is None:
        return
    namespace = getattr(getattr(obj, "__func__", obj), "__globals__", None) or vars(sys.modules.get("__main__"))
    available = NOTEBOOK_BUILTINS | bound_names(source)
    for name in graded_names:
        other = cell_source(namespace.get(name)) if name in namespace else None
        if other is not None:
            available |= bound_names(other)
    missing = sorted(free_names(source) - available)
    if missing:
        names = ", ".join(f"`{n}`" for n in missing)
        raise SelfCheckFailed(
            f"The cell of {getattr(obj, '__name__', 'your code')} uses {names}, defined in another cell. While "
            "your notebook is graded, only the exercise cells and the test cells run, so that cell's code will "
            f"not: import or define {names} in this exercise's cell.")


def graded_names_of(source: str) -> set[str]:
    """The top-level names a cell defines (for tests: an exercise cell defines its GRADED_NAMES)."""
    return {node.name for node in ast.parse(source).body if isinstance(node, (ast.FunctionDef, ast.ClassDef))} | {
        target.id for node in ast.parse(source).body if isinstance(node, ast.Assign)
        for target in node.targets if isinstance(target, ast.Name)}
