"""The course's diagrams, drawn with matplotlib so they never depend on a link."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from arena_lib.alt_text import describe


def _box(ax, xy, text, color, width=0.26, height=0.16):
    x, y = xy
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.02", facecolor=color, edgecolor="black"))
    ax.text(x, y, text, ha="center", va="center", fontsize=10)


def _arrow(ax, start, end, text="", offset=(0, 0), rad=0.0):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=18,
                                 connectionstyle=f"arc3,rad={rad}", color="black"))
    if text:
        mid = ((start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1])
        ax.text(*mid, text, ha="center", va="center", fontsize=9)


def rl_loop():
    """The agent-environment loop of reinforcement learning."""
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    _box(ax, (0.2, 0.5), "agent\n(policy)", "#c6dbef")
    _box(ax, (0.8, 0.5), "environment", "#fdd0a2")
    _arrow(ax, (0.34, 0.6), (0.66, 0.6), "action $a_t$", offset=(0, 0.22), rad=-0.3)
    _arrow(ax, (0.66, 0.4), (0.34, 0.4), "observation $o_{t+1}$, reward $r_{t+1}$", offset=(0, -0.22), rad=-0.3)
    ax.set_title("The RL loop: act, observe, get rewarded, learn to get more reward")
    return describe(fig, "Diagram of the RL loop: the agent (its policy) sends an action a_t to the environment; "
                         "the environment sends back the next observation o_t+1 and a reward r_t+1; the agent "
                         "learns to act so as to get more reward.")


def rllib_pieces():
    """RLlib's core pieces on the new API stack and how data flows between them."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    _box(ax, (0.5, 0.85), "Algorithm (e.g. PPO)\nbuilt from a PPOConfig", "#e5e5e5", width=0.4)
    _box(ax, (0.2, 0.35), "EnvRunner\nenv + RLModule copies\n(sampling)", "#fdd0a2", width=0.3, height=0.26)
    _box(ax, (0.8, 0.35), "Learner\nRLModules + loss\n(updates weights)", "#c6dbef", width=0.3, height=0.26)
    _arrow(ax, (0.42, 0.77), (0.25, 0.5), "sample()", offset=(-0.07, 0.02))
    _arrow(ax, (0.58, 0.77), (0.75, 0.5), "update()", offset=(0.07, 0.02))
    _arrow(ax, (0.36, 0.38), (0.64, 0.38), "episodes", offset=(0, 0.05))
    _arrow(ax, (0.64, 0.28), (0.36, 0.28), "new weights", offset=(0, -0.05))
    ax.text(0.5, 0.05, "An RLModule (formerly Policy + Model) maps observations to action distributions;\n"
            "one RLModule per policy id, e.g. policy1 for agent1 and policy2 for agent2.",
            ha="center", fontsize=9)
    return describe(fig, "Diagram of RLlib's pieces: the Algorithm (for example PPO, built from a PPOConfig) calls "
                         "sample() on the EnvRunner (the env and copies of the RLModules: sampling) and update() on "
                         "the Learner (the RLModules and the loss: it updates the weights). The EnvRunner sends "
                         "episodes to the Learner, which sends new weights back. An RLModule (formerly Policy + "
                         "Model) maps observations to action distributions; one RLModule per policy id, for "
                         "example policy1 for agent1 and policy2 for agent2.")
