"""RLModules on the arena: what each policy's network reads, and building a config's
modules without training. (Playing with them: arena_lib.evaluation.trained_policies.)"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
from arena_lib.env import MultiAgentArena
from arena_lib.training import OneHotObservations

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
        # FlattenObservations (OneHotObservations' base) reads an empty agent list as "every
        # agent": add no connector then.
        return OneHotObservations(agent_ids=one_hot) if one_hot else []


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
    from arena_lib.ray_setup import quiet_rllib_logs

    quiet_rllib_logs()  # RLlib's own deprecation notice about RLModuleConfig, at every build
    return config.get_multi_rl_module_spec(spaces=module_spaces(config)).build()


def count_parameters(module) -> int:
    """Number of trainable numbers (weights and biases) in a torch module or RLModule."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def set_fixed_weights(module, seed: int = 0) -> None:
    """Give every weight of a torch module or RLModule a fixed value, the same in every run:
    normal numbers from a torch generator seeded with ``seed`` and the weight's name. Its
    outputs are then known before it runs, as a self-check's expectations are, and a weight
    gets the same values whether or not the module has others (an EnvRunner's copy of a
    PPO module has no value network)."""
    import zlib

    import torch

    with torch.no_grad():
        for name, parameter in module.named_parameters():
            generator = torch.Generator().manual_seed(seed * 100_003 + zlib.crc32(name.encode()))
            parameter.copy_(torch.randn(parameter.shape, generator=generator))
