"""The built-in opponents of the practice ladder and the tournament's baselines, and the ladder.

Each is an agent with a player for both roles (``player("explorer")``, ``player("chaser")``):
random moves; a scripted pair (a sweeping explorer, a chaser that walks straight at the other
agent); and the course's own agents, trained with RLlib and shipped as small agent files in
``arena_lib/data/`` (``scripts/train_course_agents.py`` made them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arena_lib.players import RandomPlayer, ScriptedChaser, ScriptedExplorer

DATA = Path(__file__).parent / "data"
COURSE_AGENTS = {"course pair agent": "course_pair_agent.safetensors",
                 "course league agent": "course_league_agent.safetensors"}
# Notebook 8's pair B, trained exactly as the notebook trains pair A but with another seed, so that a
# student waits for one pair only; not an opponent of the ladder or the tournament.
PAIR_B = "pair_b_agent.safetensors"


class RandomAgent:
    name = "random"

    def player(self, role: str):
        return RandomPlayer()


class ScriptedAgent:
    name = "scripted"

    def player(self, role: str):
        return ScriptedExplorer() if role == "explorer" else ScriptedChaser()


def course_agent(name: str):
    from arena_lib.agents import load_agent

    return load_agent(DATA / COURSE_AGENTS[name], name=name)


def course_pair_b():
    """Notebook 8's pair B: an explorer and a chaser that learned together, trained by the notebook's
    own ``train_pair(seed=2)`` (scripts/train_course_agents.py), as one agent."""
    from arena_lib.agents import load_agent

    return load_agent(DATA / PAIR_B, name="pair 2")


BUILT_IN = {"random": RandomAgent, "scripted": ScriptedAgent,
            **{name: (lambda name=name: course_agent(name)) for name in COURSE_AGENTS}}


@dataclass
class Rung:
    """One opponent of the ladder and how the agent fared against it."""

    opponent: str
    my_explorer: float  # the agent's explorer, mean return against the opponent's chaser
    their_explorer: float  # the opponent's explorer against the agent's chaser
    wins: int
    losses: int
    draws: int


def ladder(agent, opponents: dict | None = None, episodes: int = 50, seed: int = 0) -> list[Rung]:
    """Play ``agent`` against each opponent (the built-in ones by default) over ``episodes``
    seeds, in both roles; a game is won by the higher explorer return, as in the tournament."""
    from arena_lib.matches import play, wins_losses_draws

    opponents = opponents or {name: make() for name, make in BUILT_IN.items()}
    seeds = list(range(seed, seed + episodes))
    explorer, chaser = agent.player("explorer"), agent.player("chaser")
    rungs = []
    for name, opponent in opponents.items():
        mine = play(explorer, opponent.player("chaser"), seeds).explorer_returns
        theirs = play(opponent.player("explorer"), chaser, seeds).explorer_returns
        rungs.append(Rung(name, float(np.mean(mine)), float(np.mean(theirs)), *wins_losses_draws(mine, theirs)))
    return rungs


def plot_ladder(rungs: list, ax=None):
    """Bars: the agent's explorer against each opponent's chaser, and theirs against its chaser."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    x = np.arange(len(rungs))
    ax.bar(x - 0.2, [r.my_explorer for r in rungs], 0.4, label="your explorer vs their chaser")
    ax.bar(x + 0.2, [r.their_explorer for r in rungs], 0.4, label="their explorer vs your chaser")
    ax.set_xticks(x, [f"{r.opponent}\n{r.wins}-{r.losses}-{r.draws}" for r in rungs], fontsize=8)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel("mean explorer return")
    ax.set_title("Practice ladder (wins-losses-draws below each opponent)")
    ax.legend(fontsize=8)
    return ax
