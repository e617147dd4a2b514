"""Agent files (arena_lib/agents.py): what a trained module becomes, and every way a file is refused."""

import os

import numpy as np
import pytest

from arena_lib.agents import MAX_FILE_BYTES, InvalidAgent, agent_from_modules, load_agent, save_agent
from arena_lib.matches import play
from tests.agent_files import broken_files, random_agent


def module_inputs(observations):
    import gymnasium as gym
    import torch

    from arena_lib import MultiAgentArena

    space = MultiAgentArena().observation_spaces["agent1"]
    return torch.tensor(np.stack([gym.spaces.flatten(space, o) for o in observations]), dtype=torch.float32)


@pytest.mark.parametrize("model_config", [
    {"fcnet_hiddens": [64, 64]},  # the course's
    {"fcnet_hiddens": [32], "fcnet_activation": "relu", "head_fcnet_hiddens": [16], "head_fcnet_activation": "relu"},
    {"fcnet_hiddens": [24, 24], "vf_share_layers": True},
], ids=["course", "relu-with-head-layer", "shared-encoder"])
def test_an_agent_plays_as_its_rllib_modules_do(tmp_path, model_config):
    """The file's network gives the modules' own logits: the tournament plays what was trained."""
    from arena_lib.models import build_modules
    from arena_lib.training import arena_ppo_config

    modules = build_modules(arena_ppo_config(seed=3).rl_module(model_config=model_config))
    agent = agent_from_modules(modules["policy1"], modules["policy2"], name="pair")
    loaded = load_agent(save_agent(agent, tmp_path / "pair.safetensors"))
    observations = np.random.default_rng(0).integers(0, 100, size=(64, 2))
    for role, module_id in (("explorer", "policy1"), ("chaser", "policy2")):
        expected = modules[module_id].forward_inference({"obs": module_inputs(observations)})["action_dist_inputs"]
        np.testing.assert_allclose(loaded.player(role).logits(observations), expected.detach().numpy(), atol=1e-5)
    assert loaded.name == "pair" and loaded.hiddens("explorer") == agent.hiddens("explorer")
    assert (tmp_path / "pair.safetensors").stat().st_size < MAX_FILE_BYTES


def test_a_head_with_another_activation_is_refused_with_the_reason():
    from arena_lib.models import build_modules
    from arena_lib.training import arena_ppo_config

    modules = build_modules(arena_ppo_config().rl_module(model_config={
        "fcnet_hiddens": [16], "head_fcnet_hiddens": [8], "head_fcnet_activation": "relu"}))
    with pytest.raises(InvalidAgent, match="another activation"):
        agent_from_modules(modules["policy1"], modules["policy2"])


def test_a_saved_agent_plays_the_same_episodes_after_loading(tmp_path):
    agent = random_agent(4, hiddens=(32, 8), activation="relu")
    path = save_agent(agent, tmp_path / "a.safetensors")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask, "an agent file is made like any other file, to be handed in"
    loaded = load_agent(path)
    seeds = list(range(20))
    before = play(agent.player("explorer"), agent.player("chaser"), seeds)
    after = play(loaded.player("explorer"), loaded.player("chaser"), seeds)
    np.testing.assert_array_equal(before.explorer_returns, after.explorer_returns)
    np.testing.assert_array_equal(before.collisions, after.collisions)


def test_save_refuses_what_could_not_play(tmp_path):
    agent = random_agent(1)
    agent.layers["chaser"][0][0][0, 0] = np.inf
    with pytest.raises(InvalidAgent, match="NaN or infinite"):
        save_agent(agent, tmp_path / "a.safetensors")


def test_every_broken_file_is_refused_with_its_reason(tmp_path):
    cases = broken_files(tmp_path)
    for case, (path, reason) in cases.items():
        with pytest.raises(InvalidAgent) as refused:
            load_agent(path)
        assert reason in str(refused.value), f"{case}: {refused.value}"
    assert cases["huge"][0].stat().st_size == 200 * 1024**2
