"""arena_lib.models: what each policy's RLModule reads, building a config's modules, playing
with modules that read cell numbers. (Notebook 5's exercises: test_exercises.py.)"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.core.rl_module import MultiRLModuleSpec, RLModuleSpec
from torch import nn

from arena_lib import MultiAgentArena, rollout
from arena_lib.evaluation import TrainedPolicy, reads_cell_numbers
from arena_lib.exercises.models import CELL_MODULE_CONFIG
from arena_lib.models import (
    KeepCellNumbers,
    build_modules,
    count_parameters,
    keep_cell_numbers,
    module_spaces,
)
from arena_lib.training import arena_ppo_config
from tests.notebook_tools import run_solution

# Notebook 5's CellEmbeddingModule, as its reference solution writes it.
CellModule = run_solution("05_models", "ex5_cell_module", {"nn": nn})["CellEmbeddingModule"]


def cell_config(policy1=CellModule, policy2=None, connector=keep_cell_numbers("agent1"), model_config=CELL_MODULE_CONFIG):
    specs = {"policy1": RLModuleSpec(module_class=policy1, model_config=model_config),
             "policy2": RLModuleSpec() if policy2 is None else RLModuleSpec(module_class=policy2, model_config=model_config)}
    config = arena_ppo_config(seed=1)
    if connector is not None:
        config = config.env_runners(env_to_module_connector=connector)
    return config.rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs=specs))


def test_keep_cell_numbers_one_hot_encodes_only_the_other_agents():
    spaces = module_spaces(arena_ppo_config().env_runners(env_to_module_connector=keep_cell_numbers("agent1")))
    assert spaces["policy1"][0] == gym.spaces.MultiDiscrete([100, 100])
    assert spaces["policy2"][0].shape == (200,) and spaces["policy2"][1] == gym.spaces.Discrete(4)
    both = module_spaces(arena_ppo_config(env_config={"width": 4, "height": 3}).env_runners(
        env_to_module_connector=keep_cell_numbers("agent1", "agent2")))
    assert both["policy1"][0] == both["policy2"][0] == gym.spaces.MultiDiscrete([12, 12])
    assert module_spaces(arena_ppo_config())["policy1"][0].shape == (200,)  # the course's connector: one-hot


def test_keep_cell_numbers_rejects_unknown_agents():
    for bad in [(), ("agent3",), ("agent1", "Agent2")]:
        with pytest.raises(ValueError, match="agent1"):
            keep_cell_numbers(*bad)
    assert keep_cell_numbers("agent2") == KeepCellNumbers(("agent2",))


def test_build_modules_builds_what_the_config_describes():
    modules = build_modules(arena_ppo_config())
    assert sorted(modules.keys()) == ["policy1", "policy2"]
    assert type(modules["policy1"]).__name__ == "DefaultPPOTorchRLModule"
    assert count_parameters(modules["policy1"]) == 2 * (200 * 64 + 64 + 64 * 64 + 64) + (64 * 4 + 4) + (64 + 1)
    cells = build_modules(cell_config())
    assert isinstance(cells["policy1"], CellModule) and reads_cell_numbers(cells["policy1"])
    assert not reads_cell_numbers(cells["policy2"])
    # The spec's model_config is merged over the config's.
    assert cells["policy1"].model_config["embedding_dim"] == 16 and cells["policy1"].model_config["fcnet_hiddens"] == [64, 64]
    assert count_parameters(cells["policy1"]) == 100 * 16 + 2 * (32 * 64 + 64) + (64 * 4 + 4) + (64 + 1)


def test_module_policy_feeds_each_module_what_it_reads():
    modules = build_modules(cell_config())
    env = MultiAgentArena()
    space = env.observation_spaces["agent1"]
    cell_policy = TrainedPolicy(modules["policy1"], space)
    obs = np.array([3, 97])
    with torch.no_grad():
        expected = modules["policy1"].forward_inference({"obs": torch.tensor([[3, 97]])})["action_dist_inputs"][0]
    np.testing.assert_allclose(cell_policy.action_logits(obs), expected.numpy())
    assert cell_policy(obs) == int(torch.argmax(expected))
    one_hot = TrainedPolicy(modules["policy2"], space)
    reference = TrainedPolicy(modules["policy2"], space)
    assert all(one_hot(np.array([a, b])) == reference(np.array([a, b])) for a in range(0, 100, 7) for b in range(5, 100, 11))
    sampled = [rollout(MultiAgentArena(), {"agent1": TrainedPolicy(modules["policy1"], space, greedy=False, seed=3),
                                           "agent2": TrainedPolicy(modules["policy2"], space, greedy=False, seed=4)}).returns
               for _ in range(2)]
    assert sampled[0] == sampled[1]  # seeded: the same episode twice
