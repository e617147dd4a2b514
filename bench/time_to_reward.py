"""Seconds of training until agent1+agent2 mean return >= 10: the course's config
against RLlib's default PPO config and a plain PyTorch PPO (bench/ppo_reference.py,
the same nets and batch in one process, no Ray) as a yardstick, side by side in
one run, with the peak PSS of each training's whole process tree (driver + Ray).

    python bench/time_to_reward.py [--configs course rllib-default pytorch-reference] [--seeds 1 2 3] [--cap 300] [--cpus 1]

Each training runs in its own process (a fresh Ray for the RLlib configs), one
after the other, with PYTHONHASHSEED set to its seed so that a seed repeats (see
repeatable_env); --cpus N pins each to N cores (--cpus 1 as `taskset -c 0`).
Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import sys
import time

from arena_lib.process_memory import run_measured
from bench import ROOT

TARGET = 10.0
# "pytorch-reference" is no RLlib config: its child runs ppo_reference.train_to_target.
CONFIGS = ("course", "rllib-default", "pytorch-reference")
REFERENCE = "pytorch-reference"


def parse_settings(items) -> dict:
    """['num_env_runners=0', 'fcnet_hiddens=[32]'] -> {'num_env_runners': 0, 'fcnet_hiddens': [32]}."""
    settings = {}
    for item in filter(None, items):
        key, _, value = item.partition("=")
        settings[key] = ast.literal_eval(value)
    return settings


def course_variant(name: str) -> tuple[dict, int | None]:
    """'course:num_env_runners=0,torch_threads=1' -> (course settings to change, torch threads
    of the driver or None): variants of the course config, compared side by side."""
    settings = parse_settings(name.partition(":")[2].split(","))
    return settings, settings.pop("torch_threads", None)


def config_name(name: str) -> str:
    """argparse type: a known config, or the course config with settings changed."""
    if name in CONFIGS:
        return name
    if name.startswith("course:"):
        from arena_lib.training import COURSE_SETTINGS

        unknown = sorted(set(course_variant(name)[0]) - set(COURSE_SETTINGS))
        if not unknown:
            return name
        raise argparse.ArgumentTypeError(f"unknown setting(s) {unknown}; allowed: {sorted(COURSE_SETTINGS)} and torch_threads")
    raise argparse.ArgumentTypeError(f"{name!r}: use one of {list(CONFIGS)} or course:KEY=VALUE,...")


def build_config(name: str, seed: int):
    from ray.rllib.algorithms.ppo import PPOConfig

    from arena_lib.env import MultiAgentArena
    from arena_lib.training import POLICY_OF_AGENT, agent_to_policy, arena_ppo_config, flatten_observations

    if name.startswith("course"):
        return arena_ppo_config(seed=seed, **course_variant(name)[0])
    if name == "rllib-default":
        # Only what the arena needs to run at all: the connector and two policies.
        return (
            PPOConfig()
            .environment(MultiAgentArena)
            .env_runners(env_to_module_connector=flatten_observations)
            .multi_agent(policies=set(POLICY_OF_AGENT.values()), policy_mapping_fn=agent_to_policy)
            .debugging(seed=seed)
        )
    raise ValueError(f"unknown RLlib config {name!r}; use 'course' or 'rllib-default'")


def child(name: str, seed: int, cap: float) -> None:
    if name == REFERENCE:
        # No Ray: it trains in this child itself, so the table and the peak PSS measure it alike.
        from bench.ppo_reference import train_to_target

        print(json.dumps(train_to_target(seed, cap, TARGET)))
        return
    from arena_lib import start_ray

    threads = course_variant(name)[1] if name.startswith("course") else None
    if threads:
        import torch

        torch.set_num_threads(threads)
    start_ray()
    algo = build_config(name, seed).build_algo()
    started, iterations, ret = time.perf_counter(), 0, float("nan")
    while time.perf_counter() - started < cap:
        result = algo.train()
        iterations += 1
        ret = float(result["env_runners"].get("episode_return_mean", float("nan")))
        if ret >= TARGET:
            break
    seconds = time.perf_counter() - started
    steps = float(result["env_runners"]["num_env_steps_sampled_lifetime"])
    print(json.dumps({"seconds": seconds, "reached": bool(ret >= TARGET), "return": ret,
                      "iterations": iterations, "env_steps": steps}))


def seconds_to_target(row: dict) -> float:
    """A run's seconds until the target, inf if it did not reach it."""
    return row["seconds"] if row["reached"] else float("inf")


