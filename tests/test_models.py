"""arena_lib.models (what each policy's RLModule reads, building a config's modules, playing
with modules that read cell numbers) and the self-checks of notebook 5's exercises."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module import MultiRLModuleSpec, RLModuleSpec
from ray.rllib.core.rl_module.apis import ValueFunctionAPI
from ray.rllib.core.rl_module.torch import TorchRLModule
from torch import nn

from arena_lib import MultiAgentArena, rollout
from arena_lib.checks import CELL_MODULE_CONFIG, check_cell_module, check_cell_module_config
from arena_lib.evaluation import TrainedPolicy, reads_cell_numbers
from arena_lib.models import (
    KeepCellNumbers, build_modules, count_parameters, keep_cell_numbers, module_spaces,
)
from arena_lib.training import arena_ppo_config


def mlp(inputs, hiddens, outputs):
    layers = []
    for size in hiddens:
        layers += [nn.Linear(inputs, size), nn.Tanh()]
        inputs = size
    return nn.Sequential(*layers, nn.Linear(inputs, outputs))


class CellModule(TorchRLModule, ValueFunctionAPI):
    """Notebook 5's CellEmbeddingModule, solved."""

    def setup(self):
        dim = self.model_config.get("embedding_dim", 16)
        hiddens = self.model_config.get("hiddens", [64])
        self.cells = nn.Embedding(int(self.observation_space.nvec[0]), dim)
        self.pi_net = mlp(2 * dim, hiddens, self.action_space.n)
        self.vf_net = mlp(2 * dim, hiddens, 1)

    def _embed(self, batch):
        return self.cells(batch[Columns.OBS].long()).flatten(start_dim=-2)

    def _forward(self, batch, **kwargs):
        return {Columns.ACTION_DIST_INPUTS: self.pi_net(self._embed(batch))}

    def _forward_train(self, batch, **kwargs):
        embeddings = self._embed(batch)
        return {Columns.ACTION_DIST_INPUTS: self.pi_net(embeddings), Columns.EMBEDDINGS: embeddings}

    def compute_values(self, batch, embeddings=None):
        if embeddings is None:
            embeddings = self._embed(batch)
        return self.vf_net(embeddings).squeeze(-1)


class ValuesWithExtraAxis(CellModule):
    def compute_values(self, batch, embeddings=None):
        return self.vf_net(self._embed(batch) if embeddings is None else embeddings)


class ZeroValues(CellModule):
    def compute_values(self, batch, embeddings=None):
        return torch.zeros(batch[Columns.OBS].shape[:-1])


class IgnoresGivenEmbeddings(CellModule):
    def compute_values(self, batch, embeddings=None):
        return self.vf_net(self._embed(batch)).squeeze(-1)


class NoEmbeddingsForTraining(CellModule):
    def _forward_train(self, batch, **kwargs):
        return self._forward(batch)


class OverridesPublicForward(CellModule):
    def forward_inference(self, batch, **kwargs):
        return self._forward(batch)


class FlattensTheTimeAxis(CellModule):
    def compute_values(self, batch, embeddings=None):
        return self.vf_net(self._embed(batch) if embeddings is None else embeddings).reshape(-1)


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


def test_check_cell_module_accepts_the_solution(capsys):
    check_cell_module(CellModule)
    assert capsys.readouterr().out.startswith("✔")


@pytest.mark.parametrize("module_class, words", [
    (ValuesWithExtraAxis, "squeeze"),
    (ZeroValues, "self.vf_net"),
    (IgnoresGivenEmbeddings, "embeddings it is given"),
    (NoEmbeddingsForTraining, "Columns.EMBEDDINGS"),
    (OverridesPublicForward, "public forward methods"),
    (FlattensTheTimeAxis, "2 sequences of 3 observations"),
])
def test_check_cell_module_says_what_is_wrong(module_class, words):
    with pytest.raises(AssertionError, match=words):
        check_cell_module(module_class)


def test_check_cell_module_config_accepts_the_solution(capsys):
    check_cell_module_config(cell_config(), CellModule)
    assert capsys.readouterr().out.startswith("✔")


@pytest.mark.parametrize("config, words", [
    (cell_config(connector=None), "keep_cell_numbers"),
    (cell_config(connector=keep_cell_numbers("agent1", "agent2")), "policy2's default module needs the one-hot"),
    (cell_config(policy1=ZeroValues), "give it RLModuleSpec"),
    (cell_config(model_config={"embedding_dim": 8}), "model_config="),
    (arena_ppo_config(multi_agent=False), "policies"),
])
def test_check_cell_module_config_says_what_is_wrong(config, words):
    with pytest.raises(AssertionError, match=words):
        check_cell_module_config(config, CellModule)


def test_check_cell_module_config_wants_the_default_module_for_policy2():
    with pytest.raises(AssertionError, match="policy2's RLModule would be a CellModule"):
        check_cell_module_config(cell_config(policy2=CellModule), CellModule)
