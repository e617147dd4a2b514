"""Notebook 08 (self-play in a league): exercise 8a, the league's policy mapping; 8b, when to
freeze a snapshot."""

from __future__ import annotations

from arena_lib.answers import same_answer
from arena_lib.exercises import attempt, passed

# Exercise 8a's visible cases: (agent, episode id, explorer pool, chaser pool, p_main) and what
# the reference solution maps them to (recorded, as data: tests/test_exercises.py checks it).
POOLS = (["explorer_v1", "explorer_v2"], ["chaser_v1", "chaser_v2", "chaser_v3"])
POLICY_CASES = [
    ("agent1", "ep-7", [], [], 0.3),
    ("agent2", "ep-7", [], [], 0.3),
    *[(agent, episode, *POOLS, p_main) for episode, p_main in (("ep-12", 1.0), ("ep-11", 0.0), ("ep-12", 0.0),
                                                                ("ep-20", 0.0), ("ep-21", 0.0), ("ep-13", 0.5),
                                                                ("ep-14", 0.5), ("ep-15", 0.5))
      for agent in ("agent1", "agent2")],
]
EXPECTED_POLICIES = ["explorer", "chaser", "explorer", "chaser", "explorer_v1", "chaser", "explorer", "chaser_v3",
                     "explorer_v1", "chaser", "explorer", "chaser_v1", "explorer", "chaser_v1", "explorer", "chaser_v2",
                     "explorer_v1", "chaser"]
FREQUENCY_IDS = [f"check-{i}" for i in range(400)]


def check_league_policy(league_policy) -> None:
    """Exercise 8a: the league's policy mapping function."""
    answers = []
    for agent, episode, explorers, chasers, p_main in POLICY_CASES:
        got = attempt(league_policy, agent, episode, list(explorers), list(chasers), p_main)
        assert isinstance(got, str), f"league_policy should return a module id (a str), got {type(got).__name__}."
        role = "explorer" if agent == "agent1" else "chaser"
        assert got == role or got in (explorers if role == "explorer" else chasers), (
            f"league_policy({agent!r}, ...) returned {got!r}: {agent} plays the {role} role, so its module is the "
            f"main {role} ({role!r}) or one of the snapshots in the {role}s' pool."
        )
        again = attempt(league_policy, agent, episode, list(explorers), list(chasers), p_main)
        assert again == got, (
            f"league_policy({agent!r}, {episode!r}, ...) returned {got!r}, then {again!r}: decide with "
            "random.Random(episode_id) only, so that an episode's choices never change."
        )
        answers.append(got)
    learners = sum(league_policy("agent1", i, *POOLS, 0.0) == "explorer" for i in FREQUENCY_IDS)
    assert 150 <= learners <= 250, (
        f"In {len(FREQUENCY_IDS)} episodes with p_main=0 the main explorer played {learners} times: each role "
        "should learn in about half of the episodes (the explorer if rng.random() < 0.5)."
    )
    for (agent, episode, explorers, chasers, p_main), expected, got in zip(POLICY_CASES, EXPECTED_POLICIES, answers,
                                                                           strict=True):
        role = "explorer" if agent == "agent1" else "chaser"
        assert not (p_main == 1.0 and expected == role and got != role), (
            f"league_policy({agent!r}, {episode!r}, ..., p_main=1.0) returned the snapshot {got!r}: with p_main=1.0 "
            f"the learner's opponent always plays its main policy (rng.random() < p_main always holds)."
        )
        assert same_answer(expected, got), (
            f"league_policy({agent!r}, {episode!r}, explorers={explorers}, chasers={chasers}, p_main={p_main}) "
            f"returned {got!r}, expected {expected!r}. Draw in this order from random.Random(episode_id): "
            "which role learns (rng.random() < 0.5: the explorer), then, for the other role only and only if its "
            "pool is not empty, whether it plays its main policy (rng.random() < p_main), then which snapshot "
            "(rng.choice(pool))."
        )
    passed("league_policy maps each agent to its role, lets one role learn against the other's pool, and "
           "decides each episode the same way every time.")


# Exercise 8b's visible cases: (results, threshold, window), the reference's decision, and why.
SNAPSHOT_CASES = [
    ([True] * 8 + [False] * 2, 0.8, 10, True, "8 wins in the last 10 is a win rate of 0.8, at least the threshold"),
    ([True] * 7 + [False] * 3, 0.8, 10, False, "7 wins in the last 10 is a win rate of 0.7, below the threshold"),
    ([True] * 9, 0.8, 10, False, "9 results are fewer than window=10: wait for a full window"),
    ([False] * 20 + [True] * 10, 0.9, 10, True, "the last 10 results are all wins: only the last `window` count"),
    ([False] * 20 + [True] * 10, 0.9, 30, False, "10 wins in the last 30 is a win rate of 0.33"),
]


def check_should_snapshot(should_snapshot) -> None:
    """Exercise 8b: when to freeze a copy of a main policy."""
    for results, threshold, window, expected, why in SNAPSHOT_CASES:
        got = attempt(should_snapshot, list(results), threshold, window)
        assert isinstance(got, bool), (
            f"should_snapshot should return True or False (a bool), got {got!r} of type {type(got).__name__}.")
        assert got is expected, (
            f"should_snapshot(<{len(results)} results: {sum(results)} wins, then...>, threshold={threshold}, "
            f"window={window}) returned {got}, expected {expected}: {why}."
        )
    passed("should_snapshot waits for a full window and freezes a copy when the recent win rate reaches the threshold.")
