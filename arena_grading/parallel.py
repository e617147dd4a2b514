"""Grading a class in parallel on Ray: this machine's cores, or a Ray cluster.

nbgrader grades one submission after another into one SQLite gradebook, which is not
safe for concurrent writers (parallel autograding is nbgrader's open issue #174). Here
each Ray task grades one student's submission with nbgrader's own ``autograde``, in the
same sandbox, in a scratch course folder that holds a copy of the gradebook; this
process merges each result into the course's one ``gradebook.db`` through nbgrader's
``Gradebook`` API (the merge sketched in nbgrader #1424) and writes the autograded
notebook into ``autograded/``. So ``generate_feedback``, ``export``, the formgrader and
manual grading afterwards see what serial grading leaves. Ray schedules the tasks and
retries those whose worker died; nothing here is a scheduler or a queue of our own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy.exc
from nbgrader.api import Gradebook, MissingEntry

from arena_grading import outcomes
from arena_grading.launch import autograde_args, nbgrader_child, nbgrader_env
from arena_grading.outcomes import GRADING_FOLDER, ClassResult
from arena_grading.sandbox import sweep_stale_folders

STUDENT_FIELDS = ("first_name", "last_name", "email", "lms_user_id")
GRADE_FIELDS = ("auto_score", "manual_score", "extra_credit", "needs_manual_grade")
COMMENT_FIELDS = ("auto_comment", "manual_comment")
SCRATCH_PREFIX = "arena-grade-"


@dataclass
class Graded:
    """What one task sends back: nbgrader's exit, its log, the autograded folder's files, the
    sandbox's reports of how the kernel ended and the submission's gradebook entries (None
    if nbgrader made none)."""

    student: str
    returncode: int
    log: str
    files: dict
    records: dict
    record: dict | None
    node: str
    seconds: float


def read_files(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def write_files(folder: Path, files: dict) -> None:
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def course_bundle(course: Path, assignment: str) -> dict:
    """What a scratch course needs besides the submission: the config, the gradebook (the
    assignment's tests are restored from it), the source folder (autograde copies its
    other files) and the reference answers recorded before grading."""
    files = {name: (course / name).read_bytes() for name in ("nbgrader_config.py", "gradebook.db")}
    for folder in (Path("solutions") / assignment, GRADING_FOLDER / assignment):
        files.update({str(folder / name): data for name, data in read_files(course / folder).items()})
    return files


def read_record(folder: Path, assignment: str, student: str) -> dict | None:
    """The submission's entries in a gradebook, as plain data."""
    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}", outcomes.course_id(folder)) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        return {
            "student": {name: getattr(submission.student, name) for name in STUDENT_FIELDS},
            "timestamp": submission.timestamp,
            "extension": submission.extension,
            "notebooks": {nb.name: {
                "flagged": nb.flagged,
                "late_submission_penalty": nb.late_submission_penalty,
                "grades": {g.name: {name: getattr(g, name) for name in GRADE_FIELDS} for g in nb.grades},
                "comments": {c.name: {name: getattr(c, name) for name in COMMENT_FIELDS} for c in nb.comments},
            } for nb in submission.notebooks},
        }


