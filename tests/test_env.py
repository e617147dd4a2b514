"""The MultiAgentArena's rules, cell by cell (README.md, "The game")."""

import numpy as np
import pytest

from arena_lib import MultiAgentArena

UP, RIGHT, DOWN, LEFT = range(4)


def arena(**config):
    env = MultiAgentArena(config)
    env.reset()
    return env


def place(env, agent1, agent2, visited=None):
    env.agent1_pos, env.agent2_pos = list(agent1), list(agent2)
    env.agent1_visited_fields = set(visited or {tuple(agent1)})


def test_start_positions_and_first_observation_on_8x8():
    env = MultiAgentArena({"width": 8, "height": 8})
    obs, infos = env.reset()
    assert env.agent1_pos == [0, 0] and env.agent2_pos == [7, 7]
    assert obs["agent1"].tolist() == [0, 63]
    assert obs["agent2"].tolist() == [63, 0]
    assert infos == {"agent1": {}, "agent2": {}}
    assert env.timesteps == 0


def test_spaces():
    env = MultiAgentArena({"width": 5, "height": 3})
    assert env.possible_agents == ["agent1", "agent2"]
    for agent in env.possible_agents:
        assert env.action_spaces[agent].n == 4
        assert env.observation_spaces[agent].nvec.tolist() == [15, 15]
        obs, _ = env.reset()
        assert env.observation_spaces[agent].contains(obs[agent])


def test_observation_encoding_on_non_square_grid():
    env = arena(width=5, height=3)
    assert env.agent2_pos == [2, 4]
    obs, *_ = env.step({"agent1": DOWN, "agent2": LEFT})
    # agent1 at [1, 0] -> 1*5+0; agent2 at [2, 3] -> 2*5+3.
    assert obs["agent1"].tolist() == [5, 13]
    assert obs["agent2"].tolist() == [13, 5]


def test_each_action_moves_one_cell():
    for action, expected in [(UP, [1, 2]), (RIGHT, [2, 3]), (DOWN, [3, 2]), (LEFT, [2, 1])]:
        env = arena()
        place(env, [2, 2], [9, 9])
        env.step({"agent1": action, "agent2": UP})
        assert env.agent1_pos == expected, action


def test_walls_keep_agents_inside_and_staying_is_not_new():
    env = arena(width=4, height=3)
    obs, rewards, *_ = env.step({"agent1": UP, "agent2": RIGHT})
    assert env.agent1_pos == [0, 0] and env.agent2_pos == [2, 3]
    assert rewards == {"agent1": -0.5, "agent2": -0.1}
    env.step({"agent1": LEFT, "agent2": DOWN})
    assert env.agent1_pos == [0, 0] and env.agent2_pos == [2, 3]


def test_first_visit_rewards():
    env = arena()
    _, rewards, *_ = env.step({"agent1": RIGHT, "agent2": UP})
    assert rewards == {"agent1": 1.0, "agent2": -0.1}
    _, rewards, *_ = env.step({"agent1": LEFT, "agent2": UP})  # back to the start cell
    assert rewards["agent1"] == -0.5
    _, rewards, *_ = env.step({"agent1": RIGHT, "agent2": UP})  # visited before
    assert rewards["agent1"] == -0.5
    _, rewards, *_ = env.step({"agent1": DOWN, "agent2": UP})
    assert rewards["agent1"] == 1.0


def test_agent1_bumping_into_agent2_is_a_blocked_collision():
    env = arena()
    place(env, [4, 4], [4, 6])
    # agent2 moves first (up, away), so agent1 moving right is free ...
    env.step({"agent1": RIGHT, "agent2": UP})
    assert env.agent1_pos == [4, 5] and not env.collision
    place(env, [4, 4], [4, 5])
    _, rewards, *_ = env.step({"agent1": RIGHT, "agent2": RIGHT})
    # agent2 moved to [4, 6] first, so agent1 could follow to [4, 5].
    assert env.agent1_pos == [4, 5] and not env.collision
    place(env, [4, 4], [4, 5])
    _, rewards, *_ = env.step({"agent1": RIGHT, "agent2": DOWN})
    assert env.agent2_pos == [5, 5]
    assert env.agent1_pos == [4, 5]
    place(env, [4, 4], [4, 5])
    _, rewards, *_ = env.step({"agent1": RIGHT, "agent2": LEFT})
    # agent2 bumps first (blocked), then agent1 bumps (blocked).
    assert env.agent1_pos == [4, 4] and env.agent2_pos == [4, 5]
    assert env.collision
    assert rewards == {"agent1": -1.0, "agent2": 1.0}


def test_agent1_bump_alone_is_a_collision():
    env = arena()
    place(env, [0, 0], [0, 1])
    # agent2 tries the wall (stays), then agent1 bumps into it.
    _, rewards, *_ = env.step({"agent1": RIGHT, "agent2": UP})
    assert env.agent1_pos == [0, 0] and env.agent2_pos == [0, 1]
    assert env.collision and env.num_collisions == 1
    assert rewards == {"agent1": -1.0, "agent2": 1.0}


