"""The class tournament's time and peak memory: the full round robin on 1 and on N workers side by
side, how well the Swiss schedule agrees with the round robin, and a MOOC-sized class.

    python -m bench.tournament [--sizes 20 50 100 200] [--workers 1 2] [--games 8]
                               [--agreement 200] [--mooc 1000 5000] [--mooc-workers 2]

Each class is a course folder of N agent files plus the course's 4 baselines. The agents are the
course's two trained agents (arena_lib/data/, alternately) with Gaussian noise added to every
weight and bias, of a different size for each (0.4 to 2.5 times each array's spread, spread evenly
over the class by the golden ratio): from nearly as good as the course's agents to worse than
random moves, so that a ranking means something. Each run is
``python -m arena_grading tournament`` in a child process, as an instructor runs it; its wall time
(start to written leaderboard) and the peak PSS of its process tree are measured from outside.

- **Round robin**, ``--sizes`` on each of ``--workers``: seconds, peak PSS, the speed-up, whether
  the boards are the same, and what the command said about where it played.
- **Agreement** at ``--agreement`` agents: the Swiss board against the round robin's (Spearman's
  rank correlation over everyone on the board, and how many of the round robin's top 10 are in the
  Swiss top 10), and whether baselines.csv (what a grade may come from) is the same in both.
- **MOOC**: ``--mooc`` sizes with the default schedule (Swiss above the threshold) on
  ``--mooc-workers`` workers. The goal: 5,000 agents rated in under 10 minutes on 2 cores.

Prints the figures and writes them to docs/performance.md; asserts nothing.
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
FILE = f"{ASSIGNMENT}_agent.safetensors"
BASELINES = 4
GOLDEN = 0.6180339887
# Noise, in spreads of each array: below 0.4 an agent plays as the course's agent does, within the
# games' own noise (a ranking could not tell such agents apart); at 2.5 it plays worse than random.
LEAST_NOISE, MOST_NOISE = 0.4, 2.5


def bench_class(folder: Path, size: int) -> Path:
    """``size`` agent files: the course's agents with noise of a different size each."""
    import numpy as np

    from arena_lib.agents import Agent, save_agent
    from arena_lib.opponents import course_agent

    bases = [course_agent("course league agent"), course_agent("course pair agent")]
    for i in range(size):
        base, rng = bases[i % 2], np.random.default_rng(i)
        level = LEAST_NOISE + (MOST_NOISE - LEAST_NOISE) * ((i * GOLDEN) % 1)
        layers = {role: [tuple((array + rng.normal(0, level * weight.std(), array.shape)).astype(np.float32)
                               for array in (weight, bias)) for weight, bias in base.layers[role]]
                  for role in base.layers}
        student = folder / "submitted" / f"student{i:04d}" / ASSIGNMENT
        student.mkdir(parents=True)
        save_agent(Agent(f"bench {i}", base.activation, layers, base.arena), student / FILE)
    return folder


def run(course: Path, *args: str) -> dict:
    """One tournament command: seconds, peak PSS, the board (names by rank), baselines.csv, its output."""
    command = [sys.executable, "-m", "arena_grading", "tournament", ASSIGNMENT, *args]
    result, peak, seconds = run_measured(command, timeout=3600, cwd=course)
    if result.returncode != 0:
        raise SystemExit(f"the tournament failed (exit {result.returncode}):\n{result.stderr[-3000:]}")
    out = course / "tournament" / ASSIGNMENT
    with open(out / "leaderboard.csv", newline="") as f:
        board = [row["name"] for row in csv.DictReader(f)]
    said = [line for line in result.stdout.splitlines()
            if "in this process" in line or " agents, " in line or line.startswith("time: ")]
    return {"seconds": seconds, "peak": peak, "board": board, "csv": (out / "leaderboard.csv").read_text(),
            "baselines": (out / "baselines.csv").read_text(), "said": said}


def spearman(first: list, second: list) -> float:
    """Spearman's rank correlation of two orderings of the same names (no ties: ranks are places)."""
    place = {name: rank for rank, name in enumerate(second)}
    n = len(first)
    squares = sum((rank - place[name]) ** 2 for rank, name in enumerate(first))
    return 1 - 6 * squares / (n * (n * n - 1))


def time_of(said: list) -> str:
    """The command's own account of where its time went."""
    return next((line.removeprefix("time: ") for line in said if line.startswith("time: ")), "?")


