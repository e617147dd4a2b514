"""Policies that play the arena without training: the course's baseline."""

from __future__ import annotations

import numpy as np


class RandomPolicy:
    """Chooses one of the four moves uniformly at random, whatever it observes.

    It plays the role of the original tutorial's ``DummyTrainer``. Give it a
    ``seed`` and the same episode can be replayed action for action.
    """

    def __init__(self, seed: int | None = None, num_actions: int = 4):
        self.num_actions = num_actions
        self.rng = np.random.default_rng(seed)

    def compute_action(self, observation) -> int:
        return int(self.rng.integers(self.num_actions))

    # A policy is anything that maps an observation to an action.
    __call__ = compute_action


def random_policies(seed: int) -> dict:
    """A ``RandomPolicy`` for each agent, both repeatable from one ``seed``."""
    return {"agent1": RandomPolicy(seed), "agent2": RandomPolicy(seed + 1000)}
