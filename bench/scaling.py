"""What the scaling knobs cost and buy on this machine: for each setting of
num_env_runners, num_envs_per_env_runner and num_learners, the seconds to build
the algorithm, env steps sampled per second of training, seconds of training
until agent1+agent2 mean return >= 10, and the peak PSS of the process tree.

    python -m bench.scaling [--seeds 1 2 3] [--cap 120] [--only NAME ...] [--cpus N] [--torch-threads N]

Each run is its own process with a fresh Ray, one after the other (seed by seed,
every setting in turn), with PYTHONHASHSEED set to its seed (time_to_reward's
repeatable_env: a seed then repeats); the rest of
the course config (arena_lib.training.COURSE_SETTINGS) stays as it is. --cpus N
pins every run to N cores (as on Binder's 1 CPU). Prints figures and writes them to
docs/performance.md; asserts nothing.

The driver's PyTorch uses --torch-threads threads (default 1, as in Ray's workers,
which Ray starts with OMP_NUM_THREADS=1); 0 keeps PyTorch's default of one thread
per core, which slows sampling in the driver: its threads wait for each other on
every small forward pass (--torch-threads 0 against 1 shows how much).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

from arena_lib.process_memory import run_measured
from bench import ROOT, report
from bench.time_to_reward import pinned, repeatable_env

TARGET = 10.0
# name -> (num_env_runners, num_envs_per_env_runner, num_learners)
SETTINGS = {
    "0 runners x 1 env": (0, 1, 0),
    "0 runners x 5 envs": (0, 5, 0),  # notebook 6's Tune trials
    "0 runners x 10 envs": (0, 10, 0),
    "1 runner x 5 envs": (1, 5, 0),
    "2 runners x 1 env": (2, 1, 0),
    "2 runners x 5 envs": (2, 5, 0),  # the course's default on 2 cores
    "2 runners x 10 envs": (2, 10, 0),
    "1 runner x 5 envs, 1 learner": (1, 5, 1),
}


def child(name: str, seed: int, cap: float, threads: int) -> None:
    import torch

    from arena_lib import start_ray
    from arena_lib.training import arena_ppo_config

    if threads:
        torch.set_num_threads(threads)
    runners, envs, learners = SETTINGS[name]
    start_ray()
    started = time.perf_counter()
    config = (arena_ppo_config(seed=seed, num_envs_per_env_runner=envs)
              .env_runners(num_env_runners=runners)
              .learners(num_learners=learners))
    algo = config.build_algo()
    build = time.perf_counter() - started
    started, ret, reached_at = time.perf_counter(), float("nan"), None
    while time.perf_counter() - started < cap:
        result = algo.train()
        ret = float(result["env_runners"].get("episode_return_mean", float("nan")))
        steps = float(result["env_runners"]["num_env_steps_sampled_lifetime"])
        if ret >= TARGET:
            reached_at = time.perf_counter() - started
            break
    seconds = time.perf_counter() - started
    print(json.dumps({"build": build, "seconds": seconds, "reached": reached_at, "return": ret,
                      "iterations": algo.iteration, "env_steps": steps, "steps_per_s": steps / seconds}))


def reached_text(row: dict, cap: float) -> str:
    return f"{row['reached']:.1f}" if row["reached"] is not None else f">{cap:.0f}"


def medians(runs: list[tuple[dict, int]], cap: float) -> list[str]:
    """A setting's medians over its seeds: build s, steps/s, s to 10 (each seed's too), peak PSS."""
    reached = [r["reached"] if r["reached"] is not None else float("inf") for r, _ in runs]
    median = statistics.median(reached)
    shown = f">{cap:.0f}" if median == float("inf") else f"{median:.1f}"
    each = ", ".join("-" if x == float("inf") else f"{x:.0f}" for x in reached)
    return [f"{statistics.median(r['build'] for r, _ in runs):.1f}",
            f"{statistics.median(r['steps_per_s'] for r, _ in runs):.0f}",
            f"{shown} ({each})",
            f"{max(p for _, p in runs) / 2**30:.2f} GiB"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--cap", type=float, default=120.0, help="seconds of training before giving up")
    parser.add_argument("--only", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--cpus", type=int, help="pin each run to this many cores")
    parser.add_argument("--torch-threads", type=int, default=1, help="PyTorch threads in the driver (0: its default)")
    parser.add_argument("--child", nargs=2, metavar=("NAME", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child[0], int(args.child[1]), args.cap, args.torch_threads)

    section = report.Section("scaling", "Scaling settings: EnvRunners, envs per EnvRunner, Learners")
    where = f"pinned to {args.cpus} core(s)" if args.cpus else "on all cores"
    where += f", the driver's PyTorch threads: {args.torch_threads or 'default'}"
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, {where}, load average {os.getloadavg()[0]:.1f}")
    print(f"{'setting':<30} {'seed':>4} {'build s':>8} {'steps/s':>8} {'to 10 s':>8} {'return':>7} {'iters':>6} "
          f"{'peak PSS':>9}")
    rows, table = {}, []
    # Seed by seed, every setting in turn: on a machine shared with other jobs, each
    # setting then meets much the same load.
    for seed in args.seeds:
        for name in args.only:
            command = [sys.executable, "-m", __spec__.name, "--child", name, str(seed), "--cap", str(args.cap),
                       "--torch-threads", str(args.torch_threads)]
            result, peak, _ = run_measured(command, timeout=args.cap + 300, preexec_fn=pinned(args.cpus), cwd=ROOT,
                                           env=repeatable_env(seed))
            if result.returncode != 0:
                print(f"{name:<30} {seed:>4} FAILED (exit {result.returncode}):\n{result.stderr[-2000:]}")
                last = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]
                table.append([name, seed, f"failed: {last}", "", "", "", "", ""])
                continue
            row = json.loads(result.stdout.strip().splitlines()[-1])
            rows.setdefault(name, []).append((row, peak))
            table.append([name, seed, f"{row['build']:.1f}", f"{row['steps_per_s']:.0f}", reached_text(row, args.cap),
                          f"{row['return']:.1f}", row["iterations"], f"{peak / 2**30:.2f} GiB"])
            print(f"{name:<30} {seed:>4} {row['build']:>8.1f} {row['steps_per_s']:>8.0f} "
                  f"{reached_text(row, args.cap):>8} {row['return']:>7.1f} {row['iterations']:>6} "
                  f"{peak / 2**30:>6.2f}GiB  (load {os.getloadavg()[0]:.1f})", flush=True)
    print("\nmedians")
    for name, runs in rows.items():
        build, steps, to_target, peak = medians(runs, args.cap)
        print(f"{name:<30} build {build:>5} s, {steps:>6} steps/s, to 10: {to_target} s, peak {peak}")
    section.write(
        f"One run per setting and seed ({where}), at most {args.cap:g} s of training each. "
        "\"to 10\": seconds of training until agent1+agent2 mean return >= 10.\n\n"
        + report.table(["setting", "seed", "build s", "env steps/s", "to 10 s", "return", "iterations", "peak PSS"],
                       table)
        + "\n\nMedians over the seeds (seconds to 10 of each seed in brackets; - : not reached):\n\n"
        + report.table(["setting", "build s", "env steps/s", "to 10 s", "peak PSS"],
                       [[name, *medians(runs, args.cap)] for name, runs in rows.items()]))


if __name__ == "__main__":
    main()
