"""Seconds and peak memory to autograde correct submissions of each assignment with
real nbgrader in a temporary course folder: in the grading sandbox and without it,
side by side, and the one-off cost of recording the reference answers.

    python -m bench.grading [--students N] [--assignments 01_arena ...] [--workers 2 ...] [--no-unsafe]

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
import sys
import tempfile
from pathlib import Path

from arena_lib.process_memory import run_measured
from bench import report
from tests.notebook_tools import ASSIGNMENTS, make_course, nbgrader, tool_env
from tests.submissions import Submission

GRADE = ["arena_grading", "grade"]


def measured(command: list[str], course: Path):
    return run_measured([sys.executable, "-m", *command], timeout=3600, cwd=course, env=tool_env())


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


def grade(assignments, students: int, commands: dict) -> tuple[dict[str, dict[str, tuple[float, str]]], list[list]]:
    """Grade ``students`` correct submissions of each assignment in a temporary course, in
    every mode, printing a line per step; return ({mode: {assignment: (seconds, outcome)}},
    the steps as rows of HEADER)."""
    print(f"{'assignment':<20} {'step':<22} {'students':>8} {'seconds':>8} {'s/student':>9} {'students/h':>10} "
          f"{'peak PSS':>9}  result")
    graded, steps = {mode: {} for mode in commands}, []
    with tempfile.TemporaryDirectory() as tmp:
        course = make_course(Path(tmp))
        for assignment in assignments:
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
    args = parser.parse_args()
    section = report.Section("grading", "Autograding correct submissions")
    graded, steps = grade(args.assignments, args.students, modes(args.no_unsafe, args.workers))
    for mode, by_assignment in graded.items():
        total = sum(seconds for seconds, _ in by_assignment.values())
        print(f"{'all, ' + mode:<43} {args.students:>8} {total:>8.1f} {total / args.students:>9.1f} "
              f"{3600 * args.students / total:>10.0f}")
        steps.append(["all", f"autograde, {mode}", args.students, f"{total:.1f}", f"{total / args.students:.1f}",
                      f"{3600 * args.students / total:.0f}", "", ""])
    section.write(f"{args.students} correct submission(s) of each assignment, graded with real nbgrader in a "
                  "temporary course folder. Peak PSS: the whole process tree (nbgrader, the sandbox, the kernel and "
                  "its Ray; with --workers, the grading Ray and every worker too); GB = 1e9 bytes.\n\n"
                  + report.table(HEADER, steps))

if __name__ == "__main__":
    main()
