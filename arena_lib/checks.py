"""Self-checks for the course's exercises: they say in words what is wrong.

Each ``check_*`` function runs a student's code on small, deterministic cases
and raises ``AssertionError`` with an explanation, or prints what passed.
The graded (hidden) tests in the notebooks go further than these.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from arena_lib.env import MultiAgentArena
from arena_lib.policies import RandomPolicy
from arena_lib.rollout import rollout


class EarlyEndArena(MultiAgentArena):
    """An arena whose episode *terminates* (not truncates) after ``ts`` steps."""

    def step(self, action_dict):
        obs, rewards, terminateds, truncateds, infos = super().step(action_dict)
        if truncateds["__all__"]:
            terminateds = {agent: True for agent in terminateds}
            truncateds = {agent: False for agent in truncateds}
        return obs, rewards, terminateds, truncateds, infos


def _passed(message: str) -> None:
    print(f"✔ {message}")


def _seeded_policies(seed: int) -> dict:
    return {"agent1": RandomPolicy(seed), "agent2": RandomPolicy(seed + 1000)}


def _same_returns(got, expected) -> bool:
    return isinstance(got, dict) and set(got) == set(expected) and all(
        isinstance(got[a], numbers.Real) and math.isclose(got[a], expected[a], abs_tol=1e-9) for a in expected
    )


def check_run_episode(run_episode) -> None:
    """Exercise 1: the environment loop."""
    env = MultiAgentArena({"width": 5, "height": 5, "ts": 12})
    expected = rollout(MultiAgentArena({"width": 5, "height": 5, "ts": 12}), _seeded_policies(0)).returns
    got = run_episode(env, _seeded_policies(0))
    assert got is not None, "run_episode returned None: return a dict like {'agent1': total1, 'agent2': total2}."
    assert isinstance(got, dict), f"run_episode should return a dict of total rewards, got {type(got).__name__}."
    assert set(got) == {"agent1", "agent2"}, f"The dict needs the keys 'agent1' and 'agent2', got {sorted(got)}."
    assert env.timesteps == 12, (
        f"The episode has 12 steps (ts=12) but the env stopped after {env.timesteps}: "
        "loop until truncateds['__all__'] (or terminateds['__all__']) is True."
    )
    assert _same_returns(got, expected), (
        f"The totals {got} differ from the rewards the env gave, {expected}. Add up every step's "
        "reward for each agent, and ask each agent's policy for its action with its own observation."
    )
    again = run_episode(env, _seeded_policies(0))
    assert _same_returns(again, expected), (
        "Calling run_episode twice on the same env gave different totals: start each episode with env.reset()."
    )
    _passed("run_episode plays a whole episode and adds up each agent's rewards.")


def check_summarize_result(summarize_result, result: dict) -> None:
    """Exercise 2: reading a result dict."""
    got = summarize_result(result)
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
        same = isinstance(got[key], numbers.Real) and (
            math.isclose(got[key], value, rel_tol=1e-9) or (math.isnan(got[key]) and math.isnan(value))
        )
        assert same, (
            f"summary['{key}'] is {got[key]!r}, but the result says {value!r}. "
            "Look under result['env_runners'] (print(result['env_runners'].keys()) helps)."
        )
    _passed("summarize_result reads the returns and the env steps from the result.")


def check_multi_agent_config(config) -> None:
    """Exercise 3a: one policy per agent."""
    policies = set(config.policies or {})
    assert policies == {"policy1", "policy2"}, (
        f"The config's policies are {sorted(policies)}; use exactly two, 'policy1' and 'policy2', "
        "with config.multi_agent(policies={'policy1', 'policy2'}, ...)."
    )
    mapping = config.policy_mapping_fn
    for agent, policy in (("agent1", "policy1"), ("agent2", "policy2")):
        got = mapping(agent, None)
        assert got == policy, f"The policy mapping function sends {agent!r} to {got!r}; it should go to {policy!r}."
    _passed("The config trains policy1 for agent1 and policy2 for agent2.")


def check_train_until(train_until, algo) -> None:
    """Exercise 3b: the training loop with a stopping rule."""
    rows = train_until(algo, target=-1e9, max_iterations=10)
    assert isinstance(rows, list), f"train_until should return a list (one entry per iteration), got {type(rows).__name__}."
    assert rows, "train_until returned an empty list: append one dict per algo.train() call."
    totals = [row.get("total") if isinstance(row, dict) else None for row in rows]
    assert all(isinstance(t, numbers.Real) for t in totals), (
        f"Each entry needs a number under 'total' (float('nan') while no episode has ended), got {totals}."
    )
    assert not math.isnan(totals[-1]) and all(math.isnan(t) for t in totals[:-1]), (
        f"With a target of -1e9 training should stop at the first iteration that reports a return, "
        f"but the totals were {totals}. Check the return after every algo.train() call."
    )
    rows = train_until(algo, target=1e9, max_iterations=2)
    assert len(rows) == 2, (
        f"A target of 1e9 is never reached, so train_until must stop after max_iterations=2, but it ran {len(rows)}."
    )
    for row in rows:
        assert {"total", "policy1", "policy2"} <= set(row), (
            f"Each entry needs the keys 'total', 'policy1' and 'policy2', got {sorted(row)}."
        )
    _passed("train_until stops at the target and after max_iterations, and records each policy's return.")


def check_greedy_action(greedy_action, module, observation_space) -> None:
    """Exercise 4: greedy actions from an RLModule."""
    from arena_lib.evaluation import TrainedPolicy

    reference = TrainedPolicy(module, observation_space)
    size = int(observation_space.nvec[0])
    for obs in (np.array([0, size - 1]), np.array([size // 2, 3]), np.array([7, 7 % size])):
        got = greedy_action(module, obs, observation_space)
        assert isinstance(got, numbers.Integral), (
            f"greedy_action should return a plain int (use int(...)), got {type(got).__name__}."
        )
        expected = reference(obs)
        assert got == expected, (
            f"For observation {obs.tolist()} the greedy action is {expected}, you returned {got}. One-hot encode "
            "the observation (gymnasium.spaces.flatten), add a batch dimension, call module.forward_inference "
            "and take the argmax of 'action_dist_inputs'."
        )
    _passed("greedy_action picks the module's most likely action.")


def check_mean_returns(mean_returns) -> None:
    """Exercise 5: the evaluation loop."""
    from arena_lib.evaluation import evaluate

    config = {"width": 6, "height": 6, "ts": 30}
    expected_eval = evaluate(_seeded_policies(5), env_config=config, num_episodes=4)
    expected = {a: expected_eval.mean_return(a) for a in ("agent1", "agent2")}
    got = mean_returns(_seeded_policies(5), env_config=config, num_episodes=4)
    assert isinstance(got, dict) and set(got) == {"agent1", "agent2"}, (
        f"mean_returns should return {{'agent1': mean, 'agent2': mean}}, got {got!r}."
    )
    assert _same_returns(got, expected), (
        f"Expected the mean returns {expected} over 4 episodes, got {got}. Play num_episodes episodes "
        "with a new MultiAgentArena(env_config), add up each agent's rewards per episode, then average."
    )
    _passed("mean_returns averages each agent's return over the episodes.")


# The grader reads hidden tests' answers from outputs of this MIME type; it compares
# them with the reference solution's answers outside the student's kernel.
ANSWERS_MIME = "application/vnd.arena-answers+json"


def report_answers(grade_id: str, answers: dict, hint: str = "") -> None:
    """Hand a hidden test's answers (case description -> the student's result) to the grader.

    The grade is decided by the grader, outside this kernel, by comparing these
    answers with those of the reference solution; nothing here decides it.
    """
    from IPython.display import display

    report = {"grade_id": grade_id, "answers": {str(case): _plain(value) for case, value in answers.items()},
              "hint": hint}
    display({ANSWERS_MIME: report, "text/plain": f"(answers of {len(answers)} hidden cases handed to the grader)"},
            raw=True)


def _plain(value):
    """JSON-ready data: numbers, strings, lists and dicts; anything else by its type's name."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(item) for item in value), key=repr)
    return f"<{type(value).__name__}>"
