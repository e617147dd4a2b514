"""Where one training iteration's time goes, by RLlib's own timers: sampling (env
steps, RLModule inference, connectors) against the learner update and the weight
sync, for the course's config with any of its settings changed.

    python bench/iteration_profile.py [--iterations 20] [--set num_env_runners=0 ...]

Prints the mean seconds per iteration of every timer RLlib reports (after a warm-up
of 3 iterations), the wall time per iteration measured around train(), and the
bare env steps that the sampled steps would take. Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from env_steps import bare_env_steps_per_second  # noqa: E402
from time_to_reward import parse_settings  # noqa: E402


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
    args = parser.parse_args()
    settings = parse_settings(args.set)

    from arena_lib import start_ray
    from arena_lib.training import arena_ppo_config

    start_ray()
    algo = arena_ppo_config(seed=1, **settings).build_algo()
    walls, samples = [], {}
    for iteration in range(args.iterations + 3):
        started = time.perf_counter()
        result = algo.train()
        wall = time.perf_counter() - started
        if iteration < 3:  # warm-up: the first iterations build graphs and fill caches
            continue
        walls.append(wall)
        for name, seconds in timers(result).items():
            samples.setdefault(name, []).append(seconds)
    steps = int(result["env_runners"]["num_env_steps_sampled"])
    algo.stop()

    print(f"settings: {settings or 'the course config'}; {args.iterations} iterations after 3 warm-up ones")
    print(f"{'wall time per iteration (around train())':<70} {statistics.mean(walls):8.3f} s")
    for name, values in sorted(samples.items(), key=lambda item: -statistics.mean(item[1])):
        if statistics.mean(values) >= 0.0005:
            print(f"  {name:<68} {statistics.mean(values):8.4f} s")
    print(f"{f'{steps} bare env steps, random actions, no RLlib':<70} {steps / bare_env_steps_per_second(steps):8.3f} s")


if __name__ == "__main__":
    main()
