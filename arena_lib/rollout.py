"""Play one episode of the arena with given per-agent policies."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Trajectory:
    """What happened in one episode, step by step.

    ``observations`` and ``frames`` hold one entry more than ``actions`` and
    ``rewards``: the state after ``reset`` comes first.
    """

    observations: list = field(default_factory=list)
    actions: list = field(default_factory=list)
    rewards: list = field(default_factory=list)
    frames: list = field(default_factory=list)

    @property
    def returns(self) -> dict:
        """The sum of rewards per agent (rounded, so -0.1 * 100 shows as -10.0)."""
        totals = {}
        for step_rewards in self.rewards:
            for agent, reward in step_rewards.items():
                totals[agent] = totals.get(agent, 0.0) + float(reward)
        return {agent: round(total, 9) for agent, total in totals.items()}

    def __len__(self) -> int:
        return len(self.actions)


def rollout(env, policies: dict, seed: int | None = None) -> Trajectory:
    """Play one episode of ``env``; ``policies`` maps each agent to ``obs -> action``.

    If the env was made with a ``render_mode``, every state is rendered into
    ``frames`` (images for ``"rgb_array"``, text for ``"ansi"``).
    """
    missing = [agent for agent in env.possible_agents if agent not in policies]
    if missing:
        raise ValueError(
            f"rollout needs a policy for every agent; missing {missing}. "
            f"Pass e.g. {{'agent1': policy_a, 'agent2': policy_b}}."
        )
    trajectory = Trajectory()
    obs, _ = env.reset(seed=seed)
    _record(env, trajectory, obs)
    while True:
        actions = {agent: policies[agent](agent_obs) for agent, agent_obs in obs.items()}
        obs, rewards, terminateds, truncateds, _ = env.step(actions)
        trajectory.actions.append(actions)
        trajectory.rewards.append(rewards)
        _record(env, trajectory, obs)
        if terminateds["__all__"] or truncateds["__all__"]:
            return trajectory


def _record(env, trajectory: Trajectory, obs: dict) -> None:
    trajectory.observations.append({agent: np.copy(o) for agent, o in obs.items()})
    if env.render_mode is not None:
        trajectory.frames.append(env.render())
