"""Text and image rendering, the random policy, rollouts and the episode players."""

import numpy as np
import pytest

from arena_lib import MultiAgentArena, RandomPolicy, rollout
from arena_lib.animation import animate_episode, episode_player
from arena_lib.rendering import AGENT1, AGENT2, CELL_PX, COLLISION_BORDER, VISITED


def test_ansi_render_is_the_original_picture():
    env = MultiAgentArena({"width": 4, "height": 3}, render_mode="ansi")
    env.reset()
    env.step({"agent1": 1, "agent2": 0})  # agent1 right, agent2 up
    assert env.render() == (
        "______\n"
        "|.1  |\n"
        "|   2|\n"
        "|    |\n"
        "‾‾‾‾‾‾\n"
        "\n"
        "R1= 1.0\n"
        "R2=-0.1 (0 collisions)\n"
    )


def test_ansi_render_shows_collisions():
    env = MultiAgentArena({"width": 2, "height": 1}, render_mode="ansi")
    env.reset()
    env.step({"agent1": 1, "agent2": 3})
    text = env.render()
    assert "!!Collision!!" in text and "(1 collisions)" in text
    assert "|12|" in text


def test_rgb_array_render_draws_agents_and_visited_cells():
    env = MultiAgentArena({"width": 5, "height": 3}, render_mode="rgb_array")
    env.reset()
    env.step({"agent1": 1, "agent2": 0})
    image = env.render()
    assert image.shape == (3 * CELL_PX, 5 * CELL_PX, 3) and image.dtype == np.uint8
    centre = CELL_PX // 2

    def pixel(row, col):
        return tuple(image[row * CELL_PX + centre, col * CELL_PX + centre])

    assert pixel(0, 1) == AGENT1  # agent1 moved right
    assert pixel(1, 4) == AGENT2  # agent2 moved up
    assert pixel(0, 0) == VISITED  # where agent1 started
    assert pixel(2, 2) == (255, 255, 255)
    assert tuple(image[0, 0]) != COLLISION_BORDER


def test_rgb_array_render_marks_a_collision():
    env = MultiAgentArena({"width": 2, "height": 1}, render_mode="rgb_array")
    env.reset()
    env.step({"agent1": 1, "agent2": 3})
    assert tuple(env.render()[0, 0]) == COLLISION_BORDER


def test_render_without_mode_explains_itself():
    env = MultiAgentArena()
    env.reset()
    with pytest.raises(ValueError, match="render_mode"):
        env.render()
    with pytest.raises(ValueError, match="render_mode must be one of"):
        MultiAgentArena(render_mode="human")


def test_random_policy_is_replayable_with_a_seed():
    def play(seed1, seed2):
        env = MultiAgentArena()
        return rollout(env, {"agent1": RandomPolicy(seed1), "agent2": RandomPolicy(seed2)})

    first, again, other = play(1, 2), play(1, 2), play(3, 4)
    assert first.actions == again.actions and first.returns == again.returns
    assert first.actions != other.actions
    assert {a for step in first.actions for a in step.values()} == {0, 1, 2, 3}


def test_rollout_records_the_whole_episode():
    env = MultiAgentArena({"ts": 20}, render_mode="rgb_array")
    trajectory = rollout(env, {"agent1": RandomPolicy(0), "agent2": RandomPolicy(1)})
    assert len(trajectory) == 20
    assert len(trajectory.observations) == len(trajectory.frames) == 21
    assert trajectory.observations[0]["agent1"].tolist() == [0, 99]
    assert trajectory.returns["agent1"] == pytest.approx(env.agent1_R)
    assert trajectory.returns["agent2"] == pytest.approx(env.agent2_R)
    assert all(frame.shape == (320, 320, 3) for frame in trajectory.frames)


def test_rollout_without_render_mode_has_no_frames():
    trajectory = rollout(MultiAgentArena({"ts": 5}), {"agent1": RandomPolicy(0), "agent2": RandomPolicy(0)})
    assert trajectory.frames == [] and len(trajectory) == 5


def test_rollout_needs_a_policy_per_agent():
    with pytest.raises(ValueError, match=r"missing \['agent2'\]"):
        rollout(MultiAgentArena(), {"agent1": RandomPolicy(0)})


def test_html_animation_embeds_every_frame():
    env = MultiAgentArena({"width": 4, "height": 4, "ts": 6}, render_mode="rgb_array")
    trajectory = rollout(env, {"agent1": RandomPolicy(0), "agent2": RandomPolicy(1)})
    html = animate_episode(trajectory).data
    assert html.count("data:image/png;base64") == 7
    # Its buttons need nothing from the network (a saved page, feedback, the leaderboard).
    assert "http" not in html and 'class="fa' not in html and html.count("<button") == 9


def test_an_episode_without_pictures_cannot_be_animated():
    with pytest.raises(ValueError, match="render_mode='rgb_array'"):
        animate_episode(rollout(MultiAgentArena({"ts": 3}), {"agent1": RandomPolicy(0), "agent2": RandomPolicy(0)}))


def test_episode_player_widget_steps_through_frames():
    env = MultiAgentArena({"width": 4, "height": 4, "ts": 6}, render_mode="rgb_array")
    trajectory = rollout(env, {"agent1": RandomPolicy(0), "agent2": RandomPolicy(1)})
    player = episode_player(trajectory)
    controls, caption, image = player.children
    play, back, forward, step, timer = controls.children
    assert step.max == timer.max == 6
    first_image = image.value
    step.value = 6
    assert image.value != first_image and 'alt="The 4 x 4 arena at step 6 of 6' in image.value
    assert caption.value.startswith("step 6")
    back.click()
    assert step.value == 5 and caption.value.startswith("step 5")
    forward.click(), forward.click()
    assert step.value == 6  # not past the end
    play.click()  # the browser then plays (the Play widget's timer): here only its state changes
    assert timer.playing and play.description == "Pause"
    timer.playing = False  # as the browser says at the last step
    assert play.description == "Play"


def test_players_explain_missing_frames():
    trajectory = rollout(MultiAgentArena({"ts": 3}), {"agent1": RandomPolicy(0), "agent2": RandomPolicy(0)})
    for show in (animate_episode, episode_player):
        with pytest.raises(ValueError, match="render_mode='rgb_array'"):
            show(trajectory)
