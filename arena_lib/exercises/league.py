"""Notebook 08 (self-play in a league): exercise 8a, the league's policy mapping; 8b, when to
freeze a snapshot."""

from __future__ import annotations

from arena_lib.exercises import attempt, passed, self_check

GRADED_NAMES = ("league_policy", "should_snapshot")
# Nothing in arena_lib maps a league's agents or decides its snapshots: the notebook's league
# calls the student's functions (arena_lib.league).
WRITE_YOUR_OWN = {}

# Exercise 8a is graded by what every right league mapping does, whatever the order of its random
# draws: these are its rules, checked over many episodes (``league_properties``). A share over
# EPISODES episodes must be within SHARE_MARGIN of its chance: over five standard deviations, so
# a right answer fails once in millions of runs, while a wrong rule (a share of 0 or 1, or p_main
# ignored) is far outside.
POOLS = (["explorer_v1", "explorer_v2", "explorer_v3"], ["chaser_v1", "chaser_v2"])
EPISODES = 2000
SHARE_MARGIN = 0.06
RULES = {
    "only the role's main policy or its pool's snapshots play":
        "agent1 plays the explorer role, so its module is 'explorer' or one of `explorers`; agent2's is "
        "'chaser' or one of `chasers`",
    "the same episode always gets the same modules":
        "decide with random.Random(episode_id) only (not the random module's shared generator), so that both "
        "agents' calls for one episode agree, and a call again gives the same answer",
    "in every episode a main policy plays":
        "the role that learns in an episode plays its main policy; only the other role may play a snapshot",
    "with empty pools both main policies play":
        "a role whose pool is empty plays its main policy",
    "with p_main=1 both main policies play":
        "the other role plays its main policy with probability p_main",
    "with p_main=0 the explorer learns in about half the episodes":
        "each role learns in about half of the episodes (the other role then plays a snapshot when p_main=0)",
    "with p_main=0.3 both main policies play in about 30% of the episodes":
        "the role that does not learn plays its main policy with probability p_main, else a snapshot",
    "every snapshot of a pool plays about as often as the others":
        "pick the snapshot uniformly from the pool (rng.choice(pool))",
}


def league_properties(league_policy, episode_ids: list[str], pools=POOLS) -> dict:
    """Each rule of ``RULES`` -> whether ``league_policy`` follows it on these episodes (2000 ids
    or more). What the self-check asserts and the hidden tests report, on other episode ids."""
    explorers, chasers = pools

    def modules(episode, p_main, explorer_pool=explorers, chaser_pool=chasers):
        return (league_policy("agent1", episode, list(explorer_pool), list(chaser_pool), p_main),
                league_policy("agent2", episode, list(explorer_pool), list(chaser_pool), p_main))

    runs = {p_main: [modules(e, p_main) for e in episode_ids] for p_main in (0.0, 0.3, 1.0)}
    allowed = set(explorers) | {"explorer"}, set(chasers) | {"chaser"}
    count = len(episode_ids)
    snapshots = [explorer for explorer, _ in runs[0.0] if explorer != "explorer"]
    per_snapshot = [snapshots.count(name) / max(1, len(snapshots)) for name in explorers]
    return {
        "only the role's main policy or its pool's snapshots play": all(
            e in allowed[0] and c in allowed[1] for run in runs.values() for e, c in run),
        "the same episode always gets the same modules": all(
            modules(e, p) == runs[p][i] for p in (0.0, 0.3) for i, e in enumerate(episode_ids[:200])),
        "in every episode a main policy plays": all(
            e == "explorer" or c == "chaser" for run in runs.values() for e, c in run),
        "with empty pools both main policies play": all(
            modules(e, 0.0, [], []) == ("explorer", "chaser") for e in episode_ids[:200]),
        "with p_main=1 both main policies play": all(run == ("explorer", "chaser") for run in runs[1.0]),
        "with p_main=0 the explorer learns in about half the episodes": abs(
            sum(e == "explorer" for e, _ in runs[0.0]) / count - 0.5) <= SHARE_MARGIN,
        "with p_main=0.3 both main policies play in about 30% of the episodes": abs(
            sum(run == ("explorer", "chaser") for run in runs[0.3]) / count - 0.3) <= SHARE_MARGIN,
        "every snapshot of a pool plays about as often as the others": bool(snapshots) and all(
            abs(share - 1 / len(explorers)) <= SHARE_MARGIN for share in per_snapshot),
    }


@self_check
def check_league_policy(league_policy) -> None:
    """Exercise 8a: the league's policy mapping function, by its rules."""
    first = attempt(league_policy, "agent1", "ep-1", list(POOLS[0]), list(POOLS[1]), 0.3)
    assert isinstance(first, str), f"league_policy should return a module id (a str), got {type(first).__name__}."
    try:
        found = league_properties(league_policy, [f"check-{i}" for i in range(EPISODES)])
    except Exception as error:  # noqa: BLE001 - the student reads it in words
        raise AssertionError(f"league_policy raised {type(error).__name__}: {error}") from error
    broken = [rule for rule, holds in found.items() if not holds]
    assert not broken, f"league_policy breaks the rule \"{broken[0]}\": {RULES[broken[0]]}." + (
        f" (It breaks {len(broken) - 1} more of the league's rules.)" if len(broken) > 1 else "")
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


@self_check
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
