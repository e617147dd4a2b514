"""docs/performance.md, written by the benchmarks: each one replaces its own section with
its latest figures, headed by when, at which commit and on which machine they were
measured. Nobody edits the figures by hand."""

from __future__ import annotations

import datetime
import os
import platform
import re
import shlex
import subprocess
import sys
from pathlib import Path

from bench import ROOT

REPORT = ROOT / "docs" / "performance.md"
HEADER = """# Performance

Every figure below was measured by a benchmark in `bench/` and written here by it (`make bench`
runs them all); each section says when, at which commit and on which machine. Timings are never
asserted by the tests: compare figures within one section, which one run measured side by side.
"""


def commit() -> str:
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    sha = git("rev-parse", "--short=10", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return f"{sha} (with uncommitted changes)" if dirty else sha


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        names = re.findall(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = names[0] if names else cpu
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        import psutil

        memory = f"{psutil.virtual_memory().total / 2**30:.0f} GiB"
    except ImportError:
        memory = "memory unknown"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cores} cores ({cpu}), {memory}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}; load average {load:.1f} when it started")


class Section:
    """Start it before measuring (it notes the machine's load then); ``write(body)`` at the end."""

    def __init__(self, name: str, title: str, command: str | None = None):
        self.name, self.title = name, title
        module = sys.argv[0].removeprefix(str(ROOT) + "/").removesuffix(".py").replace("/", ".")
        # Quoted as a shell needs it: scaling's --only names hold spaces.
        self.command = command or f"python -m {module} {shlex.join(sys.argv[1:])}".strip()
        self.started = datetime.datetime.now().astimezone()
        self.machine = machine()

    def write(self, body: str, report: Path = REPORT) -> None:
        took = datetime.datetime.now().astimezone() - self.started
        text = (f"<!-- section: {self.name} -->\n## {self.title}\n\n"
                f"Measured {self.started:%Y-%m-%d %H:%M %Z} ({took.total_seconds() / 60:.0f} min) at commit "
                f"{commit()} on {self.machine}, by `{self.command}`.\n\n{body.strip()}\n<!-- end: {self.name} -->\n")
        old = report.read_text() if report.exists() else HEADER
        pattern = re.compile(rf"<!-- section: {re.escape(self.name)} -->.*?<!-- end: {re.escape(self.name)} -->\n",
                             re.S)
        new = pattern.sub(lambda _: text, old) if pattern.search(old) else f"{old.rstrip()}\n\n{text}"
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(new)
        print(f"\nwritten to {report.relative_to(ROOT)}, section {self.title!r}")


def table(header: list[str], rows: list[list]) -> str:
    """A markdown table; a "|" inside a cell would split its row, so it is escaped."""
    def line(cells):
        return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *(line(row) for row in rows)])
