"""``python -m arena_grading check-sandbox | install-kernel | record ASSIGNMENT``.

``make setup`` installs the kernel; ``scripts/grade`` checks the sandbox and
records the reference answers before it grades, so a problem shows once, up front.
"""

import sys
from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

from arena_grading import judge, kernelspec, sandbox

USAGE = "usage: python -m arena_grading check-sandbox | install-kernel | record ASSIGNMENT [--unsafe-no-sandbox] (in the course folder)"


def record(assignment: str, sandboxed: bool = True) -> int:
    """Record (or find cached) the reference answers of every notebook of an assignment."""
    config = PyFileConfigLoader("nbgrader_config.py", path=".").load_config()
    config.SandboxedExecute.sandbox = sandboxed
    notebooks = sorted(Path("solutions", assignment).glob("*.ipynb"))
    if not notebooks:
        print(f"no notebooks in solutions/{assignment}/", file=sys.stderr)
        return 2
    for notebook in notebooks:
        try:
            answers = judge.reference_answers(config, assignment, notebook.stem)
        except (judge.ReferenceFailed, sandbox.SandboxUnavailable) as error:
            print(f"cannot grade {assignment}: {error}", file=sys.stderr)
            return 1
        cases = sum(len(entry["answers"]) for entry in answers.values())
        print(f"reference answers of {notebook.name}: {cases} hidden cases in {len(answers)} test cells")
    return 0


def main(argv: list[str]) -> int:
    if argv == ["install-kernel"]:
        print(f"installed the grading kernel in {kernelspec.install()}")
        return 0
    if argv == ["check-sandbox"]:
        try:
            print(sandbox.check())
        except sandbox.SandboxUnavailable as error:
            print(f"The grading sandbox cannot start: {error}", file=sys.stderr)
            return 1
        return 0
    if len(argv) in (2, 3) and argv[0] == "record" and argv[2:] in ([], ["--unsafe-no-sandbox"]):
        return record(argv[1], sandboxed=not argv[2:])
    print(USAGE, file=sys.stderr)
    return 2


sys.exit(main(sys.argv[1:]))
