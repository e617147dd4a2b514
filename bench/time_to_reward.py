"""Seconds of training until agent1+agent2 mean return >= 10: the course's config
against RLlib's default PPO config and a plain PyTorch PPO (bench/ppo_reference.py,
the same nets and batch in one process, no Ray) as a yardstick, side by side in
one run, with the peak PSS of each training's whole process tree (driver + Ray).

    python -m bench.time_to_reward [--configs course rllib-default pytorch-reference] [--seeds 1 2 3] [--cap 300]
                                   [--cpus 1 | --binder]

Each training runs in its own process (a fresh Ray for the RLlib configs), one
after the other, seed by seed, each seed's configs in turn (so that a change in the
machine's load falls on every config alike), with PYTHONHASHSEED set to its seed so that
a seed repeats (see repeatable_env); --cpus N pins each to N cores (--cpus 1 as
`taskset -c 0`), --binder runs each in a box of Binder's size (tests/binder_box.py: a
cgroup of 2 GiB and 1 CPU). Prints figures and writes them to docs/performance.md, a
section for each of all cores, --cpus N and --binder; asserts nothing about time.

One more config runs only when named: `--configs course tensorflow-old-stack` sets the
TensorFlow appendix (notebook 7) beside the course. Its config is that notebook's: RLlib's
old API stack on TensorFlow, one thread per TF session, the 10 envs sampled in the driver,
with the two policies and the mapping function of exercise 7a's reference solution. Its
process imports TensorFlow (arena_lib.tf_appendix), which the others never do.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import subprocess
import sys
import time

from arena_lib.process_memory import run_measured
from bench import ROOT, report

TARGET = 10.0
# "pytorch-reference" is no RLlib config: its child runs ppo_reference.train_to_target.
CONFIGS = ("course", "rllib-default", "pytorch-reference")
REFERENCE = "pytorch-reference"
# Named only on request: its process imports TensorFlow, which takes seconds and memory.
TENSORFLOW = "tensorflow-old-stack"
KNOWN_CONFIGS = (*CONFIGS, TENSORFLOW)


def parse_settings(items) -> dict:
    """['num_env_runners=0', 'fcnet_hiddens=[32]'] -> {'num_env_runners': 0, 'fcnet_hiddens': [32]}."""
    settings = {}
    for item in filter(None, items):
        key, _, value = item.partition("=")
        settings[key] = ast.literal_eval(value)
    return settings


def course_variant(name: str) -> tuple[dict, int | None]:
    """'course:num_env_runners=2,torch_threads=2' -> (course settings to change, torch threads
    of the driver or None): variants of the course config, compared side by side."""
    settings = parse_settings(name.partition(":")[2].split(","))
    return settings, settings.pop("torch_threads", None)


def config_name(name: str) -> str:
    """argparse type: a known config, or the course config with settings changed."""
    if name in KNOWN_CONFIGS:
        return name
    if name.startswith("course:"):
        from arena_lib.training import COURSE_SETTINGS

        unknown = sorted(set(course_variant(name)[0]) - set(COURSE_SETTINGS))
        if not unknown:
            return name
        raise argparse.ArgumentTypeError(f"unknown setting(s) {unknown}; allowed: {sorted(COURSE_SETTINGS)} and torch_threads")
    raise argparse.ArgumentTypeError(f"{name!r}: use one of {list(KNOWN_CONFIGS)} or course:KEY=VALUE,...")


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
    if name == TENSORFLOW:
        return tensorflow_config(seed)
    raise ValueError(f"unknown RLlib config {name!r}; use 'course', 'rllib-default' or {TENSORFLOW!r}")


def tensorflow_config(seed: int):
    """Notebook 7's config, as its cell builds it, with exercise 7a's policies: call
    arena_lib.tf_appendix.use_tensorflow() before this, in a process without RLlib yet."""
    from ray.rllib.algorithms.ppo import PPOConfig

    from arena_lib.env import MultiAgentArena
    from tests.notebook_tools import run_solution

    exercise = run_solution("07_tensorflow_appendix", "ex7_policies_2021")
    one_thread = {"intra_op_parallelism_threads": 1, "inter_op_parallelism_threads": 1}
    return (
        PPOConfig()
        .api_stack(enable_rl_module_and_learner=False, enable_env_runner_and_connector_v2=False)
        .framework("tf", tf_session_args=one_thread, local_tf_session_args=one_thread)
        .environment(MultiAgentArena, env_config={"width": 10, "height": 10, "ts": 100})
        .env_runners(num_env_runners=0, num_envs_per_env_runner=10)
        .training(train_batch_size=1000, minibatch_size=256, num_epochs=5, lr=5e-3,
                  lambda_=0.95, use_kl_loss=False, model={"fcnet_hiddens": [64, 64]})
        .multi_agent(policies=exercise["policies"], policy_mapping_fn=exercise["policy_mapping_fn"])
        .debugging(seed=seed, log_level="ERROR")  # the old stack resets RLlib's log level in each process
    )


def child(name: str, seed: int, cap: float) -> None:
    if name == REFERENCE:
        # No Ray: it trains in this child itself, so the table and the peak PSS measure it alike.
        from bench.ppo_reference import train_to_target

        print(json.dumps(train_to_target(seed, cap, TARGET)))
        return
    if name == TENSORFLOW:
        from arena_lib.tf_appendix import use_tensorflow

        # First: RLlib looks for TensorFlow once, when it is imported.
        use_tensorflow()
    from arena_lib import start_ray

    start_ray()
    threads = course_variant(name)[1] if name.startswith("course") else None
    if threads:  # after start_ray(), which keeps PyTorch to one thread
        import torch

        torch.set_num_threads(threads)
    algo = build_config(name, seed).build_algo()
    started, iterations, ret = time.perf_counter(), 0, float("nan")
    while time.perf_counter() - started < cap:
        result = algo.train()
        iterations += 1
        ret = float(result["env_runners"].get("episode_return_mean", float("nan")))
        if ret >= TARGET:
            break
    seconds = time.perf_counter() - started
    steps = float(result["num_env_steps_sampled_lifetime"])  # at the top level on both API stacks
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
    so the same RLlib seed can take a different number of iterations in each process. With the hash
    seed fixed too, a seed is one repeatable run (same iterations and returns, with EnvRunners too).
    """
    return {**os.environ, "PYTHONHASHSEED": str(seed)}


