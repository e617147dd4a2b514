"""Players for many episodes at once (``arena_lib.matches``): each acts for a whole batch.

A player's ``act(observations, noise, arena)`` takes ``(n, 2)`` observations (own cell, other
cell), ``(n, 4)`` Gumbel noise drawn for each episode from its own seed, and the batched arena,
and returns ``n`` actions. Sampling from a policy is ``argmax(logits + noise)`` (the Gumbel-max
trick: the same distribution as a softmax draw), so it repeats for the same seeds.
"""

from __future__ import annotations

import numpy as np

from arena_lib.rules import MOVES_ARRAY

UP, RIGHT, DOWN, LEFT = range(4)
ACTIVATIONS = {"tanh": np.tanh, "relu": lambda x: np.maximum(x, 0.0)}


class RandomPlayer:
    """Each of the four moves with the same chance."""

    def act(self, observations, noise, arena):
        return np.argmax(noise, axis=1)


class ScriptedChaser:
    """Walks straight at the other agent: along the axis where it is farther away."""

    def act(self, observations, noise, arena):
        width = arena.width
        own_row, own_col = np.divmod(observations[:, 0], width)
        row, col = np.divmod(observations[:, 1], width)
        d_row, d_col = row - own_row, col - own_col
        vertical = np.abs(d_row) >= np.abs(d_col)
        return np.where(vertical, np.where(d_row > 0, DOWN, UP), np.where(d_col > 0, RIGHT, LEFT))


class ScriptedExplorer:
    """Sweeps the grid row by row (right on even rows, left on odd ones, down at the ends) and
    steps aside, up or down, when the next cell holds the other agent."""

    def act(self, observations, noise, arena):
        width, height = arena.width, arena.height
        row, col = np.divmod(observations[:, 0], width)
        even = row % 2 == 0
        at_end = np.where(even, col == width - 1, col == 0)
        actions = np.where(at_end, DOWN, np.where(even, RIGHT, LEFT))
        actions = np.where(at_end & (row == height - 1), UP, actions)
        target = np.stack([row, col], axis=1) + MOVES_ARRAY[actions]
        blocked = (target[:, 0] * width + target[:, 1]) == observations[:, 1]
        aside = np.where(row < height - 1, DOWN, UP)
        return np.where(blocked, aside, actions)


class NetworkPlayer:
    """A policy network: the one-hot encoding of both cells (as the course's connector makes
    it), hidden layers with ``activation``, then one logit per action. ``layers`` are
    ``(weight, bias)`` pairs, weights shaped ``(outputs, inputs)`` as torch's ``Linear``."""

    def __init__(self, layers: list, activation: str = "tanh", cells: int = 100):
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation {activation!r} is not one of {sorted(ACTIVATIONS)}")
        self.layers = [(np.asarray(w, dtype=np.float32), np.asarray(b, dtype=np.float32)) for w, b in layers]
        # The input is two one-hot blocks, so the first layer is the sum of two of its columns:
        # gathered, not multiplied (rows of the transposed weight).
        self.first = np.ascontiguousarray(self.layers[0][0].T)
        # The other layers' weights transposed once, (inputs, outputs), as NetworkStack keeps them.
        self.rest = [(np.ascontiguousarray(w.T), b) for w, b in self.layers[1:]]
        self.activation, self.cells = activation, cells

    def logits(self, observations: np.ndarray) -> np.ndarray:
        observations = np.asarray(observations, dtype=np.int64)
        squash = ACTIVATIONS[self.activation]
        x = np.take(self.first, observations[:, 0], axis=0)
        x += np.take(self.first, self.cells + observations[:, 1], axis=0)
        x += self.layers[0][1]
        for weight, bias in self.rest:
            x = squash(x) @ weight + bias
        return x

    def act(self, observations, noise, arena):
        return np.argmax(self.logits(observations) + noise, axis=1)

    def signature(self) -> tuple:
        """What networks must share to act together in a :class:`NetworkStack`."""
        return self.activation, self.cells, tuple(weight.shape for weight, _ in self.layers)


class NetworkStack:
    """Networks of one signature acting together, each for the same number of episodes: one
    batched matrix product per layer for all of them, instead of one per network (a class's
    agents then cost one step of numpy, not hundreds). Each network computes exactly what it
    computes alone (the same products, slice by slice)."""

    def __init__(self, players: list):
        first = players[0]
        if any(player.signature() != first.signature() for player in players):
            raise ValueError("a NetworkStack's networks must have the same activation and layer shapes")
        self.activation, self.cells = first.activation, first.cells
        inputs = first.first.shape[0]
        # Every network's first layer in one table, a network's rows after another's: gathered with
        # np.take by flat row numbers.
        self.first = np.concatenate([player.first for player in players])  # (networks * inputs, units)
        self.offsets = (np.arange(len(players)) * inputs)[:, None]
        self.first_bias = np.stack([player.layers[0][1] for player in players])[:, None, :]
        self.rest = [(np.stack([player.rest[k][0] for player in players]),  # (networks, inputs, outputs)
                      np.stack([player.rest[k][1] for player in players])[:, None, :])
                     for k in range(len(first.rest))]

    def logits(self, observations: np.ndarray) -> np.ndarray:
        """``(networks, episodes, 2)`` observations to ``(networks, episodes, 4)`` logits."""
        observations = np.asarray(observations, dtype=np.int64)
        squash = ACTIVATIONS[self.activation]
        x = np.take(self.first, self.offsets + observations[..., 0], axis=0)
        x += np.take(self.first, self.offsets + self.cells + observations[..., 1], axis=0)
        x += self.first_bias
        for weight, bias in self.rest:
            x = np.matmul(squash(x), weight) + bias
        return x

    def act(self, observations, noise, arena):
        return np.argmax(self.logits(observations) + noise, axis=-1)
