"""A Binder-sized box for the tests: a cgroup with 2 GB of memory and 1 CPU, and a
64 MB /dev/shm (as in Docker), where this machine allows it (root, cgroups).

Elsewhere the box falls back to one CPU by affinity and a measured peak PSS of
the whole process tree, which the tests then compare with the 2 GB.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from process_tree import PeakPSS, PeakSampler  # noqa: E402

BINDER_MEMORY = 2 * 1024**3
BINDER_SHM = "64m"
CGROUP = Path("/sys/fs/cgroup")


@dataclass
class BoxRun:
    result: subprocess.CompletedProcess
    peak_bytes: int  # the cgroup's peak (page cache included), or the tree's peak PSS without a cgroup
    oom_kills: int
    # The cgroup's peak less its inactive page cache, sampled: the "working set" that Kubernetes
    # (Binder) watches, and what the limit acts on, since the kernel frees that cache before it
    # kills anything. Without a cgroup, the tree's peak PSS as above.
    working_set_bytes: int


class BoxTimeout(AssertionError):
    """A command in the box did not end in time."""


class Box:
    """Runs each command in a fresh cgroup (v2 or v1) of ``memory`` bytes and one CPU."""

    def __init__(self, memory: int = BINDER_MEMORY):
        self.memory = memory
        probe = self._make_cgroup()
        self.limited = probe is not None
        _remove(probe or [])
        self.small_shm = self.limited and _can_unshare_mounts()

    def describe(self) -> str:
        if not self.limited:
            return "1 CPU by affinity; memory measured as peak PSS (no cgroup here)"
        shm = f", /dev/shm {BINDER_SHM}" if self.small_shm else ""
        return f"a cgroup of {self.memory / 1024**3:.0f} GiB and 1 CPU{shm}"

    def run(self, command: list[str], timeout: float, **kwargs) -> BoxRun:
        """Run ``command`` in a new box; its peak memory covers its whole process tree.

        A command still running after ``timeout`` seconds raises BoxTimeout with what
        each of its Python processes was doing (their stacks, from faulthandler).
        """
        folders = self._make_cgroup() if self.limited else None
        shown = " ".join(map(str, command))
        if self.small_shm:  # a private /dev/shm of Docker's default size, for this command only
            command = ["unshare", "-m", "sh", "-c",
                       f'mount -t tmpfs -o size={BINDER_SHM} tmpfs /dev/shm && exec "$@"', "sh", *command]
        env = {**kwargs.pop("env", os.environ), "PYTHONFAULTHANDLER": "1"}  # stacks on SIGABRT
        # Files, not pipes: a process left behind holding a pipe would keep the run waiting.
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            process = subprocess.Popen(command, preexec_fn=lambda: _enter(folders), stdout=out, stderr=err,
                                       text=True, env=env, **kwargs)
            try:
                # The cgroup keeps its own peak; only what it does not keep is sampled.
                sampler = (PeakSampler(lambda: _working_set(folders[0]), interval=0.2) if folders
                           else PeakPSS(process.pid, interval=0.5))
                with sampler:
                    try:
                        process.wait(timeout=timeout)
                    except subprocess.TimeoutExpired:
                        _abort_all(process, folders, err)
                        raise BoxTimeout(f"{shown} did not end in {timeout:.0f} s; its output and the "
                                         f"stacks of its processes:\n{_read(err)[-12000:]}") from None
                result = subprocess.CompletedProcess(command, process.returncode, _read(out), _read(err))
                if not folders:
                    return BoxRun(result, sampler.peak, 0, sampler.peak)
                return BoxRun(result, _cgroup_peak(folders[0]), _oom_kills(folders[0]), sampler.peak)
            finally:
                process.kill()
                _remove(folders or [])

    def _make_cgroup(self) -> list[Path] | None:
        name = f"binder-test-{uuid.uuid4().hex[:8]}"
        try:
            if (CGROUP / "cgroup.controllers").exists():  # v2
                folder = CGROUP / name
                folder.mkdir()
                (folder / "memory.max").write_text(str(self.memory))
                (folder / "cpu.max").write_text("100000 100000")
                return [folder]
            memory, cpu = CGROUP / "memory" / name, CGROUP / "cpu" / name
            memory.mkdir()
            cpu.mkdir()
            (memory / "memory.limit_in_bytes").write_text(str(self.memory))
            (cpu / "cpu.cfs_period_us").write_text("100000")
            (cpu / "cpu.cfs_quota_us").write_text("100000")
            return [memory, cpu]
        except OSError:
            return None


def _enter(folders: list[Path] | None) -> None:  # in the child, before exec
    if folders:
        for folder in folders:
            (folder / "cgroup.procs").write_text(str(os.getpid()))
    else:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def _read(file) -> str:
    file.seek(0)
    return file.read()


def _abort_all(process: subprocess.Popen, folders: list[Path] | None, log) -> None:
    """SIGABRT every process in the box, one by one, so that each Python one prints its
    stacks into ``log`` under a line naming it."""
    if folders:
        pids = [int(pid) for pid in (folders[0] / "cgroup.procs").read_text().split()]
    else:
        pids = [process.pid, *(child.pid for child in psutil.Process(process.pid).children(recursive=True))]
    for pid in pids:
        try:
            name = " ".join(psutil.Process(pid).cmdline())[:300]
            log.write(f"\n[box] SIGABRT to process {pid}: {name}\n")
            log.flush()
            os.kill(pid, signal.SIGABRT)
            time.sleep(0.5)  # time to write its stacks before the next one's
        except (ProcessLookupError, psutil.NoSuchProcess):
            pass


def _cgroup_peak(folder: Path) -> int:
    for name in ("memory.peak", "memory.max_usage_in_bytes"):
        if (folder / name).exists():
            return int((folder / name).read_text())
    raise RuntimeError(f"no peak memory file in {folder}")


def _working_set(folder: Path) -> int:
    """Memory in use less inactive page cache (v2, or v1's memory controller)."""
    if (folder / "memory.current").exists():
        usage, inactive = int((folder / "memory.current").read_text()), "inactive_file"
    else:
        usage, inactive = int((folder / "memory.usage_in_bytes").read_text()), "total_inactive_file"
    stat = dict(line.split() for line in (folder / "memory.stat").read_text().splitlines())
    return usage - int(stat.get(inactive, 0))


def _oom_kills(folder: Path) -> int:
    """Processes the kernel killed in the box for want of memory."""
    for name in ("memory.events", "memory.oom_control"):
        if (folder / name).exists():
            return int(dict(line.split() for line in (folder / name).read_text().splitlines()).get("oom_kill", 0))
    return 0


def _remove(folders: list[Path]) -> None:
    for folder in folders:
        for pid in (folder / "cgroup.procs").read_text().split() if (folder / "cgroup.procs").exists() else []:
            try:  # a test's leftovers, such as Ray agents of a killed process
                os.kill(int(pid), 9)
            except ProcessLookupError:
                pass
        for _ in range(100):  # the box's processes may take a moment to leave
            try:
                folder.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.2)


def _can_unshare_mounts() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /dev/shm"],
                           capture_output=True)
    return probe.returncode == 0
