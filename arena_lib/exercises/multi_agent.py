"""Notebook 03 (going multi-agent): exercise 3a, two policies; 3b, a training loop with a stopping rule."""

from __future__ import annotations

import copy
import math
import numbers

from arena_lib.answers import same_answer
from arena_lib.exercises import attempt, passed, self_check, shown

GRADED_NAMES = ("policy_mapping_fn", "two_policies", "train_until")

# Course code that maps agents to policies, or trains and reads returns: absent while graded.
WRITE_YOUR_OWN = {
    "arena_lib.training:agent_to_policy": "it is the policy mapping function",
    "arena_lib.training:one_policy_per_agent": "it gives the config one policy per agent",
    "arena_lib.training:train": "it is a training loop with a stopping rule",
    "arena_lib.training:TrainingHistory.record": "it reads each iteration's returns for you",
}

RECORDED_RUN = "two policies, 50 steps an iteration"
# The self-check of 3b, on the recorded run (its first iteration ends no episode, its third no
# more): what the reference solution returns (recorded, as data: tests/test_exercises.py checks it).
NAN = float("nan")
EXPECTED_ROWS_UNTIL_A_RETURN = [
    {"total": NAN, "policy1": NAN, "policy2": NAN},
    {"total": -20.4, "policy1": -11.5, "policy2": -8.899999999999997},
]


class ReplayedAlgorithm:
    """Stands in for an RLlib Algorithm in exercise 3b's self-check and hidden tests: each
    ``train()`` returns the next of a real run's recorded results (``recorded_results``; after
    the last, from the first again), as ``algo.train()`` would; ``iteration`` counts the calls.
    Graded runs train nothing."""

    most_iterations = 1000  # a loop that never stops is stopped here, with a message

    def __init__(self, results: list[dict]):
        self._results = [copy.deepcopy(result) for result in results]
        self.iteration = 0

    def train(self) -> dict:
        if self.iteration >= self.most_iterations:
            raise RuntimeError(f"train_until called algo.train() {self.iteration} times: stop after max_iterations")
        result = copy.deepcopy(self._results[self.iteration % len(self._results)])
        self.iteration += 1
        result["training_iteration"] = self.iteration
        return result

    def __getattr__(self, name):
        raise AttributeError(f"train_until used algo.{name}: it needs only algo.train(), once per iteration")


def replayed_run(totals: list | None = None) -> ReplayedAlgorithm:
    """The recorded run, replayed; with ``totals``, its results' total returns (the agents' and
    policies' returns follow them: agent1 gets all, agent2 none; None leaves a result without one)."""
    from arena_lib.exercises.first_training import recorded_results

    results = recorded_results(RECORDED_RUN)
    if totals is not None:
        results = [copy.deepcopy(results[i % len(results)]) for i in range(len(totals))]
        for number, (result, total) in enumerate(zip(results, totals), start=1):
            result["training_iteration"] = number
            runners = result["env_runners"]
            for key in ("episode_return_mean", "agent_episode_returns_mean", "module_episode_returns_mean"):
                runners.pop(key, None)
            if total is not None:
                runners["episode_return_mean"] = total
                runners["agent_episode_returns_mean"] = {"agent1": total, "agent2": 0.0}
                runners["module_episode_returns_mean"] = {"policy1": total, "policy2": 0.0}
    return ReplayedAlgorithm(results)


@self_check
def check_two_policies(two_policies) -> None:
    """Exercise 3a: one policy per agent, added to a config."""
    from arena_lib.training import arena_ppo_config

    base = arena_ppo_config(multi_agent=False, seed=1, lr=1e-3)
    config = attempt(two_policies, base, advice="Return base_config.multi_agent(policies=..., policy_mapping_fn=...).")
    assert config is not None, "two_policies returned None: return the config (config.multi_agent(...) returns it)."
    assert hasattr(config, "policies"), f"two_policies should return a config, got {type(config).__name__}."
    policies = set(config.policies or {})
    assert policies == {"policy1", "policy2"}, (
        f"The config's policies are {sorted(policies)}; use exactly two, 'policy1' and 'policy2', "
        "with base_config.multi_agent(policies={'policy1', 'policy2'}, ...)."
    )
    for agent, policy in (("agent1", "policy1"), ("agent2", "policy2")):
        got = attempt(config.policy_mapping_fn, agent, None,
                      advice="RLlib calls it as policy_mapping_fn(agent_id, episode, **kwargs).")
        assert got == policy, (f"The config's policy mapping function sends {agent!r} to {got!r}; it should go to "
                               f"{policy!r}: pass policy_mapping_fn=policy_mapping_fn to multi_agent().")
    assert config.lr == 1e-3 and config.seed == 1, (
        f"The config trains with lr={config.lr} and seed={config.seed}, but base_config had lr=0.001 and seed=1: "
        "start from base_config (base_config.multi_agent(...)), not from a new config.")
    passed("two_policies trains policy1 for agent1 and policy2 for agent2, with base_config's settings.")


@self_check
def check_train_until(train_until) -> None:
    """Exercise 3b: the training loop with a stopping rule, on a recorded run of the course's config."""
    advice = "Read the returns with runners.get(key, float('nan')): an iteration may have none yet."
    algo = replayed_run()
    rows = attempt(train_until, algo, target=-1e9, max_iterations=10, advice=advice)
    assert isinstance(rows, list), f"train_until should return a list (one entry per iteration), got {type(rows).__name__}."
    assert rows, "train_until returned an empty list: append one dict per algo.train() call."
    assert all(isinstance(row, dict) for row in rows), "Each entry should be a dict {'total': ..., 'policy1': ..., 'policy2': ...}."
    totals = [row.get("total") for row in rows]
    assert all(isinstance(t, numbers.Real) for t in totals), (
        f"Each entry needs a number under 'total' (float('nan') while no episode has ended), got {shown(totals)}."
    )
    assert algo.iteration == len(rows), (
        f"train_until called algo.train() {algo.iteration} times but returned {len(rows)} entries: one entry per call.")
    assert len(rows) == 2 and math.isnan(totals[0]) and not math.isnan(totals[-1]), (
        f"The first iteration of this run ends no episode (no return yet), the second does. With a target of -1e9 "
        f"training should stop right after the second, but the totals were {shown(totals)}. Check the return after "
        "every algo.train() call, and read it with .get(key, float('nan')).")
    for row in rows:
        assert {"total", "policy1", "policy2"} <= set(row), (
            f"Each entry needs the keys 'total', 'policy1' and 'policy2', got {sorted(row)}.")
    assert same_answer(EXPECTED_ROWS_UNTIL_A_RETURN, [{key: row[key] for key in ("total", "policy1", "policy2")}
                                                      for row in rows]), (
        f"The entries were {shown(rows)}, expected {shown(EXPECTED_ROWS_UNTIL_A_RETURN)}: 'total' is "
        "env_runners' episode_return_mean, 'policy1' and 'policy2' its module_episode_returns_mean.")
    rows = attempt(train_until, replayed_run(), target=1e9, max_iterations=2, advice=advice)
    assert isinstance(rows, list) and len(rows) == 2, (
        f"A target of 1e9 is never reached, so train_until must stop after max_iterations=2, but it returned "
        f"{len(rows) if isinstance(rows, list) else rows!r} entries.")
    passed("train_until stops at the target and after max_iterations, and records each policy's return.")
