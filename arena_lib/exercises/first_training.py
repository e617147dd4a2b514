"""Notebook 02 (a first training): exercise 2, reading a result dict."""

from __future__ import annotations

import json
import numbers
from pathlib import Path

from arena_lib.answers import same_answer
from arena_lib.exercises import attempt, passed, self_check, shown

GRADED_NAMES = ("summarize_result",)

# Course code that reads a result dict as the exercise asks: absent while it is graded.
WRITE_YOUR_OWN = {
    "arena_lib.training:TrainingHistory.record": "it reads the result dict for you",
    "arena_lib.training:train": "it trains and reads the result dicts for you",
}

# A result in the shape RLlib's has, with numbers that tell its keys apart: the steps of
# this iteration differ from those since the start, each agent's return from the other's.
MADE_UP_RESULT = {"training_iteration": 5, "env_runners": {
    "episode_return_mean": 1.5, "agent_episode_returns_mean": {"agent1": 4.0, "agent2": -2.5},
    "module_episode_returns_mean": {"shared_policy": 0.75},
    "num_env_steps_sampled_lifetime": 5000, "num_env_steps_sampled": 1000}}
MADE_UP_SUMMARY = {"total": 1.5, "agent1": 4.0, "agent2": -2.5, "env_steps": 5000}
RECORDED = Path(__file__).resolve().parents[1] / "data" / "recorded_results.json"
# What the reference solution gives for the recorded results of the shared policy (as data:
# tests/test_exercises.py checks that it still is what the reference gives).
RECORDED_SUMMARIES = [
    {"total": -8.729999999999983, "agent1": 0.5, "agent2": -9.229999999999984, "env_steps": 1000.0},
    {"total": -2.9099999999999815, "agent1": 6.65, "agent2": -9.559999999999981, "env_steps": 2000.0},
]


def recorded_results(run: str) -> list[dict]:
    """Real results of ``algo.train()`` on the arena, recorded by scripts/record_results.py: the
    self-checks of exercises 2 and 3b and their hidden tests read them (graded runs train nothing)."""
    return json.loads(RECORDED.read_text())[run]


@self_check
def check_summarize_result(summarize_result) -> None:
    """Exercise 2: reading a result dict (a real one of the course's config, and a made-up one
    whose numbers all differ)."""
    results = recorded_results("shared policy")
    for number, (result, expected) in enumerate(zip(results, RECORDED_SUMMARIES, strict=True), start=1):
        _check_summary(summarize_result, result, expected, f"the result of a real first training, iteration {number}")
    _check_summary(summarize_result, MADE_UP_RESULT, MADE_UP_SUMMARY,
                   f"a made-up result whose env_runners are {MADE_UP_RESULT['env_runners']}")
    passed("summarize_result reads the returns and the env steps from the result.")


def _check_summary(summarize_result, result: dict, expected: dict, which: str) -> None:
    got = attempt(summarize_result, result, advice="Read the numbers under result['env_runners'].")
    assert isinstance(got, dict), f"summarize_result should return a dict, got {type(got).__name__}."
    keys = {"total", "agent1", "agent2", "env_steps"}
    assert set(got) == keys, f"The summary needs exactly the keys {sorted(keys)}, got {sorted(got)}."
    for key, value in expected.items():
        assert isinstance(got[key], numbers.Real) and same_answer(value, got[key]), (
            f"For {which}, summary['{key}'] is {shown(got[key])!r}, but should be {shown(value)!r}. "
            "Look under result['env_runners'] (print(result['env_runners'].keys()) helps)."
        )
