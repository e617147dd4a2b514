"""The class tournament's time and peak memory for classes of synthetic agents, serially and on
several workers, side by side in one run.

    python -m bench.tournament [--sizes 20 50 100 200] [--workers 1 2] [--games 8]

Each class is a course folder of N agent files with the course network's shape ([64, 64],
tanh) and random weights, plus the course's 4 baselines: a full round robin of (N + 4)(N + 3)/2
pairings, each in both roles. Each run is `python -m arena_grading tournament` in a child
process, as an instructor runs it; its wall time (start to written leaderboard) and the peak
PSS of its process tree (with Ray's workers) are measured from outside. The goal: 200 agents
rated in at most 10 minutes on a 2-core machine. Prints the figures and writes them to
docs/performance.md; asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from pathlib import Path

from arena_lib.process_memory import run_measured
from bench import ROOT, report

ASSIGNMENT = "08_league"


def synthetic_class(folder: Path, size: int) -> Path:
    from tests.agent_files import random_agent, save

    for i in range(size):
        save(random_agent(i, hiddens=(64, 64), scale=0.3), folder / "submitted" / f"student{i:03d}" / ASSIGNMENT,
             f"{ASSIGNMENT}_agent.safetensors")
    return folder


def run(course: Path, workers: int, games: int) -> tuple[float, int, str]:
    command = [sys.executable, "-m", "arena_grading", "tournament", ASSIGNMENT, "--workers", str(workers),
               "--games", str(games)]
    result, peak, seconds = run_measured(command, timeout=3600, cwd=course)
    if result.returncode != 0:
        raise SystemExit(f"the tournament failed (exit {result.returncode}):\n{result.stderr[-2000:]}")
    return seconds, peak, (course / "tournament" / ASSIGNMENT / "leaderboard.csv").read_text()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", type=int, default=[20, 50, 100, 200])
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--games", type=int, default=8, help="games per pairing (the command's default)")
    args = parser.parse_args()
    section = report.Section("tournament", "The class tournament (python -m arena_grading tournament)")
    header = ["agents (+ 4 baselines)", "pairings", *[f"{w} worker(s): seconds, peak PSS" for w in args.workers],
              f"speed-up, {args.workers[-1]} vs {args.workers[0]}", "same leaderboard"]
    rows = []
    print(" | ".join(header))
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="tournament-") as folder:
            course = synthetic_class(Path(folder), size)
            runs = {w: run(course, w, args.games) for w in args.workers}
        entrants = size + 4
        seconds = {w: runs[w][0] for w in args.workers}
        boards = {runs[w][2] for w in args.workers}
        assert len(list(csv.DictReader(next(iter(boards)).splitlines()))) == entrants
        rows.append([size, entrants * (entrants - 1) // 2,
                     *[f"{runs[w][0]:.0f} s, {runs[w][1] / 2**30:.2f} GiB" for w in args.workers],
                     f"{seconds[args.workers[0]] / seconds[args.workers[-1]]:.2f}x", "yes" if len(boards) == 1 else "NO"])
        print(" | ".join(map(str, rows[-1])), flush=True)
    section.write(f"{args.games} games per pairing, each in both roles; agents of the course network's shape "
                  "([64, 64], tanh) with random weights. Time: the whole command, from reading the files to the "
                  "written leaderboard (with its two replays); peak PSS of its process tree, Ray's workers "
                  "included.\n\n" + report.table(header, rows))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