def grade_submission(bundle: dict, submission: dict, assignment: str, student: str, autograde_args: list) -> Graded:
    """The Ray task: ``nbgrader autograde`` for one student in a scratch course folder."""
    import ray

    started = time.perf_counter()
    sweep_stale_folders(SCRATCH_PREFIX)  # of graders killed with a lost Ray worker
    scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
    try:
        scratch.chmod(0o755)  # the sandbox's kernel runs as nobody and must reach the submission
        write_files(scratch, bundle)
        write_files(scratch / "submitted" / student / assignment, submission)
        # Nothing of the grading cluster may reach the kernel.
        env = nbgrader_env()
        done = subprocess.run(
            [sys.executable, "-m", "nbgrader", "autograde", assignment, f"--student={student}", *autograde_args],
            cwd=scratch, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            preexec_fn=nbgrader_child,
        )
        autograded = scratch / "autograded" / student / assignment
        records = outcomes.student_folder(scratch, assignment, student)
        return Graded(
            student=student, returncode=done.returncode, log=done.stdout,
            files=read_files(autograded) if autograded.is_dir() else {},
            records=read_files(records) if records.is_dir() else {},
            record=read_record(scratch, assignment, student),
            node=ray.get_runtime_context().get_node_id(), seconds=time.perf_counter() - started,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def merge(course: Path, assignment: str, graded: Graded) -> None:
    """Put one graded submission into the course: gradebook entries first, the autograded
    folder last (its presence marks the student as done, so an interrupted merge regrades)."""
    record = graded.record
    if record is not None:
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}", outcomes.course_id(course)) as gb, warnings.catch_warnings():
            # nbgrader's add_submission makes SQLAlchemy warn about its autoflush (serial grading too).
            warnings.simplefilter("ignore", category=sqlalchemy.exc.SAWarning)
            gb.update_or_create_student(graded.student, **record["student"])
            submission = gb.update_or_create_submission(assignment, graded.student)  # as autograde does
            submission.timestamp, submission.extension = record["timestamp"], record["extension"]
            for notebook in submission.notebooks:
                entry = record["notebooks"][notebook.name]
                notebook.flagged = entry["flagged"]
                notebook.late_submission_penalty = entry["late_submission_penalty"]
                for grade in notebook.grades:
                    for name, value in entry["grades"][grade.name].items():
                        setattr(grade, name, value)
                for comment in notebook.comments:
                    for name, value in entry["comments"][comment.name].items():
                        setattr(comment, name, value)
            gb.db.commit()
    records = outcomes.student_folder(course, assignment, graded.student)
    shutil.rmtree(records, ignore_errors=True)
    write_files(records, graded.records)
    log = outcomes.log_path(course, assignment, graded.student)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(graded.log)
    target = course / "autograded" / graded.student / assignment
    shutil.rmtree(target, ignore_errors=True)
    if graded.files:
        partial = target.with_name(f".{assignment}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        write_files(partial, graded.files)
        partial.rename(target)


def start_grading_ray(workers: int | None, address: str | None) -> None:
    import logging

    import ray

    if address:
        ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
    else:
        # "local": a new Ray of its own, even where `ray start` left one running on this machine.
        ray.init(address="local", num_cpus=workers, include_dashboard=False, logging_level=logging.ERROR,
                 log_to_driver=False)


def grade_class(course: Path, assignment: str, students: list[str], *, workers: int | None = None,
                address: str | None = None, sandboxed: bool = True, cpus_per_student: float = 1,
                memory_per_student: int | None = None, retries: int = 1, progress: bool = True) -> ClassResult:
    """Grade each of ``students``' submissions of ``assignment`` as a Ray task."""
    import ray
    from tqdm import tqdm

    result = ClassResult(assignment, "")
    if not students:
        result.where = "(nothing to grade)"
        return result
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", outcomes.course_id(course)) as gb:
        for student in students:  # in serial grading's order, so that grades.csv lists them the same way
            gb.update_or_create_student(student)
    started = time.perf_counter()
    start_grading_ray(workers, address)
    try:
        task = ray.remote(grade_submission).options(
            num_cpus=cpus_per_student, memory=memory_per_student or sandbox_memory(course), max_retries=retries)
        bundle = ray.put(course_bundle(course, assignment))
        pending = {task.remote(bundle, read_files(course / "submitted" / s / assignment), assignment, s,
                               autograde_args(sandboxed)): s for s in students}
        with tqdm(total=len(students), desc=f"grading {assignment}", unit="student", disable=not progress) as bar:
            while pending:
                (ready,), _ = ray.wait(list(pending), num_returns=1)
                student = pending.pop(ready)
                try:
                    graded = ray.get(ready)
                except ray.exceptions.RayError as error:  # its worker or node died, retries spent
                    result.not_graded[student] = f"lost its Ray worker ({type(error).__name__}); run again to grade it"
                else:
                    merge(course, assignment, graded)
                    result.nodes.setdefault(graded.node, []).append(student)
                    result.seconds[student] = graded.seconds
                    if outcomes.is_graded(course, assignment, student):
                        result.graded.append(student)
                    else:
                        result.not_graded[student] = outcomes.why_not_graded(course, assignment, student,
                                                                              graded.returncode)
                bar.update()
    finally:
        ray.shutdown()
    result.wall_seconds = time.perf_counter() - started
    result.where = f"on {len(result.nodes)} Ray node(s)"
    return result


def sandbox_memory(course: Path) -> int:
    """Each task asks Ray for as much memory as the sandbox lets a kernel use."""
    from traitlets.config.loader import PyFileConfigLoader

    from arena_grading.sandbox import parse_size

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    return parse_size(str(config.SandboxedExecute.get("memory_limit", "2G")))
