"""Linux control groups (v2, or v1's per-controller hierarchies): what limits this
process has, and a group of our own that limits and measures what runs in it.

Read here: a container's CPU quota and memory limit (Binder gives 1 CPU and 2 GB),
which ``ray_setup`` sizes Ray by. Made here: the grading sandbox's group (memory and
process limits for a student's kernel) and the tests' Binder-sized box (memory and
one CPU), whose peak memory, working set and out-of-memory kills they read back.
Elsewhere (macOS, no cgroup file system) the readers return "no limit".
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
# Where new groups are made: at the top (as root), or in a group delegated to the user who
# grades (an administrator's mkdir and chown), named as in /proc/self/cgroup ("/grading").
PARENT_VARIABLE = "ARENA_CGROUP_PARENT"


def parent_folder(controller: str = "") -> Path:
    """Where new groups are made: in v2's hierarchy, or in v1's of ``controller``."""
    below = (os.environ.get(PARENT_VARIABLE) or "").strip("/")
    base = ROOT if is_v2() else ROOT / controller
    return base / below if below else base


def is_v2() -> bool:
    return (ROOT / "cgroup.controllers").exists()


def own_folder(controller: str = "") -> Path:
    """This process's cgroup folder: v2's if ``controller`` is empty, else v1's for it."""
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if (controller and controller in controllers.split(",")) or (not controller and controllers == ""):
                base = ROOT / controller if controller else ROOT
                own = base / path.lstrip("/")
                return own if own.is_dir() else base
    except (OSError, ValueError):
        pass
    return ROOT / controller if controller else ROOT


def _numbers(path: Path) -> list[str]:
    return path.read_text().split()


def _stat(folder: Path, key: str) -> int:
    for line in (folder / "memory.stat").read_text().splitlines():
        name, value = line.split()
        if name == key:
            return int(value)
    return 0


def cpu_quota() -> float | None:
    """CPUs this process's cgroup may use (``1.0`` for Binder), or None without a quota."""
    try:
        v2 = own_folder() / "cpu.max"  # "max 100000" or "200000 100000"
        if v2.exists():
            quota, period = _numbers(v2)[:2]
            return None if quota == "max" else int(quota) / int(period)
        v1 = own_folder("cpu")
        if (v1 / "cpu.cfs_quota_us").exists():
            quota = int(_numbers(v1 / "cpu.cfs_quota_us")[0])
            return None if quota <= 0 else quota / int(_numbers(v1 / "cpu.cfs_period_us")[0])
    except (OSError, ValueError, IndexError):
        return None
    return None


def memory_limit_and_use() -> tuple[int | None, int]:
    """(limit, working set) of this process's memory cgroup; limit None when unlimited.
    The working set leaves out inactive file cache, which the kernel frees when needed."""
    try:
        v2 = own_folder()
        if (v2 / "memory.max").exists():
            limit = _numbers(v2 / "memory.max")[0]
            use = int(_numbers(v2 / "memory.current")[0]) - _stat(v2, "inactive_file")
            return (None if limit == "max" else int(limit)), use
        v1 = own_folder("memory")
        if (v1 / "memory.limit_in_bytes").exists():
            limit = int(_numbers(v1 / "memory.limit_in_bytes")[0])
            use = int(_numbers(v1 / "memory.usage_in_bytes")[0]) - _stat(v1, "total_inactive_file")
            return (None if limit >= 2**60 else limit), use
    except (OSError, ValueError, IndexError):
        pass
    return None, 0


class CgroupUnavailable(OSError):
    """No cgroup could be made here (not root, no delegated subtree, no cgroup file system)."""


def maker_is_alive(name: str, prefix: str) -> bool:
    """Whether the process whose id follows ``prefix`` in ``name`` ("<prefix><pid>-...") still runs."""
    maker = name.removeprefix(prefix).split("-")[0]
    return maker.isdigit() and Path(f"/proc/{maker}").exists()


