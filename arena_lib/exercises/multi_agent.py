"""Notebook 03 (going multi-agent): exercise 3a, two policies; 3b, a training loop with a stopping rule."""

from __future__ import annotations

import math
import numbers

from arena_lib.exercises import attempt, passed


def check_multi_agent_config(config) -> None:
    """Exercise 3a: one policy per agent."""
    policies = set(config.policies or {})
    assert policies == {"policy1", "policy2"}, (
        f"The config's policies are {sorted(policies)}; use exactly two, 'policy1' and 'policy2', "
        "with config.multi_agent(policies={'policy1', 'policy2'}, ...)."
    )
    mapping = config.policy_mapping_fn
    for agent, policy in (("agent1", "policy1"), ("agent2", "policy2")):
        got = attempt(mapping, agent, None, advice="RLlib calls it as policy_mapping_fn(agent_id, episode, **kwargs).")
        assert got == policy, f"The policy mapping function sends {agent!r} to {got!r}; it should go to {policy!r}."
    passed("The config trains policy1 for agent1 and policy2 for agent2.")


def check_train_until(train_until, algo) -> None:
    """Exercise 3b: the training loop with a stopping rule."""
    advice = "Read the returns with runners.get(key, float('nan')): an iteration may have none yet."
    rows = attempt(train_until, algo, target=-1e9, max_iterations=10, advice=advice)
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
    rows = attempt(train_until, algo, target=1e9, max_iterations=2, advice=advice)
    assert len(rows) == 2, (
        f"A target of 1e9 is never reached, so train_until must stop after max_iterations=2, but it ran {len(rows)}."
    )
    for row in rows:
        assert {"total", "policy1", "policy2"} <= set(row), (
            f"Each entry needs the keys 'total', 'policy1' and 'policy2', got {sorted(row)}."
        )
    passed("train_until stops at the target and after max_iterations, and records each policy's return.")

# What solves exercise 3a or 3b for the student: the judge gives no points to code that uses it
# (arena_grading.review).
REFUSED_HELPERS = {
    "agent_to_policy": "arena_lib's agent_to_policy is the mapping function",
    "POLICY_OF_AGENT": "arena_lib's POLICY_OF_AGENT is the mapping",
    "train": "arena_lib's train runs the training loop for you",
}
