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
import tempfile
import time
from dataclasses import dataclass

import psutil

from arena_lib.cgroups import Cgroup, CgroupUnavailable
from arena_lib.process_memory import PeakPSS, PeakSampler

BINDER_MEMORY = 2 * 1024**3
BINDER_SHM = "64m"
BOX_PREFIX = "binder-test-"


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
        if probe:
            probe.remove()
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
        cgroup = self._make_cgroup() if self.limited else None
        shown = " ".join(map(str, command))
        if self.small_shm:  # a private /dev/shm of Docker's default size, for this command only
            command = ["unshare", "-m", "sh", "-c",
                       f'mount -t tmpfs -o size={BINDER_SHM} tmpfs /dev/shm && exec "$@"', "sh", *command]
        env = {**kwargs.pop("env", os.environ), "PYTHONFAULTHANDLER": "1"}  # stacks on SIGABRT
        # Files, not pipes: a process left behind holding a pipe would keep the run waiting.
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            process = subprocess.Popen(command, preexec_fn=cgroup.enter if cgroup else _one_core, stdout=out,
                                       stderr=err, text=True, env=env, **kwargs)
            try:
                # The cgroup keeps its own peak; only what it does not keep is sampled.
                sampler = (PeakSampler(cgroup.working_set_bytes, interval=0.2) if cgroup
                           else PeakPSS(process.pid, interval=0.5))
                with sampler:
                    try:
                        process.wait(timeout=timeout)
                    except subprocess.TimeoutExpired:
                        _abort_all(process, cgroup, err)
                        raise BoxTimeout(f"{shown} did not end in {timeout:.0f} s; its output and the "
                                         f"stacks of its processes:\n{_read(err)[-12000:]}") from None
                result = subprocess.CompletedProcess(command, process.returncode, _read(out), _read(err))
                if not cgroup:
                    return BoxRun(result, sampler.peak, 0, sampler.peak)
                return BoxRun(result, cgroup.peak_bytes(), cgroup.oom_kills(), sampler.peak)
            finally:
                process.kill()
                if cgroup:
                    cgroup.remove(wait=20)  # the box's processes may take a moment to leave

    def _make_cgroup(self) -> Cgroup | None:
        try:
            return Cgroup(BOX_PREFIX, memory_bytes=self.memory, cpus=1)
        except CgroupUnavailable:
            return None


def _one_core() -> None:  # in the child, before exec, where no cgroup can be made
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def _read(file) -> str:
    file.seek(0)
    return file.read()


def _abort_all(process: subprocess.Popen, cgroup: Cgroup | None, log) -> None:
    """SIGABRT every process in the box, one by one, so that each Python one prints its
    stacks into ``log`` under a line naming it."""
    if cgroup:
        pids = cgroup.processes()
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


def _can_unshare_mounts() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /dev/shm"],
                           capture_output=True)
    return probe.returncode == 0