def pairings_of(said: list) -> str:
    line = next((line for line in said if " agents, " in line), "")
    return line.split(" agents, ")[1].split(" pairings")[0] if line else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", type=int, default=[20, 50, 100, 200])
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--games", type=int, default=8, help="games per pairing (the command's default)")
    parser.add_argument("--agreement", type=int, default=200, help="the class size at which Swiss is compared")
    parser.add_argument("--mooc", nargs="*", type=int, default=[1000, 5000])
    parser.add_argument("--mooc-workers", type=int, default=2)
    args = parser.parse_args()
    section = report.Section("tournament", "The class tournament (python -m arena_grading tournament)")
    games = ["--games", str(args.games)]

    header = ["agents (+ 4 baselines)", "pairings", *[f"{w} worker(s): seconds, peak PSS" for w in args.workers],
              f"speed-up, {args.workers[-1]} vs {args.workers[0]}", "same leaderboard", "where it played"]
    rows, agreement, phases = [], None, []
    print(" | ".join(header))
    for size in sorted(set(args.sizes) | {args.agreement}):
        with tempfile.TemporaryDirectory(prefix="tournament-") as folder:
            course = bench_class(Path(folder), size)
            if size in args.sizes:
                runs = {w: run(course, "--schedule", "round-robin", "--workers", str(w), *games) for w in args.workers}
                seconds = {w: runs[w]["seconds"] for w in args.workers}
                same = len({runs[w]["csv"] for w in args.workers}) == 1
                where = "; ".join(f"{w}: " + ("one process (too few pairings for workers)"
                                              if any("in this process" in line for line in runs[w]["said"])
                                              else "as asked") for w in args.workers if w > 1)
                rows.append([size, pairings_of(runs[args.workers[0]]["said"]),
                             *[f"{runs[w]['seconds']:.1f} s, {runs[w]['peak'] / 2**30:.2f} GiB" for w in args.workers],
                             f"{seconds[args.workers[0]] / seconds[args.workers[-1]]:.2f}x", "yes" if same else "NO",
                             where])
                print(" | ".join(map(str, rows[-1])), flush=True)
                phases += [[size, w, time_of(runs[w]["said"])] for w in args.workers]
                full = runs[args.workers[-1]]
            if size == args.agreement:
                if size not in args.sizes:
                    full = run(course, "--schedule", "round-robin", "--workers", str(args.workers[-1]), *games)
                swiss = run(course, "--schedule", "swiss", "--workers", str(args.workers[-1]), *games)
                top = len(set(full["board"][:10]) & set(swiss["board"][:10]))
                agreement = [size, pairings_of(full["said"]), f"{full['seconds']:.1f} s", pairings_of(swiss["said"]),
                             f"{swiss['seconds']:.1f} s", f"{spearman(full['board'], swiss['board']):.3f}",
                             f"{top} of 10", "yes" if full["baselines"] == swiss["baselines"] else "NO"]
                print("agreement:", agreement, flush=True)

    mooc = []
    for size in args.mooc:
        with tempfile.TemporaryDirectory(prefix="tournament-") as folder:
            course = bench_class(Path(folder), size)
            result = run(course, "--workers", str(args.mooc_workers), *games)
        entrants = size + BASELINES
        mooc.append([size, pairings_of(result["said"]), f"{entrants * (entrants - 1) // 2:,}", args.mooc_workers,
                     f"{result['seconds']:.0f} s ({result['seconds'] / 60:.1f} min)", f"{result['peak'] / 2**30:.2f} GiB",
                     time_of(result["said"])])
        print("MOOC:", mooc[-1], flush=True)

    body = (f"{args.games} games per pairing, each in both roles. The agents: the course's two trained agents "
            "(arena_lib/data/), alternately, with Gaussian noise of 0.4 to 2.5 times each array's spread added to "
            "every weight and bias, a different size for each agent: from nearly as good as the course's agents to "
            "worse than random moves. Time: the whole command in a child process, from reading the files to the written "
            "leaderboard (with its replays and copy marks); peak PSS of its process tree, workers included.\n\n"
            "**Full round robin**, one worker and more side by side (the command plays in one process where "
            "workers would not pay off, and says so):\n\n" + report.table(header, rows)
            + "\n\nWhere the time went, as the command says it (with workers, the copy marks are made while they "
            "play):\n\n" + report.table(["agents", "workers", "phases"], phases))
    if agreement:
        body += ("\n\n**Swiss rounds against the full round robin** (the same class; rank correlation over "
                 "everyone on the board, baselines included):\n\n" + report.table(
                     ["agents", "round robin: pairings", "seconds", "Swiss: pairings", "seconds",
                      "Spearman rank correlation", "round robin's top 10 in Swiss top 10", "same baselines.csv"],
                     [agreement]))
    if mooc:
        body += ("\n\n**A MOOC**, the default schedule (Swiss above the threshold):\n\n" + report.table(
            ["agents (+ 4 baselines)", "pairings played", "a full round robin would be", "workers", "seconds",
             "peak PSS", "phases"], mooc))
    section.write(body)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
