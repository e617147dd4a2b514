"""Watching an episode: a widget player for JupyterLab and an HTML animation
that also shows where widgets cannot run (notebook viewers, nbgrader feedback)."""

from __future__ import annotations

import io
import os

import numpy as np


def _frames_of(episode) -> list:
    frames = getattr(episode, "frames", episode)
    if not frames or not isinstance(frames[0], np.ndarray):
        raise ValueError(
            "Nothing to show: the episode has no image frames. Make the env with "
            "render_mode='rgb_array' before calling rollout()."
        )
    return list(frames)


def _captions_of(episode, num_frames: int) -> list[str]:
    rewards = getattr(episode, "rewards", None)
    if rewards is None:
        return [f"step {i}" for i in range(num_frames)]
    captions, totals = ["step 0 (start)"], {}
    for i, step_rewards in enumerate(rewards, start=1):
        for agent, reward in step_rewards.items():
            totals[agent] = totals.get(agent, 0.0) + float(reward)
        captions.append(
            f"step {i}   " + "   ".join(f"{a}: {r:+.1f} (total {totals[a]:.1f})" for a, r in step_rewards.items())
        )
    return captions


def _texts_of(episode, frames: list) -> list[str]:
    """Each frame's text alternative (arena_lib.alt_text): the step and where the agents are."""
    from arena_lib.alt_text import frame_text

    height, width = _grid_of(frames)
    observations = getattr(episode, "observations", None) or [None] * len(frames)
    return [frame_text(observations[i] if i < len(observations) else None, i, len(frames) - 1, height, width)
            for i in range(len(frames))]


def _grid_of(frames: list) -> tuple[int, int]:
    from arena_lib.rendering import CELL_PX

    return frames[0].shape[0] // CELL_PX, frames[0].shape[1] // CELL_PX


def _picture(frame: np.ndarray, text: str, width: int = 360) -> str:
    import base64
    import html

    png = base64.b64encode(_png_bytes(frame)).decode("ascii")
    return f'<img src="data:image/png;base64,{png}" alt="{html.escape(text)}" width="{width}">'


def _png_bytes(frame: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG")
    return buffer.getvalue()


def episode_player(episode, fps: int = 5):
    """An ipywidgets player for a trajectory or a list of frames: Play (Pause while it plays), a
    step back and forward, the step as a number to type, and each frame's caption and picture."""
    import ipywidgets as widgets

    frames = _frames_of(episode)
    captions = _captions_of(episode, len(frames))
    last = len(frames) - 1
    # Each frame an <img> with its text alternative (arena_lib/alt_text.py says why not an Image
    # widget); a fixed width keeps the board and its controls on one screen.
    pictures = [_picture(frame, text) for frame, text in zip(frames, _texts_of(episode, frames))]
    # Without a tooltip, ipywidgets 8 shows the word "null" on hover.
    image = widgets.HTML(value=pictures[0], tooltip="the arena at this step")
    caption = widgets.Label(value=captions[0])
    # Controls a screen reader can name: buttons with words, a number box with its label. The
    # browser keeps the time, with ipywidgets' Play widget, hidden (its own buttons have no names
    # to say, nor has IntSlider's handle) and driven by the Play button.
    timer = widgets.Play(min=0, max=last, interval=int(1000 / fps), tooltip="plays the episode",
                         layout=widgets.Layout(display="none"))
    step = widgets.BoundedIntText(min=0, max=last, description="step", tooltip="type any step",
                                  layout=widgets.Layout(width="160px"))
    widgets.jslink((timer, "value"), (step, "value"))
    # Words only: an icon's glyph would be read out as part of the button's name.
    narrow = {"layout": widgets.Layout(width="auto")}
    play = widgets.Button(description="Play", tooltip="play the episode from this step", **narrow)
    back = widgets.Button(description="Back", tooltip="one step back", **narrow)
    forward = widgets.Button(description="Forward", tooltip="one step forward", **narrow)

    def play_or_pause(_):
        timer.playing = not timer.playing

    def name_play(change):
        play.description = "Pause" if change["new"] else "Play"

    def show(change):
        image.value = pictures[change["new"]]
        caption.value = captions[change["new"]]

    play.on_click(play_or_pause)
    timer.observe(name_play, names="playing")
    back.on_click(lambda _: setattr(step, "value", max(0, step.value - 1)))
    forward.on_click(lambda _: setattr(step, "value", min(last, step.value + 1)))
    step.observe(show, names="value")
    return widgets.VBox([widgets.HBox([play, back, forward, step, timer]), caption, image])


def animate_episode(episode, fps: int = 5, size_inches: float = 4.0):
    """A matplotlib animation as self-contained HTML (JavaScript player, frames embedded)."""
    from IPython.display import HTML

    frames = _frames_of(episode)
    captions = _captions_of(episode, len(frames))
    import matplotlib
    from matplotlib.animation import FuncAnimation
    from matplotlib.figure import Figure

    # A Figure made without pyplot is never shown twice as a stray static image.
    fig = Figure(figsize=(size_inches, size_inches * 1.1))
    ax = fig.add_subplot()
    ax.set_axis_off()
    shown = ax.imshow(frames[0])
    title = ax.set_title(captions[0], fontsize=7)

    def draw(i):
        shown.set_data(frames[i])
        title.set_text(captions[i])
        return shown, title

    animation = FuncAnimation(fig, draw, frames=len(frames), interval=1000 / fps, blit=False)
    from arena_lib.alt_text import episode_text

    text = episode_text(getattr(episode, "observations", None), getattr(episode, "returns", None), len(frames) - 1,
                        *_grid_of(frames))
    with matplotlib.rc_context({"animation.embed_limit": 50.0}):
        return HTML(with_text_alternatives(without_icon_font(animation.to_jshtml(default_mode="once")), text))


# matplotlib's player draws its buttons with Font Awesome from a CDN: offline (a saved page,
# nbgrader feedback, the tournament's leaderboard) they would be blank. Plain characters instead.
BUTTON_LABELS = {"fa fa-play fa-flip-horizontal": "&#9664;", "fa fa-fast-backward": "|&#9664;&#9664;",
                 "fa fa-step-backward": "|&#9664;", "fa fa-pause": "&#10074;&#10074;", "fa fa-play": "&#9654;",
                 "fa fa-step-forward": "&#9654;|", "fa fa-fast-forward": "&#9654;&#9654;|", "fa fa-minus": "&minus;",
                 "fa fa-plus": "+"}


def without_icon_font(page: str) -> str:
    import re

    page = re.sub(r'<link rel="stylesheet"\s*href="[^"]*font-awesome[^"]*">', "", page)
    for icon, label in BUTTON_LABELS.items():
        page = page.replace(f'<i class="{icon}"></i>', label)
    return page


def with_text_alternatives(page: str, text: str) -> str:
    """matplotlib's player with words for what has none: its picture (``text``) and its slider."""
    import html

    page = page.replace('<img id="_anim_img', f'<img alt="{html.escape(text)}" id="_anim_img', 1)
    return page.replace('<input id="_anim_slider', '<input aria-label="step" id="_anim_slider', 1)
