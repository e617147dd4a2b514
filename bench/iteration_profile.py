"""Where one training iteration's time goes, in milliseconds: the course's config (any of its
settings changed) beside the plain PyTorch PPO reference (bench/ppo_reference.py) doing the
same work, in one process, one after the other.

    python -m bench.iteration_profile [--iterations 20] [--set num_env_runners=2 ...] [--profile]

Prints the median milliseconds per iteration of the wall time around train(), of sampling
(its 1000 env steps) and of the learner update (5 epochs of minibatches), and the same two
parts of the reference's iteration; then the mean of every timer RLlib reports, and the bare
env steps that the sampled steps would take. All after a warm-up of 3 iterations.

With --profile the algorithm samples in this process (num_env_runners=0, as the course does,
so that every part runs here) and each part of an iteration is timed on its own: each of
RLlib's connectors, the RLModule's forward passes, the env, the per-step metrics, the
episodes' bookkeeping, the learner's connectors, losses, gradients and optimizer. Timing
adds about a microsecond per call: the milliseconds are nearly the real ones (unlike a
profiler's). Parts nest (indented under the part that calls them); a part not shown under
another is the rest. Writes the figures to docs/performance.md too; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import time
from collections import defaultdict

from bench import report
from bench.env_steps import bare_env_steps_per_second
from bench.time_to_reward import parse_settings

# Milliseconds spent in each timed part since the last reset, and its calls.
spent: dict[str, float] = defaultdict(float)
calls: dict[str, int] = defaultdict(int)


def time_method(owner, name: str, part: str) -> None:
    """Time every call of ``owner.name`` (a class's method, or an object's) as ``part``."""
    method = getattr(owner, name)

    @functools.wraps(method)
    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            spent[part] += (time.perf_counter() - started) * 1000
            calls[part] += 1

    setattr(owner, name, timed)


def time_object_calls(obj, part: str) -> None:
    """Time every call ``obj(...)`` as ``part``: Python looks ``__call__`` up on the class,
    so ``obj`` gets a class of its own (its class shared by pipelines is left alone)."""
    cls = type(obj)
    own = type(cls.__name__, (cls,), {})
    time_method(own, "__call__", part)
    obj.__class__ = own


def time_rllib_parts(algo) -> list[str]:
    """Time the parts of an iteration whose runner samples in this process; return the parts
    in the order to show them (two leading spaces per level of nesting)."""
    from ray.rllib.core.learner.learner import Learner
    from ray.rllib.core.learner.learner_group import LearnerGroup
    from ray.rllib.core.learner.torch.torch_learner import TorchLearner
    from ray.rllib.env.multi_agent_episode import MultiAgentEpisode

    runner = algo.env_runner
    learner = algo.learner_group._learner
    order = ["sampling (1000 env steps)"]
    time_method(runner, "_sample", order[0])
    for label, pipeline in (("env-to-module connectors", runner._env_to_module),
                            ("module-to-env connectors", runner._module_to_env)):
        order.append(f"  {label}")
        time_object_calls(pipeline, label)
        for connector in pipeline.connectors:
            part = f"{label}: {type(connector).__name__}"
            order.append(f"    {part}")
            time_object_calls(connector, part)
    for owner, name, part in ((type(runner.module), "forward_exploration", "RLModule forward passes"),
                              (type(runner.env), "step", "the envs' step() (vectorized)"),
                              (MultiAgentEpisode, "add_env_step", "episodes' bookkeeping (add_env_step)"),
                              (type(runner), "_increase_sampled_metrics", "per-step metrics (MetricsLogger)"),
                              (type(runner), "_log_episode_metrics", "per-episode metrics")):
        order.append(f"  {part}")
        time_method(owner, name, part)
    order.append("learner update (5 epochs)")
    time_method(LearnerGroup, "update", "learner update (5 epochs)")
    pipeline = learner._learner_connector
    order.append("  learner connectors")
    time_object_calls(pipeline, "learner connectors")
    for connector in pipeline.connectors:
        part = f"learner connectors: {type(connector).__name__}"
        order.append(f"    {part}")
        time_object_calls(connector, part)
    for owner, name, part in ((Learner, "compute_losses", "forward passes and losses"),
                              (TorchLearner, "compute_gradients", "gradients (backward)"),
                              (TorchLearner, "apply_gradients", "optimizer steps")):
        order.append(f"  {part}")
        time_method(owner, name, part)
    order.append("weight sync")
    time_method(type(algo.env_runner_group), "sync_weights", "weight sync")
    return order


def reference_iterations(iterations: int) -> dict[str, list[float]]:
    """Milliseconds per iteration of bench/ppo_reference.py's PPO: its sampling and its update."""
    import numpy as np
    import torch

    from bench import ppo_reference as ref

    torch.manual_seed(1)
    envs = [ref.MultiAgentArena(ref.ENV_CONFIG) for _ in range(ref.NUM_ENVS)]
    nets = {agent: ref.ActorCritic(envs[0].observation_spaces[agent].nvec, envs[0].action_spaces[agent].n)
            for agent in ref.AGENTS}
    optimizers = {agent: torch.optim.Adam(nets[agent].parameters(), lr=ref.LR) for agent in ref.AGENTS}
    obs = [env.reset(seed=i)[0] for i, env in enumerate(envs)]
    returns, finished = np.zeros(ref.NUM_ENVS, dtype=np.float32), []
    found = defaultdict(list)
    for iteration in range(iterations + 3):
        started = time.perf_counter()
        with torch.no_grad():
            batch, obs = ref.collect_rollout(envs, nets, obs, returns, finished)
        sampled = time.perf_counter()
        for agent in ref.AGENTS:
            b = batch[agent]
            values = b["values"].numpy()
            next_values = np.where(b["dones"], b["bootstrap"], values[1:])
            advantages, targets = ref.advantages_and_targets(b["rewards"], values[:-1], next_values, b["dones"])
            ref.ppo_update(nets[agent], optimizers[agent], b["obs"].flatten(0, 1), b["actions"].flatten(),
                           b["log_probs"].flatten(), torch.as_tensor(advantages).flatten(),
                           torch.as_tensor(targets).flatten())
        done = time.perf_counter()
        if iteration >= 3:
            found["wall"].append((done - started) * 1000)
            found["sampling"].append((sampled - started) * 1000)
            found["update"].append((done - sampled) * 1000)
    return found


