"""Notebook 5's comparison of RLModules over several seeds, side by side in one run: policy1
(agent1) with RLlib's default module, with the notebook's CellEmbeddingModule, and with the
default module plus an LSTM; policy2 (agent2) keeps the default module in all three.

    python -m bench.module_comparison [--seeds 1 2 3] [--iterations 40]

The variants are the notebook's: the course config (arena_ppo_config(seed=SEED)); exercise 5b's
config, with the CellEmbeddingModule of exercise 5a's reference solution (run from
solutions/05_models, so it is the notebook's own code); and policy1's model_config
{"fcnet_hiddens": [64, 64], "use_lstm": True, "lstm_cell_size": 64} (with RLlib's default
max_seq_len of 20, which a stateful module's learner needs). Each (variant, seed)
trains --iterations iterations in its own process with a fresh Ray, seed by seed with every
variant in turn, with PYTHONHASHSEED set to its seed (time_to_reward's repeatable_env: a seed
then repeats). For each run: the first iteration whose agent1+agent2 mean return is >= 10,
policy1's mean return over the last 10 iterations, the seconds of training, and the peak PSS of
the process tree (driver + Ray). Prints the figures and writes them to docs/performance.md;
asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time

from arena_lib.process_memory import run_measured
from bench import ROOT, report
from bench.time_to_reward import repeatable_env

TARGET = 10.0
LAST = 10  # policy1's return is averaged over this many last iterations
# name -> what policy1's module is
VARIANTS = {
    "default": "RLlib's default module (the course config)",
    "cell-embedding": "notebook 5's CellEmbeddingModule",
    "lstm": "RLlib's default module with an LSTM",
}


def build_config(variant: str, seed: int):
    """The course config, with policy1's module as ``variant`` says (policy2: the default)."""
    from ray.rllib.core.rl_module import MultiRLModuleSpec, RLModuleSpec

    from arena_lib.training import arena_ppo_config

    config = arena_ppo_config(seed=seed)
    if variant == "default":
        return config
    if variant == "cell-embedding":
        from torch import nn

        from arena_lib.models import keep_cell_numbers
        from tests.notebook_tools import run_solution

        module_class = run_solution("05_models", "ex5_cell_module", {"nn": nn})["CellEmbeddingModule"]
        policy1 = RLModuleSpec(module_class=module_class, model_config={"embedding_dim": 16, "hiddens": [64]})
        config = config.env_runners(env_to_module_connector=keep_cell_numbers("agent1"))
    elif variant == "lstm":
        # max_seq_len 20 is DefaultModelConfig's; a plain dict brings no defaults along, and the
        # learner needs it for a module with memory (it trains on chunks of that many steps).
        policy1 = RLModuleSpec(model_config={"fcnet_hiddens": [64, 64], "use_lstm": True, "lstm_cell_size": 64,
                                             "max_seq_len": 20})
    else:
        raise ValueError(f"unknown variant {variant!r}; use one of {list(VARIANTS)}")
    return config.rl_module(rl_module_spec=MultiRLModuleSpec(
        rl_module_specs={"policy1": policy1, "policy2": RLModuleSpec()}))


def child(variant: str, seed: int, iterations: int) -> None:
    from arena_lib import start_ray

    start_ray()
    algo = build_config(variant, seed).build_algo()
    totals, policy1 = [], []
    started = time.perf_counter()
    for _ in range(iterations):
        runners = algo.train()["env_runners"]
        totals.append(float(runners.get("episode_return_mean", math.nan)))
        policy1.append(float(runners.get("module_episode_returns_mean", {}).get("policy1", math.nan)))
    seconds = time.perf_counter() - started
    algo.stop()
    # An iteration that ends no episode reports NaN; the mean leaves those out.
    last = [r for r in policy1[-LAST:] if not math.isnan(r)]
    print(json.dumps({
        "first_reached": next((i for i, total in enumerate(totals, 1) if total >= TARGET), None),
        "policy1_return": statistics.fmean(last) if last else math.nan,
        "seconds": seconds,
    }))


def run(variant: str, seed: int, iterations: int) -> dict:
    """One (variant, seed) in a child process: its JSON row, with its peak PSS, or an "error"."""
    command = [sys.executable, "-m", __spec__.name, "--child", variant, str(seed), "--iterations", str(iterations)]
    result, peak, _ = run_measured(command, timeout=600 + 30 * iterations, cwd=ROOT, env=repeatable_env(seed))
    if result.returncode != 0:
        print(f"{variant} seed {seed} FAILED (exit {result.returncode}):\n{result.stderr[-2000:]}")
        return {"error": (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1], "peak": peak}
    return {**json.loads(result.stdout.strip().splitlines()[-1]), "peak": peak}


def cells(row: dict, iterations: int) -> list[str]:
    """A run's figures as table cells: first iteration >= 10, policy1's return, seconds, peak PSS."""
    peak = f"{row['peak'] / 2**30:.2f} GiB"
    if "error" in row:
        return [f"failed: {row['error']}", "", "", peak]
    first = row["first_reached"] if row["first_reached"] is not None else f"not within {iterations}"
    return [str(first), f"{row['policy1_return']:.1f}", f"{row['seconds']:.1f}", peak]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--iterations", type=int, default=40, help="training iterations per run")
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child[0], int(args.child[1]), args.iterations)

    section = report.Section("module-comparison", "RLModules for policy1, side by side (notebook 5)")
    last = f"iterations {max(1, args.iterations - LAST + 1)}-{args.iterations}"
    header = ["policy1's module", "seed", f"first iteration with return >= {TARGET:g}",
              f"policy1's mean return, {last}", "seconds of training", "peak PSS"]
    print(" | ".join(header))
    rows = {variant: [] for variant in VARIANTS}
    # Seed by seed, every variant in turn: on a machine shared with other jobs, each
    # variant then meets much the same load.
    for seed in args.seeds:
        for variant, what in VARIANTS.items():
            figures = cells(run(variant, seed, args.iterations), args.iterations)
            rows[variant].append([what, seed, *figures])
            print(" | ".join(map(str, rows[variant][-1])), flush=True)
    section.write(f"{args.iterations} training iterations per run; return: agent1+agent2 mean episode return. "
                  "policy2 keeps RLlib's default module in every run.\n\n"
                  + report.table(header, [row for variant in VARIANTS for row in rows[variant]]))


if __name__ == "__main__":
    main()
