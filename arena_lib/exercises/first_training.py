"""Notebook 02 (a first training): exercise 2, reading a result dict."""

from __future__ import annotations

import numbers

from arena_lib.answers import same_answer
from arena_lib.exercises import attempt, passed

# A result in the shape RLlib's has, with numbers that tell its keys apart: the steps of
# this iteration differ from those since the start, each agent's return from the other's.
MADE_UP_RESULT = {"training_iteration": 5, "env_runners": {
    "episode_return_mean": 1.5, "agent_episode_returns_mean": {"agent1": 4.0, "agent2": -2.5},
    "module_episode_returns_mean": {"shared_policy": 0.75},
    "num_env_steps_sampled_lifetime": 5000, "num_env_steps_sampled": 1000}}


def check_summarize_result(summarize_result, result: dict) -> None:
    """Exercise 2: reading a result dict (``result``, and a made-up one whose numbers all differ)."""
    _check_summary(summarize_result, result, "the result")
    _check_summary(summarize_result, MADE_UP_RESULT, f"a made-up result whose env_runners are {MADE_UP_RESULT['env_runners']}")
    passed("summarize_result reads the returns and the env steps from the result.")


def _check_summary(summarize_result, result: dict, which: str) -> None:
    got = attempt(summarize_result, result, advice="Read the numbers under result['env_runners'].")
    assert isinstance(got, dict), f"summarize_result should return a dict, got {type(got).__name__}."
    keys = {"total", "agent1", "agent2", "env_steps"}
    assert set(got) == keys, f"The summary needs exactly the keys {sorted(keys)}, got {sorted(got)}."
    runners = result["env_runners"]
    expected = {
        "total": runners["episode_return_mean"],
        "agent1": runners["agent_episode_returns_mean"]["agent1"],
        "agent2": runners["agent_episode_returns_mean"]["agent2"],
        "env_steps": runners["num_env_steps_sampled_lifetime"],
    }
    for key, value in expected.items():
        assert isinstance(got[key], numbers.Real) and same_answer(value, got[key]), (
            f"For {which}, summary['{key}'] is {got[key]!r}, but should be {value!r}. "
            "Look under result['env_runners'] (print(result['env_runners'].keys()) helps)."
        )
