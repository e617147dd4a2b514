"""Notebook 04 (evaluating, saving, restoring): exercise 4a, greedy actions; 4b, the evaluation loop."""

from __future__ import annotations

import numbers

import numpy as np

from arena_lib.answers import same_answer
from arena_lib.exercises import attempt, passed, self_check, shown
from arena_lib.policies import random_policies

GRADED_NAMES = ("greedy_action", "mean_returns")

# Course code that picks greedy actions from a module, or plays episodes and averages their
# returns: absent while graded.
WRITE_YOUR_OWN = {
    "arena_lib.evaluation:module_input": "it encodes the observation for you",
    "arena_lib.evaluation:TrainedPolicy.action_logits": "it runs the module for you",
    "arena_lib.evaluation:TrainedPolicy.compute_action": "it picks the greedy action for you",
    "arena_lib.evaluation:trained_policies": "it picks the greedy actions for you",
    "arena_lib.agents:agent_from_modules": "it turns the modules into networks that pick actions for you",
    "arena_lib.players:NetworkPlayer.logits": "it computes the module's action scores for you",
    "arena_lib.players:NetworkPlayer.act": "it picks actions for you",
    "arena_lib.rollout:rollout": "it plays the episode for you",
    "arena_lib.rollout:Trajectory.returns": "it adds up the rewards for you",
    "arena_lib.evaluation:evaluate": "it plays and averages the episodes for you",
    "arena_lib.evaluation:Evaluation.mean_return": "it averages the returns for you",
    "arena_lib.matches:play_many": "it plays episodes for you",
    "arena_lib.matches:BatchedArena.step": "it plays episodes and adds up their rewards for you",
    "arena_lib.matches:MatchResult.replay": "it plays the episode for you",
}

# The self-checks' cases and what the reference solution gives for them (recorded, as data:
# tests/test_exercises.py checks that it still is what the reference gives).
CHECKED_WEIGHTS_SEED = 6
CHECKED_OBSERVATIONS = [(0, 99), (50, 3), (7, 7), (99, 0), (42, 58), (13, 86)]
EXPECTED_ACTIONS = [0, 1, 3, 2, 3, 2]
CHECKED_POLICY_SHAPES = {  # the weights a greedy action depends on, in the course's module
    "encoder.actor_encoder.net.mlp.0.weight": [64, 200], "encoder.actor_encoder.net.mlp.0.bias": [64],
    "encoder.actor_encoder.net.mlp.2.weight": [64, 64], "encoder.actor_encoder.net.mlp.2.bias": [64],
    "pi.net.mlp.0.weight": [4, 64], "pi.net.mlp.0.bias": [4]}
CHECKED_SEED, CHECKED_ARENA, CHECKED_EPISODES = 5, {"width": 6, "height": 6, "ts": 30}, 4
EXPECTED_MEANS = {"agent1": 2.375, "agent2": -1.625}
MEANS_ON_THE_DEFAULT_ARENA = {"agent1": 3.75, "agent2": -8.625}  # env_config left out
MEANS_OF_ONE_EPISODE_FEWER = {"agent1": 3.1666666666666665, "agent2": -1.1666666666666667}


def course_module(policy: str = "policy1", **settings):
    """An RLModule of the course's config (``arena_ppo_config(**settings)``), untrained, and the
    observation space of its agent: what the self-check and the hidden tests of 4a act with."""
    from arena_lib.env import MultiAgentArena
    from arena_lib.models import build_modules
    from arena_lib.training import arena_ppo_config

    agent = {"policy1": "agent1", "policy2": "agent2"}[policy]
    return build_modules(arena_ppo_config(**settings))[policy], MultiAgentArena().observation_spaces[agent]


@self_check
def check_greedy_action(greedy_action) -> None:
    """Exercise 4a: greedy actions from an RLModule of the course's config, with fixed weights."""
    from arena_lib.models import set_fixed_weights

    fixed, observation_space = course_module()
    shapes = {name: list(parameter.shape) for name, parameter in fixed.named_parameters()}
    assert all(shapes.get(name) == shape for name, shape in CHECKED_POLICY_SHAPES.items()), (
        f"The course's module has changed ({shapes}): record the self-check's values again (tests/test_exercises.py).")
    set_fixed_weights(fixed, CHECKED_WEIGHTS_SEED)
    for obs, expected in zip(CHECKED_OBSERVATIONS, EXPECTED_ACTIONS):
        got = attempt(greedy_action, fixed, np.array(obs), observation_space, advice=(
            "The module reads the one-hot encoding of the observation (gymnasium.spaces.flatten), as a float32 "
            "tensor with a batch dimension first."))
        assert isinstance(got, numbers.Integral), (
            f"greedy_action should return a plain int (use int(...)), got {type(got).__name__}."
        )
        assert same_answer(expected, got), (
            f"For observation {list(obs)} the greedy action is {expected}, you returned {got}. One-hot encode "
            "the observation (gymnasium.spaces.flatten), add a batch dimension, call module.forward_inference "
            "and take the argmax of 'action_dist_inputs'."
        )
    passed("greedy_action picks the module's most likely action.")


@self_check
def check_mean_returns(mean_returns) -> None:
    """Exercise 4b: the evaluation loop."""
    config, episodes = CHECKED_ARENA, CHECKED_EPISODES
    got = attempt(mean_returns, random_policies(CHECKED_SEED), env_config=config, num_episodes=episodes)
    assert isinstance(got, dict) and set(got) == {"agent1", "agent2"}, (
        f"mean_returns should return {{'agent1': mean, 'agent2': mean}}, got {got!r}."
    )
    expected = EXPECTED_MEANS
    if not same_answer(expected, got):
        # The usual slips, each named when the numbers give it away.
        sums = {agent: episodes * mean for agent, mean in expected.items()}
        diagnoses = [(sums, f"these are the sums over the {episodes} episodes: divide by num_episodes"),
                     (MEANS_ON_THE_DEFAULT_ARENA, "these are the returns on the default 10x10 arena: make each "
                                                  "MultiAgentArena(env_config) with the env_config given"),
                     (MEANS_OF_ONE_EPISODE_FEWER, f"these are the means over {episodes - 1} episodes: play "
                                                  "num_episodes episodes")]
        why = next((words for numbers_, words in diagnoses if same_answer(numbers_, got)),
                   "play num_episodes episodes, each in a new MultiAgentArena(env_config), add up each agent's "
                   "rewards per episode, then average")
        raise AssertionError(f"Expected the mean returns {expected} over {episodes} episodes, got {shown(got)}: {why}.")
    passed("mean_returns averages each agent's return over the episodes.")