def pinned(cpus: int | None):
    """A preexec_fn that pins a child (and all it starts) to the first ``cpus`` cores, as taskset -c 0."""
    cores = sorted(os.sched_getaffinity(0))[:cpus] if cpus else None
    return (lambda: os.sched_setaffinity(0, cores)) if cores else None


def repeatable_env(seed: int) -> dict:
    """This environment with Python's hash seed fixed to ``seed``, for a child (and the Ray it starts).

    RLlib keeps agent and module IDs in sets, whose order of iteration Python draws anew in each
    process (hash randomization); that order decides which policy draws its random actions first,
    so the same RLlib seed took 7 iterations in one process and 12 in the next. With the hash
    seed fixed too, a seed is one repeatable run (same iterations and returns, with EnvRunners too).
    """
    return {**os.environ, "PYTHONHASHSEED": str(seed)}


def compare(configs, seeds, cap: float, cpus: int | None = None) -> dict[str, list[tuple[dict, int]]]:
    """Train each config with each seed, each in a child process (pinned to ``cpus`` cores if
    given), printing a line per run; return {config: [(its JSON row, peak tree PSS in bytes)]}.
    A failed run's row is {"error": "seed N: why (its last line of stderr)"}."""
    print(f"{'config':<36} {'seed':>4} {'seconds':>8} {'reached':>8} {'return':>7} {'iters':>6} {'env steps':>10} {'peak PSS':>9}"
          + (f"  (pinned to {cpus} core(s))" if cpus else ""))
    runs = {}
    for name in configs:
        for seed in seeds:
            command = [sys.executable, "-m", __spec__.name, "--child", name, str(seed), "--cap", str(cap)]
            # The cap is checked between iterations; the timeout is for a run that hangs.
            result, peak, seconds = run_measured(command, timeout=cap + 300, preexec_fn=pinned(cpus), cwd=ROOT,
                                                 env=repeatable_env(seed))
            if result.returncode != 0:
                print(f"{name:<36} {seed:>4} FAILED (exit {result.returncode}):\n{result.stderr[-2000:]}")
                last = result.stderr.strip().splitlines()[-1:] or [f"exit {result.returncode}"]
                error = f"killed after {seconds:.0f} s (timeout)" if seconds >= cap + 300 else last[0]
                runs.setdefault(name, []).append(({"error": f"seed {seed}: {error}"}, peak))
                continue
            row = json.loads(result.stdout.strip().splitlines()[-1])
            runs.setdefault(name, []).append((row, peak))
            print(f"{name:<36} {seed:>4} {row['seconds']:>8.1f} {str(row['reached']):>8} {row['return']:>7.1f} "
                  f"{row['iterations']:>6} {row['env_steps']:>10.0f} {peak / 2**30:>6.2f}GiB", flush=True)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", type=config_name, default=list(CONFIGS),
                        help=f"{', '.join(CONFIGS)}, or the course's with settings changed: "
                             "course:num_env_runners=0,torch_threads=1")
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--cap", type=float, default=300.0, help="seconds of training before giving up")
    parser.add_argument("--cpus", type=int, help="pin each run to this many cores (1: as taskset -c 0)")
    parser.add_argument("--child", nargs=2, metavar=("CONFIG", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child[0], int(args.child[1]), args.cap)

    runs = compare(args.configs, args.seeds, args.cap, args.cpus)
    summary = {name: [(seconds_to_target(row), peak) for row, peak in rows if "error" not in row]
               for name, rows in runs.items()}
    summary = {name: rows for name, rows in summary.items() if rows}
    print()
    for name, rows in summary.items():
        median = statistics.median(s for s, _ in rows)
        shown = f"{median:.1f} s" if median != float("inf") else f"> {args.cap:.0f} s (not reached)"
        print(f"{name}: median seconds to return >= {TARGET:g}: {shown}; "
              f"max peak PSS {max(p for _, p in rows) / 2**30:.2f} GiB")
    if "course" in summary and "rllib-default" in summary:
        course = statistics.median(s for s, _ in summary["course"])
        default = statistics.median(s for s, _ in summary["rllib-default"])
        if default == float("inf"):
            print(f"course is more than {args.cap / course:.1f}x faster (default did not reach the target)")
        else:
            print(f"course is {default / course:.1f}x faster than RLlib's default")
    if "course" in summary and REFERENCE in summary:
        course = statistics.median(s for s, _ in summary["course"])
        reference = statistics.median(s for s, _ in summary[REFERENCE])
        # What RLlib's machinery (Ray, EnvRunners, connectors) costs over a bare loop.
        if max(course, reference) < float("inf"):
            print(f"course takes {course / reference:.1f}x the time of the plain PyTorch reference")


if __name__ == "__main__":
    main()
