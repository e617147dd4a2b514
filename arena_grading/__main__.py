"""``python -m arena_grading COMMAND``: the instructor's one command (``--help`` for each)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def not_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def parser() -> argparse.ArgumentParser:
    from arena_grading.schedule import AUTO_SWISS_ABOVE

    main = argparse.ArgumentParser(
        prog="python -m arena_grading",
        description="Grading the course with nbgrader, student code in a sandbox. Run it in the course folder "
                    "(the one with nbgrader_config.py).")
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    grade = commands.add_parser(
        "grade", help="grade one assignment for the class: autograde, feedback and grades.csv",
        description="Grade one assignment for the class with nbgrader's own commands: generate_assignment, "
                    "zip_collect (if downloaded/ASSIGNMENT/archive/ exists), the hidden tests' reference answers, "
                    "autograde for each student (one at a time, or in parallel on Ray), generate_feedback and "
                    "export. A graded run executes only the exercise cells, the self-checks and, last, the hidden "
                    "tests, in a sandbox whose arena_lib lacks the code that computes the answers. Students already "
                    "graded are skipped, so a run that was stopped finishes the rest when started again. At the end "
                    "it lists who was not graded and why, and the scores; it exits 1 if anyone was not graded, 2 if "
                    "grading could not start.")
    grade.add_argument("assignment", help="the assignment's folder name in solutions/, e.g. 01_arena")
    where = grade.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive, metavar="N",
                       help="grade N submissions at a time on this machine, as Ray tasks (default: one at a time, "
                            "without Ray)")
    where.add_argument("--ray-address", metavar="ADDR",
                       help="grade on the running Ray cluster at ADDR (e.g. HEAD_HOST:6379); each node needs this "
                            "environment and bubblewrap")
    grade.add_argument("--student", action="append", default=[], metavar="ID",
                       help="only this student (a glob such as 'a*' works); repeat for more")
    grade.add_argument("--force", action="store_true", help="regrade students already graded")
    grade.add_argument("--unsafe-no-sandbox", action="store_true",
                       help="run student code without the sandbox (unsafe: it can read the solutions and hidden "
                            "tests and write the gradebook)")
    grade.add_argument("--retries", type=not_negative, default=1, metavar="N",
                       help="with --workers or --ray-address: grade a submission again N times if its Ray worker "
                            "died (default 1)")

    record = commands.add_parser(
        "record", help="record the reference answers of an assignment's hidden tests (grade does it first)",
        description="Run the assignment's source notebook in solutions/ as a submission is run and keep the "
                    "answers its hidden tests report, in .grading/ (once per change of the notebook, arena_lib "
                    "or the pinned packages).")
    record.add_argument("assignment")
    record.add_argument("--unsafe-no-sandbox", action="store_true", help="run it without the sandbox")

    release = commands.add_parser(
        "release-students", help="write the student-only copy of the course (for the public repository)",
        description="Write a copy of the course for students into FOLDER: the generated notebooks, arena_lib, "
                    "Binder's files and a README, Makefile and nbgrader configuration for students; no "
                    "solutions, hidden tests or grading tools. It is read back before it is written, and refused "
                    "if any file holds a solution or a hidden test. Push FOLDER as the repository students and "
                    "the Binder badge use (docs/instructors.md).")
    release.add_argument("folder", help="a new or empty folder outside the course folder")
    release.add_argument("--repository", default="hands-on-rllib/hands-on-rllib-students", metavar="OWNER/NAME",
                         help="the public GitHub repository the students' Binder badge opens (default: %(default)s)")

    report = commands.add_parser(
        "report", help="after grading: what the class got wrong, as one HTML page and a CSV",
        description="Read the gradebook and what the judge recorded while grading ASSIGNMENT (nothing is run "
                    "again) and write reports/ASSIGNMENT/report.html and report.csv: the distribution of scores, "
                    "for each exercise the share of students with full, some and no points, the hidden cases "
                    "answered wrong most often (what most of them answered, what was expected), the most frequent "
                    "errors, every student's outcome, who was not graded and why, the grading time per student, "
                    "and the pairs of students whose exercise cells look copied.")
    report.add_argument("assignment", help="the graded assignment, e.g. 01_arena")
    report.add_argument("--anonymize", action="store_true",
                        help="pseudonyms instead of student ids, and \"[a student]\" for any id inside the messages quoted")

    tournament = commands.add_parser(
        "tournament", help="play the students' agents against each other and write a leaderboard",
        description="Read each student's agent file (submitted/<student>/ASSIGNMENT/ASSIGNMENT_agent.safetensors), "
                    "play pairings in both roles over fixed seeds, with the course's baseline agents, rate "
                    "everyone with openskill and write tournament/ASSIGNMENT/leaderboard.html and leaderboard.csv, "
                    "baselines.csv (each student's games against the baselines, real ids, for grading) and "
                    "copies.csv (students whose files or weights are the same as, or nearly, another's or a course "
                    "agent's: for a person to judge; real ids). Files that cannot play are listed with the reason "
                    "and left out. The same files give the same board however many workers play them. Grades do "
                    "not change. Exit status: 0 every file was read, 1 a file was left out, 2 fewer than two "
                    "agents can play, 3 an internal error.")
    tournament.add_argument("assignment", help="the assignment whose agents play, e.g. 08_league")
    where = tournament.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive, default=1, metavar="N",
                       help="play on N processes of this machine (default: 1; a class too small for workers "
                            "to pay off is played in one process, and the output says so)")
    where.add_argument("--ray-address", metavar="ADDR", help="play on the running Ray cluster at ADDR")
    tournament.add_argument("--schedule", choices=["auto", "round-robin", "swiss"], default="auto",
                            help="round-robin: everyone against everyone (n squared pairings); swiss: each "
                                 "student against each baseline, then rounds in which students of close rating "
                                 "meet (n log n pairings); auto (default): round-robin up to "
                                 f"{AUTO_SWISS_ABOVE} students, swiss above")
    tournament.add_argument("--games", type=positive, default=8, metavar="N",
                            help="games (seeds) per pairing, each played in both roles (default %(default)s)")
    tournament.add_argument("--anonymize", action="store_true",
                            help="show pseudonyms instead of student ids, and no copy marks (for a leaderboard "
                                 "posted to the class)")
    tournament.add_argument("--no-baselines", action="store_true",
                            help="leave out the course's baseline agents (random, scripted, the course's own)")

    export = commands.add_parser(
        "export", help="after grading: the grades as an LMS imports them (Canvas, Moodle)",
        description="Write the gradebook's scores as Canvas's or Moodle's gradebook import takes them: one row per "
                    "student, the LMS's id column(s), one column per assignment (a student not graded counts 0, as "
                    "in grades.csv). docs/instructors.md says how to import it in each LMS.")
    export.add_argument("--lms", required=True, choices=("canvas", "moodle"), help="the LMS whose format to write")
    export.add_argument("--assignment", action="append", default=[], metavar="NAME",
                        help="only this assignment (repeat for more; default: every graded one)")
    export.add_argument("--roster", type=Path, metavar="CSV",
                        help="Canvas: the gradebook Canvas exported (Grades ▸ Export), whose rows and ids to fill in")
    export.add_argument("--match", metavar="COLUMN",
                        help="which LMS id is the nbgrader student id: with --roster, its column (default 'SIS Login "
                             "ID'); for Moodle 'username' (default) or 'email'")
    export.add_argument("--output", type=Path, metavar="FILE", help="where to write it (default grades-LMS.csv)")

    commands.add_parser("check-sandbox", help="start a tiny sandbox and say whether grading can use it")
    commands.add_parser("install-kernel", help="install the grading kernel into this Python environment "
                                               "(make setup does it)")
    return main


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if args.command == "grade":
        from arena_grading.grading import grade

        return grade(Path.cwd(), args.assignment, workers=args.workers, ray_address=args.ray_address,
                     students=args.student, force=args.force, sandboxed=not args.unsafe_no_sandbox,
                     retries=args.retries)
    if args.command == "record":
        from arena_grading.reference import record_assignment

        return record_assignment(Path.cwd(), args.assignment, sandboxed=not args.unsafe_no_sandbox)
    if args.command == "release-students":
        from arena_grading.release import ReleaseLeaks, release

        try:
            files = release(Path.cwd(), Path(args.folder), args.repository)
        except (ReleaseLeaks, FileExistsError, ValueError) as error:
            print(error, file=sys.stderr)
            return 2
        print(f"wrote the student release, {len(files)} files, into {args.folder}")
        return 0
    if args.command == "report":
        from arena_grading.report import run

        return run(Path.cwd(), args.assignment, anonymize=args.anonymize)
    if args.command == "tournament":
        # Its matrices are small: one BLAS thread is faster than several (set before numpy loads).
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        from arena_grading.tournament import run

        return run(Path.cwd(), args.assignment, workers=args.workers, address=args.ray_address, episodes=args.games,
                   anonymize=args.anonymize, with_baselines=not args.no_baselines, schedule_name=args.schedule)
    if args.command == "export":
        from arena_grading.lms import export

        return export(Path.cwd(), args.lms, args.output, args.assignment or None, args.roster, args.match)
    if args.command == "install-kernel":
        from arena_grading import kernelspec

        print(f"installed the grading kernel in {kernelspec.install()}")
        return 0
    from arena_grading import sandbox

    try:
        print(sandbox.check())
    except sandbox.SandboxUnavailable as error:
        print(f"The grading sandbox cannot start: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
