"""Peak memory of a whole process tree (a driver and every Ray process it starts), for the
benchmarks and the tests: PSS summed over the tree, sampled in a background thread."""

from __future__ import annotations

import subprocess
import threading
import time

import psutil


def tree_pss_bytes(root: psutil.Process) -> int:
    """PSS summed over ``root`` and all its descendants (shared pages counted once)."""
    total = 0
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for process in processes:
        try:
            total += process.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return total


class PeakSampler:
    """Samples ``measure()`` (bytes) in a background thread; ``peak`` is the largest value."""

    def __init__(self, measure, interval: float = 1.0):
        self.measure, self.interval, self.peak = measure, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.measure())
            except (OSError, ValueError):
                pass  # what it measures is going away
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


class PeakPSS(PeakSampler):
    """Samples the PSS of a process tree in a background thread; ``peak`` in bytes."""

    def __init__(self, pid: int, interval: float = 1.0):
        root = psutil.Process(pid)
        super().__init__(lambda: tree_pss_bytes(root), interval)


def run_measured(command: list[str], timeout: float, **popen_kwargs) -> tuple[subprocess.CompletedProcess, int, float]:
    """Run ``command``; return (its result, peak tree PSS in bytes, wall seconds)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen_kwargs)
    with PeakPSS(process.pid) as peak:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for child in psutil.Process(process.pid).children(recursive=True):
                child.kill()
            process.kill()
            out, err = process.communicate()
    result = subprocess.CompletedProcess(command, process.returncode, out, err)
    return result, peak.peak, time.perf_counter() - started
