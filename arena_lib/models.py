"""RLModules on the arena: what each policy's network reads, building a config's modules
without training, and playing with modules that read the two cell numbers as they are."""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.connectors.env_to_module import FlattenObservations

from arena_lib.env import MultiAgentArena
from arena_lib.evaluation import TrainedPolicy
from arena_lib.training import agent_to_policy

AGENTS = ("agent1", "agent2")


@dataclass(frozen=True)
class KeepCellNumbers:
    """Env-to-module connector factory: one-hot encodes the observations of every agent
    but ``agents``, whose RLModules read ``[own_cell, other_cell]`` as two integers.

    (A class rather than a closure, so that RLlib can send it to its EnvRunners.)
    """

    agents: tuple

    def __call__(self, env=None, spaces=None, device=None):
        one_hot = [agent for agent in AGENTS if agent not in self.agents]
        # FlattenObservations reads an empty agent list as "every agent": add no connector then.
        return FlattenObservations(multi_agent=True, agent_ids=one_hot) if one_hot else []


def keep_cell_numbers(*agents: str) -> KeepCellNumbers:
    """The connector for ``config.env_runners(env_to_module_connector=...)`` that hands
    these agents' RLModules the two cell numbers instead of a one-hot vector."""
    unknown = sorted(set(agents) - set(AGENTS))
    if unknown or not agents:
        raise ValueError(f"Name the agents whose cell numbers to keep, out of {list(AGENTS)}; got {list(agents)}.")
    return KeepCellNumbers(tuple(agents))


def module_spaces(config) -> dict:
    """``{module_id: (observation_space, action_space)}``: what each policy's RLModule
    reads and does under ``config``, after its env-to-module connector (one-hot or not).
    Computed from the config alone, as RLlib's EnvRunners do, without Ray."""
    env = MultiAgentArena(config.env_config)
    single = (gym.spaces.Dict(env.observation_spaces), gym.spaces.Dict(env.action_spaces))
    pipeline = config.build_env_to_module_connector(spaces={"__env_single__": single})
    return {mid: (pipeline.observation_space[mid], pipeline.action_space[mid])
            for mid in pipeline.observation_space.spaces}


def build_modules(config):
    """The RLModules ``config`` describes (a MultiRLModule: ``modules["policy1"]``), built
    as the algorithm's learner builds them, but without Ray and without training: to
    print them or count their parameters."""
    return config.get_multi_rl_module_spec(spaces=module_spaces(config)).build()


def count_parameters(module) -> int:
    """Number of trainable numbers (weights and biases) in a torch module or RLModule."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def reads_cell_numbers(module) -> bool:
    """True if the module reads ``[own_cell, other_cell]`` as integers (no one-hot connector)."""
    return isinstance(module.observation_space, gym.spaces.MultiDiscrete)


class ModulePolicy(TrainedPolicy):
    """A ``TrainedPolicy`` that hands its module what the module reads: the two cell
    numbers as they are, or (as ``TrainedPolicy`` does) their one-hot encoding."""

    def action_logits(self, observation) -> np.ndarray:
        if not reads_cell_numbers(self.module):
            return super().action_logits(observation)
        batch = torch.as_tensor(np.asarray(observation, dtype=np.int64)[None])
        with torch.no_grad():
            out = self.module.forward_inference({"obs": batch})
        return out["action_dist_inputs"][0].numpy()


def module_policies(algo, greedy: bool = True, seed: int | None = None, policy_mapping_fn=agent_to_policy) -> dict:
    """One ``ModulePolicy`` per agent from a trained algorithm's RLModules (greedy, or
    sampled from the action distribution with ``greedy=False``), for ``rollout``/``evaluate``."""
    env = MultiAgentArena(algo.config.env_config)
    return {
        agent: ModulePolicy(algo.get_module(policy_mapping_fn(agent, None)), env.observation_spaces[agent],
                            greedy=greedy, seed=None if seed is None else seed + number)
        for number, agent in enumerate(env.possible_agents)
    }
