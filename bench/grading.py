"""Seconds (and peak memory) to autograde one student's full, correct submission
of each assignment with real nbgrader, in a temporary course folder.

    python bench/grading.py [--students N]

--students N grades N copies of each correct submission in one `nbgrader
autograde` call and prints seconds per student, as for a class.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT / "tests"))
from notebook_tools import ASSIGNMENTS, make_course, nbgrader, tool_env  # noqa: E402
from process_tree import run_measured  # noqa: E402
from submissions import Submission  # noqa: E402


def autograde_measured(assignment: str, course: Path):
    command = [sys.executable, "-m", "nbgrader", "autograde", assignment]
    return run_measured(command, timeout=3600, cwd=course, env=tool_env())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=1, help="correct submissions per assignment")
    args = parser.parse_args()
    print(f"{'assignment':<20} {'students':>8} {'seconds':>8} {'s/student':>9} {'peak PSS':>9}  result")
    total = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        course = make_course(Path(tmp))
        for assignment in ASSIGNMENTS:
            nbgrader("generate_assignment", assignment, cwd=course)
            submission = Submission(assignment).solve()
            for number in range(args.students):
                submission.write(course / "submitted" / f"student{number:03}" / assignment / submission.filename)
            result, peak, seconds = autograde_measured(assignment, course)
            total += seconds
            verdict = "ok" if result.returncode == 0 else f"FAILED: {result.stderr.strip().splitlines()[-1:]}"
            print(f"{assignment:<20} {args.students:>8} {seconds:>8.1f} {seconds / args.students:>9.1f} "
                  f"{peak / 1e9:>7.2f}GB  {verdict}", flush=True)
        shutil.rmtree(course / "autograded", ignore_errors=True)
    print(f"{'all assignments':<20} {args.students:>8} {total:>8.1f} {total / args.students:>9.1f}")


if __name__ == "__main__":
    main()
