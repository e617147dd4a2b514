"""Env steps per second: the bare env, a rollout with random policies, and with rgb frames.

    python bench/env_steps.py
"""

from __future__ import annotations

import time

import numpy as np

from arena_lib import MultiAgentArena, RandomPolicy, rollout


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


if __name__ == "__main__":
    print(f"bare env.step:              {bare_env_steps_per_second():>9,.0f} steps/s")
    print(f"rollout, random policies:   {rollout_steps_per_second():>9,.0f} steps/s")
    print(f"rollout with rgb frames:    {rollout_steps_per_second('rgb_array', 20):>9,.0f} steps/s")
