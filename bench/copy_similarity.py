"""What the tournament's copy marks measure, on agents trained with RLlib as notebook 8 trains them:
the cosine similarity of each role's parameters (arena_grading.copies) between independent runs and
between a run and copies of it trained further, the figures that chose ``SIMILAR_AT``.

    python -m bench.copy_similarity [--iterations N] [--seeds 3 3 3 4 5] [--fine-tune 1 2 5 10 20 40]
                                    [--early 10] [--early-seeds 3 3]

Each run is notebook 8's league (``league_config`` with the reference answers of its exercises,
the notebook's own code) for --iterations iterations (the notebook's budget), with PYTHONHASHSEED=0
as ``make lab`` sets it. The seeds: the notebook's own (3) twice, as two students who run it
unchanged, then others, as students who change it; then --early-seeds runs of only --early
iterations (students who stopped early: near the weights they all started from). The first run
then goes on training, and its agent is saved after each number of further iterations in
--fine-tune: a student who copies a classmate's agent and trains it a little more. Every agent is
saved as the tournament reads it.
Prints the figures and writes them to docs/performance.md; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from bench import ROOT, report


def train_runs(folder: Path, runs: list[tuple[int, int]], fine_tune: list[int]) -> dict:
    """{label: path of the saved agent}; seconds of training in the labels' order."""
    from arena_lib import start_ray
    from arena_lib.agents import agent_from_modules, save_agent
    from arena_lib.league import league_config
    from arena_lib.training import train
    from tests.notebook_tools import run_solution

    start_ray()
    league_policy = run_solution("08_league", "ex8_league_policy")["league_policy"]
    should_snapshot = run_solution("08_league", "ex8_should_snapshot")["should_snapshot"]
    saved = {}

    def save(algo, label):
        agent = agent_from_modules(algo.get_module("explorer"), algo.get_module("chaser"), name=label)
        saved[label] = save_agent(agent, folder / f"{len(saved):02d}.safetensors")

    for run, (seed, iterations) in enumerate(runs):
        started = time.perf_counter()
        algo = league_config(league_policy, should_snapshot, seed=seed).build_algo()
        train(algo, iterations=iterations, progress=False)
        label = f"run {run + 1} (seed {seed}, {iterations} iterations)"
        save(algo, label)
        print(f"{label}: {iterations} iterations in {time.perf_counter() - started:.0f} s", flush=True)
        if run == 0:
            done = 0
            for more in sorted(fine_tune):
                train(algo, iterations=more - done, progress=False)
                done = more
                save(algo, f"run 1 trained {more} more iteration(s)")
                print(f"  + {more} iterations", flush=True)
        algo.stop()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=None,
                        help="each run's iterations (default: notebook 8's budget, its LEAGUE_ITERATIONS)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[3, 3, 3, 4, 5])
    parser.add_argument("--early", type=int, default=10, help="the early runs' iterations")
    parser.add_argument("--early-seeds", type=int, nargs="*", default=[3, 3])
    parser.add_argument("--fine-tune", type=int, nargs="+", default=[1, 2, 5, 10, 20, 40])
    args = parser.parse_args()
    if os.environ.get("PYTHONHASHSEED") != "0":  # as make lab runs the notebooks; a run then repeats
        os.execve(sys.executable, [sys.executable, "-m", "bench.copy_similarity", *sys.argv[1:]],
                  {**os.environ, "PYTHONHASHSEED": "0"})
    if args.iterations is None:
        from tests.notebook_tools import parameters

        args.iterations = parameters(ROOT / "solutions" / "08_league" / "08_league.ipynb")["LEAGUE_ITERATIONS"]
    section = report.Section("copy-similarity", "Copy marks: how similar trained agents' weights are")
    from arena_grading.copies import SIMILAR_AT, Fingerprint, cosine, file_digest
    from arena_lib.agents import load_agent
    from arena_lib.opponents import COURSE_AGENTS, DATA

    with tempfile.TemporaryDirectory(prefix="copy-similarity-") as folder:
        runs = [(seed, args.iterations) for seed in args.seeds] + [(seed, args.early) for seed in args.early_seeds]
        saved = train_runs(Path(folder), runs, args.fine_tune)
        prints = {label: Fingerprint(label, file_digest(path.read_bytes()), load_agent(path).layers)
                  for label, path in saved.items()}
    for name, file in COURSE_AGENTS.items():
        path = DATA / file
        prints[name] = Fingerprint(name, file_digest(path.read_bytes()), load_agent(path).layers, course=True)
    first = next(iter(prints))
    pairs = [(first, other) for other in prints if other != first]
    runs = [label for label in prints if label.startswith("run ") and "more" not in label]
    pairs += [(a, b) for i, a in enumerate(runs) for b in runs[i + 1:] if a != first]
    header = ["agent", "compared with", "explorer cosine", "chaser cosine", "identical weights",
              f"marked (>= {SIMILAR_AT})"]
    rows = []
    for a, b in pairs:
        values = [cosine(prints[a], prints[b], role) for role in ("explorer", "chaser")]
        shown = ["other shapes" if v is None else f"{v:.4f}" for v in values]
        same = prints[a].weights_digest == prints[b].weights_digest
        marked = same or any(v is not None and v >= SIMILAR_AT for v in values)
        rows.append([a, b, *shown, "yes" if same else "no", "yes" if marked else "no"])
        print(" | ".join(rows[-1]), flush=True)
    section.write(
        f"Notebook 8's league (the reference answers of its exercises) trained {args.iterations} iterations per "
        f"run with PYTHONHASHSEED=0, as `make lab` runs it; seeds {args.seeds} (the notebook's own is 3), then "
        f"seeds {args.early_seeds} for {args.early} iterations only. Run 1 "
        f"then trained on, its agent saved after {args.fine_tune} more iterations: a copy of a classmate's "
        "agent trained a little more. Cosine: of each role's parameters flattened (arena_grading.copies). "
        "The course's agents (arena_lib/data/) are trained by scripts/train_course_agents.py.\n\n"
        + report.table(header, rows))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