def test_agent2_bumping_into_agent1_counts_too():
    """The original tutorial lost this event (it overwrote agent2's events)."""
    env = arena()
    place(env, [3, 3], [3, 4])
    # agent2 bumps left into agent1 and is blocked; agent1 then moves down to a new cell.
    _, rewards, *_ = env.step({"agent1": DOWN, "agent2": LEFT})
    assert env.agent2_pos == [3, 4]
    assert env.agent1_pos == [4, 3]
    assert env.collision
    assert rewards == {"agent1": -1.0, "agent2": 1.0}


def test_collision_flag_clears_on_the_next_step():
    env = arena()
    place(env, [0, 0], [0, 1])
    env.step({"agent1": RIGHT, "agent2": UP})
    assert env.collision
    env.step({"agent1": DOWN, "agent2": UP})
    assert not env.collision


def test_time_limit_truncates_the_episode():
    env = arena(ts=3)
    for step in range(1, 4):
        _, _, terminateds, truncateds, _ = env.step({"agent1": DOWN, "agent2": UP})
        assert env.timesteps == step
        assert terminateds == {"agent1": False, "agent2": False, "__all__": False}
        done = step == 3
        assert truncateds == {"agent1": done, "agent2": done, "__all__": done}
    with pytest.raises(RuntimeError, match="reset"):
        env.step({"agent1": DOWN, "agent2": UP})
    env.reset()
    assert env.timesteps == 0 and env.agent1_pos == [0, 0]


def test_default_episode_is_100_steps():
    env = arena()
    steps = 0
    while True:
        *_, truncateds, _ = env.step({"agent1": RIGHT, "agent2": LEFT})
        steps += 1
        if truncateds["__all__"]:
            break
    assert steps == 100


def test_step_before_reset_raises():
    env = MultiAgentArena()
    with pytest.raises(RuntimeError, match="reset"):
        env.step({"agent1": 0, "agent2": 0})


def test_returns_accumulate_in_the_env():
    env = arena()
    total1 = total2 = 0.0
    for action in [RIGHT, RIGHT, LEFT, DOWN]:
        _, rewards, *_ = env.step({"agent1": action, "agent2": UP})
        total1 += rewards["agent1"]
        total2 += rewards["agent2"]
    assert env.agent1_R == pytest.approx(total1) == 1 + 1 - 0.5 + 1
    assert env.agent2_R == pytest.approx(total2) == -0.4


# -- config validation ------------------------------------------------------


@pytest.mark.parametrize(
    "config, message",
    [
        ({"config": {"width": 5}}, "nested 'config'"),
        ({"widht": 5}, r"unknown config key\(s\) \['widht'\]"),
        ({"width": 0}, "'width' must be an integer >= 1"),
        ({"height": "10"}, "'height' must be an integer >= 1, got '10'"),
        ({"ts": 2.5}, "'ts' must be an integer"),
        ({"width": True}, "'width' must be an integer"),
        ({"width": 1, "height": 1}, "cannot hold two agents"),
    ],
)
def test_bad_config_is_rejected_clearly(config, message):
    with pytest.raises(ValueError, match=message):
        MultiAgentArena(config)


def test_good_configs():
    assert MultiAgentArena().config == {"width": 10, "height": 10, "ts": 100}
    env = MultiAgentArena({"width": np.int64(2), "height": 1, "ts": 5})
    assert (env.width, env.height) == (2, 1)
    env.reset()
    assert env.agent2_pos == [0, 1]


# -- bad actions ---------------------------------------------------------------


@pytest.mark.parametrize(
    "actions, error, message",
    [
        ({"agent1": 7, "agent2": 0}, ValueError, "agent1 must be in 0..3"),
        ({"agent1": 0, "agent2": -1}, ValueError, "agent2 must be in 0..3"),
        ({"agent1": 0}, ValueError, "No action for agent2"),
        ({"agent1": None, "agent2": 0}, TypeError, "agent1 must be an integer in 0..3"),
        ({"agent1": 1.0, "agent2": 0}, TypeError, "agent1 must be an integer"),
        ({"agent1": "up", "agent2": 0}, TypeError, "agent1 must be an integer"),
        ({"agent1": 0, "agent2": 0, "agent3": 1}, ValueError, r"Unknown agent\(s\) \['agent3'\]"),
        ([0, 1], TypeError, "dict of actions"),
    ],
)
def test_bad_actions_name_the_agent_and_range(actions, error, message):
    env = arena()
    with pytest.raises(error, match=message):
        env.step(actions)
    assert env.timesteps == 0, "a rejected step must not advance the episode"


def test_numpy_integer_actions_are_accepted():
    env = arena()
    env.step({"agent1": np.int64(2), "agent2": np.array(0)})
    assert env.agent1_pos == [1, 0]
    assert env.agent2_pos == [8, 9]
