"""Seconds and peak memory to autograde correct submissions of each assignment with
real nbgrader in a temporary course folder: in the grading sandbox and without it,
side by side, and the one-off cost of recording the reference answers.

    python -m bench.grading [--students N] [--assignments 01_arena ...] [--workers 2 ...] [--no-unsafe]
                            [--compare-with CHECKOUT]

--compare-with CHECKOUT grades, side by side in the same run, with another checkout of the course
(say, a commit before a change to grading: `git worktree add ../before COMMIT`, then `make setup`
there): its own environment, notebooks and grading tools, assignment by assignment.

--students N grades N copies of each correct submission in one `nbgrader
autograde` call and prints seconds per student and students per hour, as for a
class. --workers 2 also grades them in parallel on Ray (python -m arena_grading grade --workers 2),
side by side. Peak memory is the whole process tree's PSS: nbgrader, the sandbox,
the kernel and its Ray (and, in parallel, the grading Ray and every worker).
Prints the figures and writes them to docs/performance.md.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from arena_lib.process_memory import run_measured
from bench import report
from tests.notebook_tools import ASSIGNMENTS, make_course, nbgrader, tool_env
from tests.submissions import Submission

GRADE = ["arena_grading", "grade"]


def measured(command: list[str], course: Path, python: str = sys.executable):
    env = tool_env()
    env["PATH"] = f"{Path(python).parent}:{env['PATH']}"
    return run_measured([python, "-m", *command], timeout=3600, cwd=course, env=env)


# Run by the other checkout's Python, in that checkout: a course folder of its own, its correct submissions.
OTHER_COURSE = """
import sys
from pathlib import Path
from tests.notebook_tools import make_course, nbgrader
from tests.submissions import Submission
folder, students, assignments = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
course = make_course(folder)
for assignment in assignments:
    nbgrader("generate_assignment", assignment, cwd=course)
    submission = Submission(assignment).solve()
    for number in range(students):
        submission.write(course / "submitted" / f"student{number:03}" / assignment / submission.filename)
