"""Notebook 01 (the arena): exercise 1, the environment loop."""

from __future__ import annotations

from arena_lib.answers import same_answer
from arena_lib.env import EpisodeNotStarted, EpisodeOver, MultiAgentArena
from arena_lib.exercises import attempt, passed, self_check, shown
from arena_lib.policies import random_policies

# What the exercise cells define (while grading, only they and the test cells run).
GRADED_NAMES = ("run_episode",)

# Course code that plays an episode or adds up its rewards: while the exercise is graded, the
# kernel's arena_lib has none of it (arena_grading.library), and the self-check says so before.
WRITE_YOUR_OWN = {
    "arena_lib.rollout:rollout": "it plays the episode for you",
    "arena_lib.rollout:Trajectory.returns": "it adds up the rewards for you",
    "arena_lib.evaluation:evaluate": "it plays episodes for you",
    "arena_lib.evaluation:Evaluation.mean_return": "it adds up the rewards for you",
    "arena_lib.matches:play_many": "it plays episodes for you",
    "arena_lib.matches:BatchedArena.step": "it plays episodes and adds up their rewards for you",
    "arena_lib.matches:MatchResult.replay": "it plays the episode for you",
}

# The self-check's case and what the reference solution returns for it (recorded, as data:
# tests/test_exercises.py checks that it still is what the reference gives).
CHECKED_CASE = {"width": 5, "height": 5, "ts": 12}
CHECKED_SEED = 0
EXPECTED_TOTALS = {"agent1": 6.0, "agent2": -1.2}


class EarlyEndArena(MultiAgentArena):
    """An arena whose episode *terminates* (not truncates) after ``ts`` steps: the hidden
    tests' case of an episode that ends by ``terminateds["__all__"]``."""

    def step(self, action_dict):
        obs, rewards, terminateds, truncateds, infos = super().step(action_dict)
        if truncateds["__all__"]:
            terminateds = {agent: True for agent in terminateds}
            truncateds = {agent: False for agent in truncateds}
        return obs, rewards, terminateds, truncateds, infos


PAST_THE_END = ("run_episode kept calling env.step() after the episode was over: stop the loop as soon as "
                "truncateds['__all__'] (or terminateds['__all__']) is True, and return the totals then.")
NOT_STARTED = "run_episode called env.step() before env.reset(): start the episode with obs, infos = env.reset()."


@self_check
def check_run_episode(run_episode) -> None:
    """Exercise 1: the environment loop."""
    env = MultiAgentArena(CHECKED_CASE)
    expected = EXPECTED_TOTALS
    got = attempt(run_episode, env, random_policies(CHECKED_SEED),
                  explain={EpisodeOver: PAST_THE_END, EpisodeNotStarted: NOT_STARTED})
    assert got is not None, "run_episode returned None: return a dict like {'agent1': total1, 'agent2': total2}."
    assert isinstance(got, dict), f"run_episode should return a dict of total rewards, got {type(got).__name__}."
    assert set(got) == {"agent1", "agent2"}, f"The dict needs the keys 'agent1' and 'agent2', got {sorted(got)}."
    assert env.timesteps == 12, (
        f"The episode has 12 steps (ts=12) but the env stopped after {env.timesteps}: "
        "loop until truncateds['__all__'] (or terminateds['__all__']) is True, not for a fixed number of steps."
    )
    assert same_answer(expected, got), (
        f"The totals {shown(got)} differ from the rewards the env gave, {expected}. Add up every step's "
        "reward for each agent, and ask each agent's policy for its action with its own observation."
    )
    again = attempt(run_episode, env, random_policies(CHECKED_SEED), explain={EpisodeOver: (
        "Called a second time on the same env, run_episode stepped the finished episode: start each episode "
        "with env.reset(), inside run_episode.")})
    assert same_answer(expected, again), (
        "Calling run_episode twice on the same env gave different totals: start each episode with env.reset()."
    )
    ended = EarlyEndArena({"width": 5, "height": 5, "ts": 6})
    attempt(run_episode, ended, random_policies(1), explain={EpisodeOver: (
        "An episode can also end by terminateds['__all__'] (the game is over), not only by the time limit "
        "(truncateds['__all__']): stop when either is True.")})
    assert ended.timesteps == 6, (
        f"This episode was terminated after 6 steps but run_episode stopped after {ended.timesteps}: stop when "
        "terminateds['__all__'] or truncateds['__all__'] is True."
    )
    passed("run_episode plays a whole episode and adds up each agent's rewards.")
