"""The course library as a graded kernel gets it: arena_lib without the code that computes the
assignment's answers.

Each exercise module names that code in ``WRITE_YOUR_OWN`` (``"arena_lib.rollout:rollout"``
-> why). This build is a copy of arena_lib in which the body of each of those functions is
replaced, in the file itself, by ``raise WriteYourOwn(...)``; the sandbox mounts it where
arena_lib is, read-only. So no alias, string, ``getattr``, reload, ``sys.modules`` entry or
reading of a file reaches the real code while a submission is graded, and a report, however
it was altered, can only carry answers the student's own code computed.
"""

from __future__ import annotations

import ast
import compileall
import shutil
from pathlib import Path

from arena_grading.sandbox import library_path

LIBRARY = "arena_lib"
STUB_IMPORT = "from arena_lib.exercises import WriteYourOwn as _WriteYourOwn  # the grading build's\n"


class LibraryBuildError(RuntimeError):
    """An exercise module names code the build cannot find; the message says which."""


def write_your_own(assignment: str, library: Path | None = None) -> dict[str, str]:
    """The assignment's ``WRITE_YOUR_OWN`` ("module:name" -> why), read from its exercise module's
    source without importing it (that would load RLlib into every nbgrader command)."""
    from arena_lib.exercises import module_name

    library = library or library_path()
    path = library.parent.joinpath(*module_name(assignment).split(".")).with_suffix(".py")
    if not path.exists():
        return {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "WRITE_YOUR_OWN" for t in node.targets):
            return ast.literal_eval(node.value)
    return {}


def _find(tree: ast.Module, qualname: str):
    """The FunctionDef of ``qualname`` ("rollout", "Trajectory.returns") in a module's tree."""
    body, found = tree.body, None
    for part in qualname.split("."):
        found = next((node for node in body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                      and node.name == part), None)
        if found is None:
            return None
        body = found.body
    return found if isinstance(found, (ast.FunctionDef, ast.AsyncFunctionDef)) else None


def stubbed(source: str, qualnames: dict[str, str]) -> str:
    """``source`` with the body of each function of ``qualnames`` (name -> message) replaced by
    ``raise _WriteYourOwn(message)``; every other line stays where it was."""
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    functions = []
    for qualname, message in qualnames.items():
        function = _find(tree, qualname)
        if function is None:
            raise LibraryBuildError(f"WRITE_YOUR_OWN names {qualname!r}, which this module does not define")
        functions.append((function, message))
    for function, message in sorted(functions, key=lambda pair: -pair[0].body[0].lineno):
        first, last = function.body[0], function.body[-1]
        indent = " " * first.col_offset
        stub = f"raise _WriteYourOwn({message!r})"
        start, end = first.lineno - 1, last.end_lineno  # lines [start, end) hold the body
        if first.lineno == function.lineno:  # "def f(): return x" on one line
            line = lines[start]
            lines[start] = line[:first.col_offset] + stub + "\n"
            lines[start + 1:end] = ["\n"] * (end - start - 1)
        else:
            lines[start:end] = [indent + stub + "\n"] + ["\n"] * (end - start - 1)
    return "".join(lines) + "\n" + STUB_IMPORT


def build(assignment: str | None, destination: Path, library: Path | None = None) -> Path:
    """Write the grading build of arena_lib for ``assignment`` into ``destination/arena_lib``
    (readable by everyone: the sandbox's kernel runs as another user); return that folder."""
    from arena_lib.exercises import refusal, split_target

    library = library or library_path()
    target = destination / LIBRARY
    shutil.copytree(library, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    by_file: dict[Path, dict[str, str]] = {}
    for name, why in (write_your_own(assignment, library) if assignment else {}).items():
        module, qualname = split_target(name)
        path = target.joinpath(*module.split(".")[1:]).with_suffix(".py")
        if not path.exists():
            raise LibraryBuildError(f"WRITE_YOUR_OWN of {assignment} names {name!r}, but there is no {module}")
        by_file.setdefault(path, {})[qualname] = refusal(name, why)
    for path, qualnames in by_file.items():
        path.write_text(stubbed(path.read_text(), qualnames))
    compileall.compile_dir(target, quiet=1)  # the kernel cannot write bytecode into a read-only folder
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target
