"""``python -m arena_grading check-sandbox | install-kernel | record ASSIGNMENT | grade-parallel ...``.

``make setup`` installs the kernel; ``scripts/grade`` checks the sandbox and
records the reference answers before it grades, so a problem shows once, up front;
with ``--workers`` or ``--ray-address`` it grades through ``grade-parallel``.
"""

import argparse
import sys
from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

from arena_grading import judge, kernelspec, sandbox

USAGE = ("usage: python -m arena_grading check-sandbox | install-kernel | record ASSIGNMENT [--unsafe-no-sandbox] | "
         "grade-parallel ASSIGNMENT (--workers N | --ray-address ADDRESS) [...] (in the course folder)")


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


def grade_parallel(argv: list[str]) -> int:
    """Grade the class's submissions as Ray tasks and merge them into gradebook.db (parallel.py)."""
    from arena_grading import parallel
    from arena_grading.sandbox import parse_size

    parser = argparse.ArgumentParser(prog="python -m arena_grading grade-parallel")
    parser.add_argument("assignment")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--workers", type=int, help="grade this many submissions at a time on this machine")
    where.add_argument("--ray-address", help="grade on this running Ray cluster (e.g. HOST:6379)")
    parser.add_argument("--student", action="append", default=[], help="only students matching this pattern")
    parser.add_argument("--force", action="store_true", help="regrade students already graded")
    parser.add_argument("--unsafe-no-sandbox", action="store_true")
    parser.add_argument("--retries", type=int, default=1, help="regrade a submission whose Ray worker died (default 1)")
    parser.add_argument("--cpus-per-student", type=float, default=1.0)
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    if args.retries < 0:
        parser.error(f"--retries must be 0 or more, got {args.retries}")
    config = PyFileConfigLoader("nbgrader_config.py", path=".").load_config()
    memory = parse_size(str(config.SandboxedExecute.get("memory_limit", "2G")))
    summary = parallel.grade_class(
        Path.cwd(), args.assignment, workers=args.workers, address=args.ray_address, patterns=args.student,
        force=args.force, retries=args.retries, cpus_per_student=args.cpus_per_student, memory_per_student=memory,
        autograde_args=["--SandboxedExecute.sandbox=False"] if args.unsafe_no_sandbox else [],
    )
    if summary.skipped:
        print(f"{len(summary.skipped)} already graded, not regraded (--force regrades): {' '.join(summary.skipped)}")
    print(f"graded {len(summary.graded)} of {len(summary.graded) + len(summary.failed)} submissions of "
          f"{args.assignment} on {len(summary.nodes)} Ray node(s)")
    for node, students in sorted(summary.nodes.items()):
        print(f"  node {node[:12]}: {len(students)} ({' '.join(sorted(students))})")
    if summary.failed:
        print(f"Not graded (their nbgrader logs are in {parallel.LOGS / args.assignment}/; they count 0 "
              "in grades.csv until regraded):", file=sys.stderr)
        for student, why in sorted(summary.failed.items()):
            print(f"  {student}: {why}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["grade-parallel"]:
        return grade_parallel(argv[1:])
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
