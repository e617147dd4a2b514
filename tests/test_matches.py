"""Many episodes at once (arena_lib/matches.py) play by the MultiAgentArena's rules, step for step."""

import numpy as np
import pytest

from arena_lib import MultiAgentArena
from arena_lib.matches import BatchedArena, play, play_many
from arena_lib.players import RandomPlayer, ScriptedChaser, ScriptedExplorer
from tests.agent_files import random_agent


@pytest.mark.parametrize("config", [None, {"width": 5, "height": 3, "ts": 40}], ids=["default", "5x3"])
def test_batched_episodes_follow_the_arena_step_for_step(config):
    n = 64
    rng = np.random.default_rng(1)
    batch = BatchedArena(n, config)
    envs = [MultiAgentArena(config) for _ in range(n)]
    observations = [env.reset()[0] for env in envs]
    while not batch.done:
        obs1, obs2 = batch.observations()
        assert obs1.tolist() == [list(o["agent1"]) for o in observations]
        assert obs2.tolist() == [list(o["agent2"]) for o in observations]
        # Often toward each other, so that collisions happen.
        actions1, actions2 = rng.integers(0, 4, n), rng.integers(0, 4, n)
        rewards1, rewards2 = batch.step(actions1, actions2)
        steps = [env.step({"agent1": int(a1), "agent2": int(a2)}) for env, a1, a2 in zip(envs, actions1, actions2)]
        observations = [s[0] for s in steps]
        assert rewards1.tolist() == [s[1]["agent1"] for s in steps]
        assert rewards2.tolist() == [s[1]["agent2"] for s in steps]
    assert all(s[3]["__all__"] for s in steps)
    assert batch.collisions.sum() > 0, "the random walks should have collided somewhere"
    with pytest.raises(RuntimeError, match="over"):
        batch.step(actions1, actions2)


def test_an_episode_plays_the_same_whatever_else_is_in_the_batch():
    agent = random_agent(2)
    alone = play(agent.player("explorer"), RandomPlayer(), [7], record=True)
    among = play(agent.player("explorer"), RandomPlayer(), [3, 7, 11], record=True)
    assert alone.explorer_returns[0] == among.explorer_returns[1]
    np.testing.assert_array_equal(alone.actions[0], among.actions[1])


def test_a_replay_is_the_episode_that_was_played():
    match = play(ScriptedExplorer(), ScriptedChaser(), [0, 1], record=True)
    trajectory = match.replay(1)
    assert len(trajectory.frames) == 101
    assert sum(r["agent1"] for r in trajectory.rewards) == match.explorer_returns[1]
    assert sum(r["agent2"] for r in trajectory.rewards) == match.chaser_returns[1]


def test_the_scripted_players_beat_random_ones():
    seeds = list(range(100))
    assert play(ScriptedExplorer(), RandomPlayer(), seeds).explorer_returns.mean() > \
        play(RandomPlayer(), RandomPlayer(), seeds).explorer_returns.mean() + 20
    assert play(RandomPlayer(), ScriptedChaser(), seeds).collisions.mean() > \
        play(RandomPlayer(), RandomPlayer(), seeds).collisions.mean() + 3


def test_matches_played_together_give_what_each_gives_alone():
    agents = [random_agent(seed, hiddens=(16, 8)) for seed in range(4)]
    players = [(agent.player("explorer"), agent.player("chaser")) for agent in agents]
    matches = [(players[a][0], players[b][1], list(range(10 * a + b, 10 * a + b + 5)))
               for a in range(4) for b in range(4) if a != b]
    together = play_many(matches)
    for (explorer, chaser, seeds), result in zip(matches, together, strict=True):
        alone = play(explorer, chaser, seeds)
        np.testing.assert_array_equal(result.explorer_returns, alone.explorer_returns)
        np.testing.assert_array_equal(result.chaser_returns, alone.chaser_returns)


def test_networks_of_one_shape_act_together_and_as_each_alone():
    from arena_lib.matches import stacked
    from arena_lib.players import NetworkStack

    agents = [random_agent(seed, hiddens=(16, 8)) for seed in range(5)] + [random_agent(9, hiddens=(12,))]
    players = [agent.player("chaser") for agent in agents]
    groups = stacked([(player, np.arange(4 * i, 4 * i + 4)) for i, player in enumerate(players)])
    stacks = [(player, rows) for player, rows in groups if isinstance(player, NetworkStack)]
    assert len(stacks) == 1 and stacks[0][1].shape == (5, 4)  # the five of one shape; the other alone
    observations = np.random.default_rng(0).integers(0, 100, (5, 4, 2))
    together = stacks[0][0].logits(observations)
    for i, player in enumerate(players[:5]):
        np.testing.assert_array_equal(together[i], player.logits(observations[i]))


def test_replay_states_are_the_envs_frames_without_rllib():
    from arena_lib.matches import replay_states
    from arena_lib.rendering import draw_arena

    match = play(random_agent(3).player("explorer"), ScriptedChaser(), [4], record=True)
    states = replay_states(match.actions[0])
    trajectory = match.replay(0)
    assert len(states) == len(trajectory.frames) == 101
    for state, frame in zip(states, trajectory.frames):
        np.testing.assert_array_equal(draw_arena(state), frame)
    assert states[-1].explorer_return == match.explorer_returns[0]
    assert sum(s.collision for s in states) == match.collisions[0]
