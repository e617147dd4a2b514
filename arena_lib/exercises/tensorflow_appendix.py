"""Notebook 07 (appendix, TensorFlow on the old API stack): exercise 7a, two policies, 2021's way."""

from __future__ import annotations

from arena_lib.answers import same_answer
from arena_lib.exercises import check_graded_alone, passed, self_check

GRADED_NAMES = ("policies", "policy_mapping_fn")
# Nothing in arena_lib writes 2021's policies dict for a student.
WRITE_YOUR_OWN = {}


@self_check
def check_policies_2021(policies, policy_mapping_fn) -> None:
    """Exercise 7a: the 2021 policies dict of 4-tuples and a mapping function with `worker`."""
    check_graded_alone(policy_mapping_fn, GRADED_NAMES)
    assert isinstance(policies, dict), (
        f"policies should be a dict {{policy id: (policy class, observation space, action space, overrides)}}, "
        f"got {type(policies).__name__}."
    )
    assert set(policies) == {"policy1", "policy2"}, f"The policy ids are {sorted(policies)}; use 'policy1' and 'policy2'."
    for pid, spec in sorted(policies.items()):
        assert isinstance(spec, tuple) and len(spec) == 4, (
            f"policies[{pid!r}] is {spec!r}; in 2021's form it is a 4-tuple "
            "(policy class or None, observation space or None, action space or None, config overrides dict)."
        )
        assert spec[0] is None, f"policies[{pid!r}][0] is {spec[0]!r}: use None for PPO's default (TensorFlow) policy class."
        assert isinstance(spec[3], dict), f"policies[{pid!r}][3] should be a dict of config overrides, got {spec[3]!r}."
    assert same_answer({}, policies["policy1"][3]), (
        f"policy1 keeps the algorithm's settings: its overrides are {{}}, not {policies['policy1'][3]!r}.")
    assert same_answer({"lr": 2e-4}, policies["policy2"][3]), (
        f"policy2 learns with its own learning rate: its overrides should be {{'lr': 0.0002}}, got {policies['policy2'][3]!r}."
    )
    for agent, expected in (("agent1", "policy1"), ("agent2", "policy2")):
        try:
            got = policy_mapping_fn(agent, None, worker=None)
        except TypeError as error:
            raise AssertionError(
                f"policy_mapping_fn({agent!r}, episode, worker=...) failed ({error}): the old API stack passes "
                "`worker` by name; define it as policy_mapping_fn(agent_id, episode, worker, **kwargs)."
            ) from error
        assert got == expected, f"policy_mapping_fn sends {agent!r} to {got!r}; it should go to {expected!r}."
    passed("Two policies in 2021's form (policy2 with its own learning rate), and each agent mapped to its own.")
