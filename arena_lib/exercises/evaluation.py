"""Notebook 04 (evaluating, saving, restoring): exercise 4a, greedy actions; 4b, the evaluation loop."""

from __future__ import annotations

import numbers

import numpy as np

from arena_lib.answers import same_answer
from arena_lib.exercises import attempt, passed
from arena_lib.policies import random_policies

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


def check_greedy_action(greedy_action, module, observation_space) -> None:
    """Exercise 4a: greedy actions from an RLModule (a copy of ``module`` with fixed weights)."""
    import copy

    from arena_lib.models import set_fixed_weights

    shapes = {name: list(parameter.shape) for name, parameter in module.named_parameters()}
    assert all(shapes.get(name) == shape for name, shape in CHECKED_POLICY_SHAPES.items()), (
        "check_greedy_action checks a module of the course's config (arena_ppo_config(), on the 10 x 10 arena), "
        f"whose policy network has the weights {CHECKED_POLICY_SHAPES}; this one has {shapes}.")
    fixed = copy.deepcopy(module)
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
        raise AssertionError(f"Expected the mean returns {expected} over {episodes} episodes, got {got}: {why}.")
    passed("mean_returns averages each agent's return over the episodes.")


# What solves exercise 4a or 4b for the student: the judge gives no points to code that uses it
# (arena_grading.review).
REFUSED_HELPERS = {
    "TrainedPolicy": "arena_lib's TrainedPolicy picks the greedy action for you",
    "trained_policies": "arena_lib's trained_policies picks the greedy actions for you",
    "module_input": "arena_lib's module_input encodes the observation for you",
    "evaluate": "arena_lib's evaluate plays and averages the episodes for you",
    "rollout": "arena_lib's rollout plays the episode for you",
}