"""


def other_checkout(checkout: Path, folder: Path, assignments, students: int) -> tuple[Path, str]:
    """(a course folder made by ``checkout``'s own code, the Python of its environment)."""
    python = str(checkout / ".venv" / "bin" / "python")
    folder.mkdir(parents=True)
    subprocess.run([python, "-c", OTHER_COURSE, str(folder), str(students), *assignments], cwd=checkout, check=True,
                   env={**tool_env(), "PATH": f"{Path(python).parent}:{tool_env()['PATH']}"})
    return folder / "course", python


def outcome(result) -> str:
    return "ok" if result.returncode == 0 else f"FAILED: {result.stderr.strip().splitlines()[-1:]}"


def modes(no_unsafe: bool = False, workers=()) -> dict:
    """How to autograde: mode name -> assignment -> the command."""
    commands = {"sandbox": lambda a: [*GRADE, a, "--force"]}
    if not no_unsafe:
        commands["no sandbox"] = lambda a: [*GRADE, a, "--force", "--unsafe-no-sandbox"]
    for n in workers:
        commands[f"--workers {n}"] = lambda a, n=n: [*GRADE, a, "--force", f"--workers={n}"]
    return commands


HEADER = ["assignment", "step", "students", "seconds", "s/student", "students/h", "peak PSS", "result"]


def grade(assignments, students: int, commands: dict, compare_with: Path | None = None
          ) -> tuple[dict[str, dict[str, tuple[float, str]]], list[list]]:
    """Grade ``students`` correct submissions of each assignment in a temporary course, in
    every mode (and with ``compare_with``, another checkout, in its sandbox mode), printing a line
    per step; return ({mode: {assignment: (seconds, outcome)}}, the steps as rows of HEADER)."""
    print(f"{'assignment':<20} {'step':<22} {'students':>8} {'seconds':>8} {'s/student':>9} {'students/h':>10} "
          f"{'peak PSS':>9}  result")
    other = f"sandbox, {compare_with.name}" if compare_with else None
    graded, steps = {mode: {} for mode in [*([other] if other else []), *commands]}, []
    with tempfile.TemporaryDirectory() as tmp:
        course = make_course(Path(tmp))
        if compare_with:
            other_course, other_python = other_checkout(compare_with, Path(tmp) / "other", assignments, students)
        for assignment in assignments:
            if compare_with:  # the other checkout first, then this one: side by side, assignment by assignment
                result, peak, seconds = measured(["arena_grading", "record", assignment], other_course, other_python)
                steps.append([assignment, f"reference answers, {compare_with.name}", "", f"{seconds:.1f}", "", "",
                              f"{peak / 1e9:.2f} GB", outcome(result)])
                result, peak, seconds = measured([*GRADE, assignment, "--force"], other_course, other_python)
                graded[other][assignment] = seconds, outcome(result)
                print(f"{assignment:<20} {'autograde, ' + other:<22} {students:>8} {seconds:>8.1f} "
                      f"{seconds / students:>9.1f} {3600 * students / seconds:>10.0f} "
                      f"{peak / 1e9:>7.2f}GB  {outcome(result)}", flush=True)
                steps.append([assignment, f"autograde, {other}", students, f"{seconds:.1f}",
                              f"{seconds / students:.1f}", f"{3600 * students / seconds:.0f}",
                              f"{peak / 1e9:.2f} GB", outcome(result)])
            nbgrader("generate_assignment", assignment, cwd=course)
            result, peak, seconds = measured(["arena_grading", "record", assignment], course)
            print(f"{assignment:<20} {'reference answers':<22} {'':>8} {seconds:>8.1f} {'':>9} {'':>10} "
                  f"{peak / 1e9:>7.2f}GB  {outcome(result)} (once per change)", flush=True)
            steps.append([assignment, "reference answers (once per change)", "", f"{seconds:.1f}", "", "",
                          f"{peak / 1e9:.2f} GB", outcome(result)])
            submission = Submission(assignment).solve()
            for number in range(students):
                submission.write(course / "submitted" / f"student{number:03}" / assignment / submission.filename)
            for mode, command in commands.items():
                shutil.rmtree(course / "autograded", ignore_errors=True)
                result, peak, seconds = measured(command(assignment), course)
                graded[mode][assignment] = seconds, outcome(result)
                print(f"{assignment:<20} {'autograde, ' + mode:<22} {students:>8} {seconds:>8.1f} "
                      f"{seconds / students:>9.1f} {3600 * students / seconds:>10.0f} "
                      f"{peak / 1e9:>7.2f}GB  {outcome(result)}", flush=True)
                steps.append([assignment, f"autograde, {mode}", students, f"{seconds:.1f}",
                              f"{seconds / students:.1f}", f"{3600 * students / seconds:.0f}",
                              f"{peak / 1e9:.2f} GB", outcome(result)])
    return graded, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=1, help="correct submissions per assignment")
    parser.add_argument("--assignments", nargs="+", default=ASSIGNMENTS, choices=ASSIGNMENTS)
    parser.add_argument("--workers", nargs="*", type=int, default=[], help="also grade with these --workers")
    parser.add_argument("--no-unsafe", action="store_true", help="skip grading without the sandbox")
    parser.add_argument("--compare-with", type=Path, metavar="CHECKOUT",
                        help="also grade with another checkout of the course (its .venv made), side by side")
    args = parser.parse_args()
    if args.compare_with and not (args.compare_with / ".venv" / "bin" / "python").exists():
        parser.error(f"{args.compare_with} has no .venv: run `make setup` there first")
    section = report.Section("grading" + ("-compared" if args.compare_with else ""),
                             "Autograding correct submissions" + (
                                 f", this checkout beside {args.compare_with.name}" if args.compare_with else ""))
    graded, steps = grade(args.assignments, args.students, modes(args.no_unsafe, args.workers), args.compare_with)
    for mode, by_assignment in graded.items():
        total = sum(seconds for seconds, _ in by_assignment.values())
        print(f"{'all, ' + mode:<43} {args.students:>8} {total:>8.1f} {total / args.students:>9.1f} "
              f"{3600 * args.students / total:>10.0f}")
        steps.append(["all", f"autograde, {mode}", args.students, f"{total:.1f}", f"{total / args.students:.1f}",
                      f"{3600 * args.students / total:.0f}", "", ""])
    compared = ""
    if args.compare_with:
        commit = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=args.compare_with, capture_output=True,
                                text=True).stdout.strip()
        compared = (f" Beside this checkout, the same in `{args.compare_with.name}` (commit {commit}, its own "
                    "environment, notebooks and grading tools), assignment by assignment in the same run.")
    section.write(f"{args.students} correct submission(s) of each assignment, graded with real nbgrader in a "
                  "temporary course folder. Peak PSS: the whole process tree (nbgrader, the sandbox, the kernel and "
                  "its Ray; with --workers, the grading Ray and every worker too); GB = 1e9 bytes." + compared + "\n\n"
                  + report.table(HEADER, steps))

if __name__ == "__main__":
    main()
