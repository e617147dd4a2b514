"""Where one training iteration's time goes, by RLlib's own timers: sampling (env
steps, RLModule inference, connectors) against the learner update and the weight
sync, for the course's config with any of its settings changed.

    python -m bench.iteration_profile [--iterations 20] [--set num_env_runners=0 ...] [--profile]

Prints the mean seconds per iteration of every timer RLlib reports (after a warm-up
of 3 iterations), the wall time per iteration measured around train(), and the
bare env steps that the sampled steps would take. With --profile it samples in the
driver (num_env_runners=0, so that one profiler sees everything) under cProfile and
splits an iteration into its parts: the profiler slows Python code, so read the shares,
not the seconds. Writes the figures to docs/performance.md too; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time

from bench import report
from bench.env_steps import bare_env_steps_per_second
from bench.time_to_reward import parse_settings


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


# The part of an iteration -> the (file name ends with, function name) calls it stands for.
# Parts nest (sampling holds the rest but the learner), so shares are of the whole iteration.
PARTS = {
    "sampling, all of it": [("multi_agent_env_runner.py", "_sample")],
    "  env-to-module connectors": [("env_to_module_pipeline.py", "__call__")],
    "    of which one-hot encoding (FlattenObservations)": [("flatten_observations.py", "__call__")],
    "  RLModule forward passes": [("rl_module.py", "forward_exploration")],
    "  module-to-env connectors (sampling actions, unbatching)": [
        (f"{piece}.py", "__call__") for piece in ("get_actions", "normalize_and_clip_actions",
                                                  "unbatch_to_individual_items", "listify_data_for_vector_env",
                                                  "remove_single_ts_time_rank_from_batch")],
    "  per-step metrics (MetricsLogger)": [("multi_agent_env_runner.py", "_increase_sampled_metrics")],
    "  episode bookkeeping (MultiAgentEpisode.add_env_step)": [("multi_agent_episode.py", "add_env_step")],
    "  the envs' step() (vectorized)": [("sync_vector_multi_agent_env.py", "step")],
    "learner update": [("learner_group.py", "update")],
}


def profiled_parts(stats: pstats.Stats) -> dict[str, float]:
    """Cumulative seconds of each of PARTS in a profile."""
    return {part: sum(cumulative for (filename, _line, function), (_cc, _nc, _tt, cumulative, _callers)
                      in stats.stats.items()
                      if any(function == name and filename.endswith(ending) for ending, name in calls))
            for part, calls in PARTS.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="course settings to change (arena_lib.training.COURSE_SETTINGS)")
    parser.add_argument("--profile", action="store_true", help="split an iteration into its parts with cProfile")
    args = parser.parse_args()
    settings = parse_settings(args.set)
    if args.profile:
        settings["num_env_runners"] = 0
    section = report.Section("iteration-profile", "Where a training iteration's time goes")
    profiler = cProfile.Profile()

    from arena_lib import start_ray
    from arena_lib.training import arena_ppo_config

    start_ray()
    algo = arena_ppo_config(seed=1, **settings).build_algo()
    walls, samples = [], {}
    for iteration in range(args.iterations + 3):
        measured = iteration >= 3  # warm-up: the first iterations build graphs and fill caches
        if measured and args.profile:
            profiler.enable()
        started = time.perf_counter()
        result = algo.train()
        wall = time.perf_counter() - started
        profiler.disable()
        if not measured:
            continue
        walls.append(wall)
        for name, seconds in timers(result).items():
            samples.setdefault(name, []).append(seconds)
    steps = int(result["env_runners"]["num_env_steps_sampled"])
    algo.stop()

    # (what, mean seconds per iteration); RLlib's timers indented under the wall time.
    rows = [("wall time per iteration (around train())", statistics.mean(walls))]
    rows += [(f"  {name}", statistics.mean(values))
             for name, values in sorted(samples.items(), key=lambda item: -statistics.mean(item[1]))
             if statistics.mean(values) >= 0.0005]
    rows.append((f"{steps} bare env steps, random actions, no RLlib", steps / bare_env_steps_per_second(steps)))
    what = f"settings: {settings or 'the course config'}; {args.iterations} iterations after 3 warm-up ones"
    print(what)
    for name, seconds in rows:
        print(f"{name:<70} {seconds:8.4f} s")
    body = (f"Mean seconds per iteration of every timer RLlib reports; {what}.\n\n"
            + report.table(["what", "seconds per iteration"],
                           [[f"`{name.strip()}`" if name.startswith("  ") else name, f"{seconds:.4f}"]
                            for name, seconds in rows]))
    if args.profile:
        stats = pstats.Stats(profiler)
        whole = stats.total_tt
        shares = [(part, 100 * seconds / whole) for part, seconds in profiled_parts(stats).items()]
        print(f"\nunder cProfile: {whole / args.iterations:.3f} s per iteration; each part's share of it")
        for part, share in shares:
            print(f"  {part:<68} {share:7.1f} %")
        body += (f"\n\nUnder cProfile ({whole / args.iterations:.3f} s per iteration, slowed by the profiler): "
                 "each part's share of an iteration; indented parts are within the one above.\n\n"
                 + report.table(["part", "share"], [[part.replace("  ", "&nbsp;&nbsp;"), f"{share:.1f} %"]
                                                   for part, share in shares]))
    section.write(body)

if __name__ == "__main__":
    main()