class Cgroup:
    """A new cgroup with a memory, CPU and process limit (each optional); what runs in it
    (``enter()`` from a child before it execs) and its children stay in it.

    Its name is ``<prefix><this pid>-<random>``, so that :meth:`sweep` can tell the groups
    of makers that were killed outright (no time to clean up) from those still in use.
    """

    def __init__(self, prefix: str, *, memory_bytes: int | None = None, cpus: float | None = None,
                 processes: int | None = None):
        self.name = f"{prefix}{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.v2 = is_v2()
        controllers = [c for c, wanted in (("memory", True), ("cpu", cpus), ("pids", processes)) if wanted]
        self.folders = [parent_folder() / self.name] if self.v2 else [parent_folder(c) / self.name for c in controllers]
        self._by_controller = {c: self.folders[0] if self.v2 else parent_folder(c) / self.name for c in controllers}
        try:
            for folder in self.folders:
                folder.mkdir()
            memory = self._by_controller["memory"]
            if memory_bytes is not None:
                (memory / ("memory.max" if self.v2 else "memory.limit_in_bytes")).write_text(str(memory_bytes))
                if self.v2 and (memory / "memory.swap.max").exists():
                    (memory / "memory.swap.max").write_text("0")  # past the limit: killed, not swapped
            if cpus:
                period = 100_000
                cpu = self._by_controller["cpu"]
                if self.v2:
                    (cpu / "cpu.max").write_text(f"{int(cpus * period)} {period}")
                else:
                    (cpu / "cpu.cfs_period_us").write_text(str(period))
                    (cpu / "cpu.cfs_quota_us").write_text(str(int(cpus * period)))
            if processes:
                (self._by_controller["pids"] / "pids.max").write_text(str(processes))
        except OSError as error:
            self.remove()
            raise CgroupUnavailable(error.errno, f"cannot make a cgroup in {self.folders[0].parent} ({error})") from None

    def enter(self) -> None:
        """Move the calling process into the group (its children follow)."""
        for folder in self.folders:
            (folder / "cgroup.procs").write_text(str(os.getpid()))

    @property
    def _memory(self) -> Path:
        return self._by_controller["memory"]

    def processes(self) -> list[int]:
        try:
            return [int(pid) for pid in (self._memory / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def peak_bytes(self) -> int:
        """The most memory the group has held, page cache included (0 if unknown)."""
        for name in ("memory.peak", "memory.max_usage_in_bytes"):
            try:
                return int((self._memory / name).read_text())
            except (OSError, ValueError):
                continue
        return 0

    def working_set_bytes(self) -> int:
        """Memory in use now less inactive page cache: what Kubernetes (so Binder) watches,
        and what a limit acts on, since the kernel frees that cache before it kills anything."""
        if self.v2:
            return int((self._memory / "memory.current").read_text()) - _stat(self._memory, "inactive_file")
        return (int((self._memory / "memory.usage_in_bytes").read_text())
                - _stat(self._memory, "total_inactive_file"))

    def oom_kills(self) -> int:
        """Processes the kernel killed in the group for want of memory."""
        for name in ("memory.events", "memory.oom_control"):
            try:
                lines = (self._memory / name).read_text().splitlines()
            except OSError:
                continue
            return int(dict(line.split()[:2] for line in lines if line.strip()).get("oom_kill", 0))
        return 0

    def remove(self, wait: float = 0.0) -> None:
        """Kill what still runs in the group and remove it; wait up to ``wait`` seconds
        for its processes to leave (else a later :meth:`sweep` removes it)."""
        deadline = time.monotonic() + wait
        for folder in self.folders:
            while True:
                try:
                    for pid in (folder / "cgroup.procs").read_text().split():
                        try:
                            os.kill(int(pid), signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() >= deadline:
                        break
                    time.sleep(0.2)

    @staticmethod
    def sweep(prefix: str) -> None:
        """Remove empty groups named ``<prefix>...`` whose makers were killed outright.
        A group whose maker still runs is left alone: it may be one that another grader,
        running at the same time, has made and not yet entered."""
        parents = [parent_folder()] if is_v2() else [parent_folder(c) for c in ("memory", "cpu", "pids")]
        for parent in parents:
            for folder in parent.glob(f"{prefix}*") if parent.is_dir() else ():
                if maker_is_alive(folder.name, prefix):
                    continue
                try:
                    if not (folder / "cgroup.procs").read_text().strip():
                        folder.rmdir()
                except OSError:
                    pass
