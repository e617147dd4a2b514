"""Seconds of training until agent1+agent2 mean return >= 10: the course's config
against RLlib's default PPO config, side by side in one run, with the peak PSS of
each training's whole process tree (driver + Ray).

    python bench/time_to_reward.py [--seeds 1 2 3] [--cap 300]

Each training runs in its own process (a fresh Ray), one after the other.
Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from process_tree import run_measured  # noqa: E402

TARGET = 10.0


def build_config(name: str, seed: int):
    from ray.rllib.algorithms.ppo import PPOConfig

    from arena_lib.env import MultiAgentArena
    from arena_lib.training import POLICY_OF_AGENT, agent_to_policy, arena_ppo_config, flatten_observations

    if name == "course":
        return arena_ppo_config(seed=seed)
    if name == "rllib-default":
        # Only what the arena needs to run at all: the connector and two policies.
        return (
            PPOConfig()
            .environment(MultiAgentArena)
            .env_runners(env_to_module_connector=flatten_observations)
            .multi_agent(policies=set(POLICY_OF_AGENT.values()), policy_mapping_fn=agent_to_policy)
            .debugging(seed=seed)
        )
    raise ValueError(f"unknown config {name!r}; use 'course' or 'rllib-default'")


def child(name: str, seed: int, cap: float) -> None:
    from arena_lib import start_ray

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=["course", "rllib-default"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--cap", type=float, default=300.0, help="seconds of training before giving up")
    parser.add_argument("--child", nargs=2, metavar=("CONFIG", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child[0], int(args.child[1]), args.cap)

    print(f"{'config':<14} {'seed':>4} {'seconds':>8} {'reached':>8} {'return':>7} {'iters':>6} {'env steps':>10} {'peak PSS':>9}")
    summary = {}
    for name in args.configs:
        for seed in args.seeds:
            command = [sys.executable, __file__, "--child", name, str(seed), "--cap", str(args.cap)]
            result, peak, _ = run_measured(command, timeout=args.cap + 300)
            if result.returncode != 0:
                print(f"{name:<14} {seed:>4} FAILED (exit {result.returncode}):\n{result.stderr[-2000:]}")
                continue
            row = json.loads(result.stdout.strip().splitlines()[-1])
            summary.setdefault(name, []).append((row["seconds"] if row["reached"] else float("inf"), peak))
            print(f"{name:<14} {seed:>4} {row['seconds']:>8.1f} {str(row['reached']):>8} {row['return']:>7.1f} "
                  f"{row['iterations']:>6} {row['env_steps']:>10.0f} {peak / 2**30:>7.2f}GB", flush=True)
    print()
    for name, rows in summary.items():
        median = statistics.median(s for s, _ in rows)
        shown = f"{median:.1f} s" if median != float("inf") else f"> {args.cap:.0f} s (not reached)"
        print(f"{name}: median seconds to return >= {TARGET:g}: {shown}; "
              f"max peak PSS {max(p for _, p in rows) / 2**30:.2f} GB")
    if "course" in summary and "rllib-default" in summary:
        course = statistics.median(s for s, _ in summary["course"])
        default = statistics.median(s for s, _ in summary["rllib-default"])
        if default == float("inf"):
            print(f"course is more than {args.cap / course:.1f}x faster (default did not reach the target)")
        else:
            print(f"course is {default / course:.1f}x faster than RLlib's default")


if __name__ == "__main__":
    main()
