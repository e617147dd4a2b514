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


def _png_bytes(frame: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG")
    return buffer.getvalue()


def episode_player(episode, fps: int = 5):
    """An ipywidgets player (play/pause and a step slider) for a trajectory or a list of frames."""
    import ipywidgets as widgets

    frames = _frames_of(episode)
    captions = _captions_of(episode, len(frames))
    pngs = [_png_bytes(frame) for frame in frames]
    # A fixed width keeps the board and its controls on one screen.
    image = widgets.Image(value=pngs[0], format="png", layout=widgets.Layout(width="360px"))
    caption = widgets.Label(value=captions[0])
    # Without a tooltip, ipywidgets 8 shows the word "null" on hover.
    play = widgets.Play(min=0, max=len(frames) - 1, interval=int(1000 / fps), tooltip="play the episode")
    slider = widgets.IntSlider(min=0, max=len(frames) - 1, description="step", tooltip="drag to any step")
    widgets.jslink((play, "value"), (slider, "value"))

    def show(change):
        image.value = pngs[change["new"]]
        caption.value = captions[change["new"]]

    slider.observe(show, names="value")
    return widgets.VBox([widgets.HBox([play, slider]), caption, image])


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
    with matplotlib.rc_context({"animation.embed_limit": 50.0}):
        return HTML(without_icon_font(animation.to_jshtml(default_mode="once")))


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
