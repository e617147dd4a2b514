"""Playing the arena with trained RLModules, and measuring any policies' returns."""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

from arena_lib.env import MultiAgentArena
from arena_lib.rollout import Trajectory, rollout
from arena_lib.training import agent_to_policy


def module_input(observation, observation_space) -> torch.Tensor:
    """A batch of one observation, encoded as the course's connector does (one-hot)."""
    flat = gym.spaces.flatten(observation_space, np.asarray(observation))
    return torch.as_tensor(flat[None], dtype=torch.float32)


def reads_cell_numbers(module) -> bool:
    """True if the module reads ``[own_cell, other_cell]`` as integers (no one-hot connector,
    as notebook 5's ``keep_cell_numbers``)."""
    return isinstance(module.observation_space, gym.spaces.MultiDiscrete)


class TrainedPolicy:
    """Acts with a trained RLModule: greedy (the most likely action) or sampled. The module
    gets what it reads: the one-hot encoding (the course's connector) or the two cell numbers."""

    def __init__(self, module, observation_space, greedy: bool = True, seed: int | None = None):
        if module is None:
            raise ValueError("No RLModule given: check the module id (e.g. 'policy1', 'policy2').")
        self.module = module
        self.observation_space = observation_space
        self.greedy = greedy
        self.rng = np.random.default_rng(seed)

    def action_logits(self, observation) -> np.ndarray:
        if reads_cell_numbers(self.module):
            batch = torch.as_tensor(np.asarray(observation, dtype=np.int64)[None])
        else:
            batch = module_input(observation, self.observation_space)
        with torch.no_grad():
            out = self.module.forward_inference({"obs": batch})
        return out["action_dist_inputs"][0].numpy()

    def compute_action(self, observation) -> int:
        logits = self.action_logits(observation)
        if self.greedy:
            return int(np.argmax(logits))
        probs = np.exp(logits - logits.max())
        return int(self.rng.choice(len(probs), p=probs / probs.sum()))

    __call__ = compute_action


def trained_policies(algo, policy_mapping_fn=agent_to_policy, greedy: bool = True, seed: int | None = None) -> dict:
    """One ``TrainedPolicy`` per agent, from the algorithm's RLModules (greedy, or sampled
    from the action distribution with ``greedy=False``, repeatably with a ``seed``)."""
    env = MultiAgentArena(algo.config.env_config)
    return {
        agent: TrainedPolicy(algo.get_module(policy_mapping_fn(agent, None)), env.observation_spaces[agent],
                             greedy=greedy, seed=None if seed is None else seed + number)
        for number, agent in enumerate(env.possible_agents)
    }


@dataclass
class Evaluation:
    """Returns per episode and agent, and the first episode to watch."""

    returns: list  # one {agent: return} dict per episode
    trajectory: Trajectory

    def mean_return(self, agent: str | None = None) -> float:
        """Mean return of one agent, or of agent1 + agent2 when ``agent`` is None."""
        per_episode = [sum(r.values()) if agent is None else r[agent] for r in self.returns]
        return float(np.mean(per_episode))


def evaluate(policies: dict, env_config: dict | None = None, num_episodes: int = 10) -> Evaluation:
    """Play ``num_episodes`` episodes; the first is rendered so it can be animated."""
    if num_episodes < 1:
        raise ValueError(f"num_episodes must be >= 1, got {num_episodes}.")
    returns, first = [], None
    for episode in range(num_episodes):
        env = MultiAgentArena(env_config, render_mode="rgb_array" if episode == 0 else None)
        trajectory = rollout(env, policies)
        if first is None:
            first = trajectory
        returns.append(trajectory.returns)
    return Evaluation(returns=returns, trajectory=first)
