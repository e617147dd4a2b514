"""Notebook 04 (evaluating, saving, restoring): exercise 4a, greedy actions; 4b, the evaluation loop."""

from __future__ import annotations

import numbers

import numpy as np

from arena_lib.answers import same_answer
from arena_lib.exercises import attempt, passed
from arena_lib.policies import random_policies


def check_greedy_action(greedy_action, module, observation_space) -> None:
    """Exercise 4a: greedy actions from an RLModule."""
    from arena_lib.evaluation import TrainedPolicy

    reference = TrainedPolicy(module, observation_space)
    size = int(observation_space.nvec[0])
    for obs in (np.array([0, size - 1]), np.array([size // 2, 3]), np.array([7, 7 % size])):
        got = attempt(greedy_action, module, obs, observation_space, advice=(
            "The module reads the one-hot encoding of the observation (gymnasium.spaces.flatten), as a float32 "
            "tensor with a batch dimension first."))
        assert isinstance(got, numbers.Integral), (
            f"greedy_action should return a plain int (use int(...)), got {type(got).__name__}."
        )
        expected = reference(obs)
        assert same_answer(expected, got), (
            f"For observation {obs.tolist()} the greedy action is {expected}, you returned {got}. One-hot encode "
            "the observation (gymnasium.spaces.flatten), add a batch dimension, call module.forward_inference "
            "and take the argmax of 'action_dist_inputs'."
        )
    passed("greedy_action picks the module's most likely action.")


def check_mean_returns(mean_returns) -> None:
    """Exercise 4b: the evaluation loop."""
    from arena_lib.evaluation import evaluate

    config = {"width": 6, "height": 6, "ts": 30}

    def means(env_config=config, num_episodes=4, scale=1.0):
        played = evaluate(random_policies(5), env_config=env_config, num_episodes=num_episodes)
        return {agent: scale * played.mean_return(agent) for agent in ("agent1", "agent2")}

    expected = means()
    got = attempt(mean_returns, random_policies(5), env_config=config, num_episodes=4)
    assert isinstance(got, dict) and set(got) == {"agent1", "agent2"}, (
        f"mean_returns should return {{'agent1': mean, 'agent2': mean}}, got {got!r}."
    )
    if not same_answer(expected, got):
        # The usual slips, each named when the numbers give it away.
        diagnoses = [(means(scale=4), "these are the sums over the 4 episodes: divide by num_episodes"),
                     (means(env_config=None), "these are the returns on the default 10x10 arena: make each "
                                              "MultiAgentArena(env_config) with the env_config given"),
                     (means(num_episodes=3), "these are the means over 3 episodes: play num_episodes episodes")]
        why = next((words for numbers, words in diagnoses if same_answer(numbers, got)),
                   "play num_episodes episodes, each in a new MultiAgentArena(env_config), add up each agent's "
                   "rewards per episode, then average")
        raise AssertionError(f"Expected the mean returns {expected} over 4 episodes, got {got}: {why}.")
    passed("mean_returns averages each agent's return over the episodes.")