def placement(cpus: int | None, binder: bool) -> str:
    """Where the runs ran, in words."""
    if binder:
        from tests.binder_box import Box

        return f"each run in a Binder-sized box ({Box().describe()})"
    return f"each run pinned to {cpus} core(s)" if cpus else f"each run on all {len(os.sched_getaffinity(0))} cores"


def compare(configs, seeds, cap: float, cpus: int | None = None, binder: bool = False) -> dict[str, list[tuple[dict, int]]]:
    """Train each config with each seed, each in a child process (pinned to ``cpus`` cores if
    given, or in a Binder-sized box), seed by seed, printing a line per run; return {config:
    [(its JSON row and its seed, peak memory in bytes: the tree's PSS, or in the box its working
    set)]}. A failed run's row is {"seed": N, "error": "seed N: why (its last line of stderr)"}."""
    box = None
    if binder:
        from tests.binder_box import Box, BoxTimeout

        box = Box()
    print(f"{'config':<36} {'seed':>4} {'seconds':>8} {'reached':>8} {'return':>7} {'iters':>6} {'s/iter':>7} "
          f"{'env steps':>10} {'peak':>9}  ({placement(cpus, binder)})")
    runs = {name: [] for name in configs}
    for seed in seeds:
        for name in configs:
            command = [sys.executable, "-m", __spec__.name, "--child", name, str(seed), "--cap", str(cap)]
            # The cap is checked between iterations; the timeout is for a run that hangs.
            timeout = cap + 300
            started = time.perf_counter()
            if box:
                try:
                    boxed = box.run(command, timeout=timeout, cwd=ROOT, env=repeatable_env(seed))
                    result, peak = boxed.result, boxed.working_set_bytes
                except BoxTimeout as error:
                    result, peak = subprocess.CompletedProcess(command, -9, "", str(error)), 0
            else:
                result, peak, _ = run_measured(command, timeout=timeout, preexec_fn=pinned(cpus), cwd=ROOT,
                                               env=repeatable_env(seed))
            seconds = time.perf_counter() - started
            if result.returncode != 0:
                print(f"{name:<36} {seed:>4} FAILED (exit {result.returncode}):\n{result.stderr[-2000:]}")
                last = result.stderr.strip().splitlines()[-1:] or [f"exit {result.returncode}"]
                error = f"killed after {seconds:.0f} s (timeout)" if seconds >= timeout else last[0]
                runs[name].append(({"seed": seed, "error": f"seed {seed}: {error}"}, peak))
                continue
            row = {"seed": seed, **json.loads(result.stdout.strip().splitlines()[-1])}
            runs[name].append((row, peak))
            print(f"{name:<36} {seed:>4} {row['seconds']:>8.1f} {str(row['reached']):>8} {row['return']:>7.1f} "
                  f"{row['iterations']:>6} {row['seconds'] / row['iterations']:>7.3f} {row['env_steps']:>10.0f} "
                  f"{peak / 2**30:>6.2f}GiB", flush=True)
    return runs