def timers(result: dict, prefix: str = "") -> dict[str, float]:
    """Every entry of ``result`` whose key names a timer, flattened to 'a/b/c' -> seconds."""
    found = {}
    for key, value in result.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            found.update(timers(value, f"{name}/"))
        elif isinstance(value, (int, float)) and ("timer" in key or name.startswith("timers/")):
            found[name] = float(value)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="course settings to change (arena_lib.training.COURSE_SETTINGS)")
    parser.add_argument("--profile", action="store_true", help="time each part of an iteration, sampling here")
    args = parser.parse_args()
    settings = parse_settings(args.set)
    if args.profile:
        settings["num_env_runners"] = 0
    # --profile's figures in a section of their own: both runs belong in `make bench`.
    section = (report.Section("iteration-parts", "Each part of a training iteration, sampling in the driver")
               if args.profile else report.Section("iteration-profile", "Where a training iteration's time goes"))

    from arena_lib import start_ray
    from arena_lib.training import arena_ppo_config

    start_ray()
    algo = arena_ppo_config(seed=1, **settings).build_algo()
    from ray.rllib.algorithms.ppo import ppo

    order = time_rllib_parts(algo) if args.profile else []
    if not args.profile:  # the two parts every layout has, timed around PPO's calls
        time_method(ppo, "synchronous_parallel_sample", "sampling (1000 env steps)")
        from ray.rllib.core.learner.learner_group import LearnerGroup

        time_method(LearnerGroup, "update", "learner update (5 epochs)")
    walls, per_part, samples = [], defaultdict(list), defaultdict(list)
    for iteration in range(args.iterations + 3):
        spent.clear()
        if iteration == 3:
            calls.clear()
        started = time.perf_counter()
        result = algo.train()
        wall = (time.perf_counter() - started) * 1000
        if iteration < 3:  # warm-up: the first iterations build graphs and fill caches
            continue
        walls.append(wall)
        for part in ["sampling (1000 env steps)", "learner update (5 epochs)", *(p.strip() for p in order)]:
            per_part[part].append(spent.get(part, 0.0))
        for name, seconds in timers(result).items():
            samples[name].append(seconds)
    steps = int(result["env_runners"]["num_env_steps_sampled"])
    algo.stop()
    reference = reference_iterations(args.iterations)

    def ms(values):
        return statistics.median(values)

    what = (f"settings: {settings or 'the course config'}; {args.iterations} iterations after 3 warm-up ones; "
            f"load average {os.getloadavg()[0]:.1f} at the end")
    side_by_side = [
        ["wall time per iteration", f"{ms(walls):.0f}", f"{ms(reference['wall']):.0f}",
         f"{ms(walls) / ms(reference['wall']):.1f}x"],
        [f"sampling {steps} env steps", f"{ms(per_part['sampling (1000 env steps)']):.0f}",
         f"{ms(reference['sampling']):.0f}",
         f"{ms(per_part['sampling (1000 env steps)']) / ms(reference['sampling']):.1f}x"],
        ["learning: 5 epochs of 256-step minibatches, both policies", f"{ms(per_part['learner update (5 epochs)']):.0f}",
         f"{ms(reference['update']):.0f}",
         f"{ms(per_part['learner update (5 epochs)']) / ms(reference['update']):.1f}x"],
        [f"{steps} bare env steps, random actions", f"{steps / bare_env_steps_per_second(steps) * 1000:.0f}", "", ""],
    ]
    print(what)
    for row in side_by_side:
        print(f"  {row[0]:<60} course {row[1]:>6} ms   reference {row[2]:>6} ms   {row[3]}")
    body = (f"Median milliseconds per iteration, the course beside bench/ppo_reference.py's PPO doing the same "
            f"work in the same process; {what}.\n\n"
            + report.table(["part", "course, ms", "PyTorch reference, ms", "course / reference"], side_by_side))
    if args.profile:
        wall = ms(walls)
        rows = [[("&nbsp;" * 4 * ((len(p) - len(p.lstrip())) // 2)) + p.strip(), f"{ms(per_part[p.strip()]):.1f}",
                 f"{100 * ms(per_part[p.strip()]) / wall:.0f} %", f"{calls[p.strip()] / len(walls):.0f}"]
                for p in order]
        print("\neach part, ms per iteration (share of the wall time; calls per iteration)")
        for p, row in zip(order, rows):
            print(f"  {p:<72} {row[1]:>8} {row[2]:>6} {row[3]:>7}")
        body += ("\n\nEach part of the course's iteration, sampling in this process: median ms per iteration, its "
                 "share of the wall time, calls per iteration; indented parts are within the one above.\n\n"
                 + report.table(["part", "ms", "share", "calls"], rows))
    else:
        print("\nRLlib's own timers, mean seconds per iteration")
        rllib = sorted(((name, statistics.mean(values)) for name, values in samples.items()), key=lambda r: -r[1])
        for name, seconds in rllib:
            if seconds >= 0.0005:
                print(f"  {name:<72} {seconds:8.4f}")
        body += ("\n\nRLlib's own timers (mean seconds per iteration; some are smoothed over many iterations):\n\n"
                 + report.table(["timer", "seconds"], [[f"`{n}`", f"{s:.4f}"] for n, s in rllib if s >= 0.0005]))
    section.write(body)


if __name__ == "__main__":
    main()
