"""Starting nbgrader's commands for grading, and what is refused before nbgrader reads anything.

Serial grading (``arena_grading.grading``) and parallel grading (``arena_grading.parallel``)
start ``nbgrader autograde`` the same way, from here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from traitlets import Unicode
from traitlets.config import Configurable

from arena_grading.sandbox import die_with_parent, parse_size, unblock_signals


class SubmissionLimits(Configurable):
    """What a submission may be before nbgrader reads it (``c.SubmissionLimits`` in nbgrader_config.py)."""

    max_size = Unicode("5M", help="The largest submission, all its files together (a correct notebook with its "
                                  "outputs and animations is about 1.2 MB). A larger one is not graded, with "
                                  "the reason, before nbgrader reads it: nbgrader holds a notebook in memory "
                                  "several times over.").tag(config=True)


def course_config(course: Path):
    """The course's nbgrader configuration (nbgrader_config.py), as nbgrader reads it."""
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()


def submission_problem(folder: Path, limit_bytes: int) -> str | None:
    """Why a submission folder cannot be graded at all, or None: too large (symbolic links are
    not followed and count as nothing)."""
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    if size > limit_bytes:
        return (f"its submission is {size / 2**20:.1f} MiB, more than the {limit_bytes / 2**20:.1f} MiB allowed "
                "(c.SubmissionLimits.max_size), so nbgrader did not read it")
    return None


def nbgrader_env() -> dict:
    """This environment, with its Python's folder first on PATH (nbgrader calls alembic) and
    no RAY_* variable: a kernel never reaches a grading cluster."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("RAY_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def nbgrader_child() -> None:
    """In the nbgrader process, before it starts: as if started from a terminal (a Ray worker
    thread blocks SIGINT), and killed with its parent if that is lost."""
    unblock_signals()
    die_with_parent(signal.SIGKILL)


def autograde_args(sandboxed: bool) -> list[str]:
    return [] if sandboxed else ["--SandboxedExecute.sandbox=False"]


def nbgrader(course: Path, *args: str, log: Path | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run an nbgrader command in the course folder; its output goes to ``log`` (or is kept)."""
    command = [sys.executable, "-m", "nbgrader", *args]
    if log is None:
        return subprocess.run(command, cwd=course, env=nbgrader_env(), capture_output=True, text=True, **kwargs)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        return subprocess.run(command, cwd=course, env=nbgrader_env(), stdout=out, stderr=subprocess.STDOUT,
                              text=True, **kwargs)


def submission_limit(course: Path) -> int:
    return parse_size(SubmissionLimits(config=course_config(course)).max_size)