def summary(runs: dict, cap: float) -> list[str]:
    """One line per config (median seconds to the target and its parts, max peak memory), then
    the ratios."""
    done = {name: [(row, peak) for row, peak in rows if "error" not in row] for name, rows in runs.items()}
    done = {name: rows for name, rows in done.items() if rows}
    medians = {name: statistics.median(seconds_to_target(row) for row, _ in rows) for name, rows in done.items()}
    lines = []
    for name, rows in done.items():
        shown = f"{medians[name]:.1f} s" if medians[name] != float("inf") else f"> {cap:.0f} s (not reached)"
        iterations = statistics.median(row["iterations"] for row, _ in rows)
        per_iteration = statistics.median(row["seconds"] / row["iterations"] for row, _ in rows)
        lines.append(f"{name}: median seconds to return >= {TARGET:g}: {shown} (median {iterations:g} iterations "
                     f"of {per_iteration:.3f} s); max peak {max(p for _, p in rows) / 2**30:.2f} GiB")
    course = medians.get("course")
    if course is not None and "rllib-default" in medians:
        if medians["rllib-default"] == float("inf"):
            lines.append(f"course is more than {cap / course:.1f}x faster (default did not reach the target)")
        else:
            lines.append(f"course is {medians['rllib-default'] / course:.1f}x faster than RLlib's default")
    # What RLlib's machinery (Ray, EnvRunners, connectors) costs over a bare loop.
    reference = medians.get(REFERENCE, float("inf"))
    for name, median in medians.items():
        if name.startswith("course") and max(median, reference) < float("inf"):
            lines.append(f"{name} takes {median / reference:.1f}x the time of the plain PyTorch reference")
    return lines


def markdown(runs: dict, cap: float, where: str) -> str:
    """The runs as a table, the summary below it."""
    rows = []
    for name, results in runs.items():
        for row, peak in results:
            if "error" in row:
                error = row["error"].removeprefix(f"seed {row['seed']}: ")
                rows.append([f"`{name}`", row["seed"], f"failed: {error}", "", "", "", "", "", f"{peak / 2**30:.2f} GiB"])
                continue
            rows.append([f"`{name}`", row["seed"], f"{row['seconds']:.1f}", "yes" if row["reached"] else "no",
                         f"{row['return']:.1f}", row["iterations"], f"{row['seconds'] / row['iterations']:.3f}",
                         f"{row['env_steps']:.0f}", f"{peak / 2**30:.2f} GiB"])
    return (f"Training until agent1+agent2 mean return >= {TARGET:g}, at most {cap:g} s of training per run; "
            f"{where}, seed by seed. Peak: the process tree's PSS (in the box: its working set).\n\n"
            + report.table(["config", "seed", "seconds", "reached", "return", "iterations", "s/iteration",
                            "env steps", "peak"], rows)
            + "\n\n" + "\n".join(f"- {line}" for line in summary(runs, cap)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", type=config_name, default=list(CONFIGS),
                        help=f"{', '.join(KNOWN_CONFIGS)}, or the course's with settings changed: "
                             f"course:num_env_runners=2,torch_threads=2 (default: {' '.join(CONFIGS)})")
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--cap", type=float, default=300.0, help="seconds of training before giving up")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--cpus", type=int, help="pin each run to this many cores (1: as taskset -c 0)")
    where.add_argument("--binder", action="store_true", help="run each in a box of Binder's size (2 GiB, 1 CPU)")
    parser.add_argument("--child", nargs=2, metavar=("CONFIG", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child[0], int(args.child[1]), args.cap)

    # A section per placement: a run in the box does not replace the figures on all cores.
    name, title = "time-to-reward", f"Seconds of training until a mean return of {TARGET:g}"
    if args.binder:
        name, title = f"{name}-binder", f"{title}, in the Binder box"
    elif args.cpus:
        name, title = f"{name}-{args.cpus}-cpus", f"{title}, on {args.cpus} core(s)"
    section = report.Section(name, title)
    runs = compare(args.configs, args.seeds, args.cap, args.cpus, args.binder)
    print()
    for line in summary(runs, args.cap):
        print(line)
    section.write(markdown(runs, args.cap, placement(args.cpus, args.binder)))


if __name__ == "__main__":
    main()
