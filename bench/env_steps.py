"""Env steps per second: the bare env, a rollout with random policies, and with rgb frames.

    python -m bench.env_steps
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from arena_lib import MultiAgentArena, RandomPolicy, rollout
from bench import report


def bare_env_steps_per_second(steps: int = 200_000) -> float:
    env = MultiAgentArena()
    env.reset()
    actions = np.random.default_rng(0).integers(4, size=(steps, 2)).tolist()
    started = time.perf_counter()
    for a1, a2 in actions:
        *_, truncateds, _ = env.step({"agent1": a1, "agent2": a2})
        if truncateds["__all__"]:
            env.reset()
    return steps / (time.perf_counter() - started)


def rollout_steps_per_second(render_mode=None, episodes: int = 200) -> float:
    env = MultiAgentArena(render_mode=render_mode)
    policies = {"agent1": RandomPolicy(1), "agent2": RandomPolicy(2)}
    started, steps = time.perf_counter(), 0
    for _ in range(episodes):
        steps += len(rollout(env, policies))
    return steps / (time.perf_counter() - started)


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    section = report.Section("env-steps", "Env steps per second")
    rows = []
    for what, measure in (("bare env.step()", bare_env_steps_per_second),
                          ("rollout, random policies", rollout_steps_per_second),
                          ("rollout with rgb frames", lambda: rollout_steps_per_second("rgb_array", 20))):
        rows.append([what, f"{measure():,.0f}"])
        print(f"{what + ':':<28}{rows[-1][1]:>9} steps/s", flush=True)
    section.write(report.table(["what", "env steps per second"], rows))


if __name__ == "__main__":
    main()
