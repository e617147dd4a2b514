"""Text alternatives (arena_lib/alt_text.py): what each figure, frame and animation says in words,
and that a notebook's kernel shows them (tests/test_browser.py checks them in JupyterLab)."""

from __future__ import annotations

import re

import nbformat
import pytest

from arena_lib import MultiAgentArena, RandomPolicy, animate_episode, episode_player, rollout
from arena_lib.alt_text import describe, figure_text
from tests.notebook_tools import pictures_without_text



def test_a_figure_is_described_by_what_it_says_or_by_its_description():
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2)
    left.plot([1, 2], label="agent1")
    left.axhline(0, label="_hidden")
    left.set(title="Returns", xlabel="iteration", ylabel="mean return")
    left.legend()
    right.bar([0, 1], [3, 4])
    right.set_title("Wins")
    fig.suptitle("Training")
    assert figure_text(fig) == ("Figure: Training. panel 1: Returns; lines (x axis: iteration; y axis: mean return); "
                                "legend: agent1. panel 2: Wins; bars.")
    assert figure_text(describe(fig, "Two  plots\nof training.")) == "Two plots of training."
    plt.close("all")


def test_a_frame_says_where_the_agents_are():
    env = MultiAgentArena({"width": 5, "height": 4, "ts": 3}, render_mode="rgb_array")
    trajectory = rollout(env, {"agent1": RandomPolicy(0), "agent2": RandomPolicy(1)})
    _, _, image = episode_player(trajectory).children
    assert re.search(r'alt="The 4 x 5 arena at step 0 of 3: agent1 \(blue circle\) at row 0, column 0, '
                     r'agent2 \(red diamond\) at row 3, column 4;', image.value), image.value
    page = animate_episode(trajectory).data
    assert re.search(r'<img alt="Animation of an episode in the 4 x 5 arena, 3 steps; at the end agent1', page)
    assert '<input aria-label="step" id="_anim_slider' in page


@pytest.mark.slow  # starts a kernel
def test_a_notebook_shows_each_figure_with_its_text_alternative(tmp_path):
    """Also when the inline backend is set up after arena_lib's import (a cell run again), which
    drops every formatter of matplotlib's Figure."""
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in (
        "import arena_lib",
        "%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.title('Progress');",
        "from arena_lib import figures\nfigures.rl_loop();",
    )]
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = [output["data"] for cell in nb.cells for output in cell.outputs if "data" in output]
    assert [bool(re.search(r'<img src="data:image/png;base64,[^"]+" alt="', data.get("text/html", "")))
            for data in shown] == [True, True], shown
    assert 'alt="Figure: Progress; lines."' in shown[0]["text/html"]
    assert 'alt="Diagram of the RL loop:' in shown[1]["text/html"]
    assert all("image/png" in data for data in shown)  # for the tools that show no HTML
    assert pictures_without_text(nb) == []
