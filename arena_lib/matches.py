"""Many episodes of the arena at once: for tournaments and the practice ladder.

:class:`BatchedArena` plays ``n`` episodes of the same arena in lockstep with numpy,
by :class:`~arena_lib.env.MultiAgentArena`'s rules (``tests/test_matches.py`` plays both
side by side, step for step); a player then decides for all ``n`` episodes with one
forward pass of its network. A player's sampled actions come from noise drawn for each
episode from its own seed, so an episode plays out the same whatever else is in the batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arena_lib.rules import (
    AGENT1_COLLISION,
    AGENT1_NEW_CELL,
    AGENT1_OLD_CELL,
    AGENT2_COLLISION,
    AGENT2_NO_COLLISION,
    MOVES_ARRAY,
    validate_config,
)


class BatchedArena:
    """``n`` episodes of one arena config, stepped together (agent2 moves first, then agent1)."""

    def __init__(self, n: int, config: dict | None = None):
        self.config = validate_config(config)
        self.n, self.height, self.width, self.ts = n, self.config["height"], self.config["width"], self.config["ts"]
        self.pos1 = np.zeros((n, 2), dtype=np.int64)
        self.pos2 = np.tile([self.height - 1, self.width - 1], (n, 1)).astype(np.int64)
        self.visited = np.zeros((n, self.height * self.width), dtype=bool)
        self.visited[:, 0] = True
        self.t = 0
        self.returns1 = np.zeros(n)
        self.returns2 = np.zeros(n)
        self.collisions = np.zeros(n, dtype=np.int64)
        self.limits = np.array([self.height - 1, self.width - 1])

    def cells(self, pos: np.ndarray) -> np.ndarray:
        return pos[:, 0] * self.width + pos[:, 1]

    def observations(self) -> tuple[np.ndarray, np.ndarray]:
        """(agent1's, agent2's) observations, each ``(n, 2)``: own cell, other cell."""
        cell1, cell2 = self.cells(self.pos1), self.cells(self.pos2)
        return np.stack([cell1, cell2], axis=1), np.stack([cell2, cell1], axis=1)

    @property
    def done(self) -> bool:
        return self.t >= self.ts

    def _move(self, pos: np.ndarray, other: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """Move ``pos`` in place by ``actions``; return where the move bumped into ``other``."""
        target = pos + MOVES_ARRAY[actions]
        np.minimum(np.maximum(target, 0, out=target), self.limits, out=target)
        bumped = np.all(target == other, axis=1)
        pos[~bumped] = target[~bumped]
        return bumped

    def step(self, actions1: np.ndarray, actions2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One step of every episode; returns (agent1's rewards, agent2's rewards)."""
        if self.done:
            raise RuntimeError("The episodes are over: make a new BatchedArena.")
        actions1, actions2 = np.asarray(actions1, dtype=np.int64), np.asarray(actions2, dtype=np.int64)
        bumped2 = self._move(self.pos2, self.pos1, actions2)
        bumped1 = self._move(self.pos1, self.pos2, actions1)
        collision = bumped1 | bumped2
        cell1 = self.cells(self.pos1)
        rows = np.arange(self.n)
        new = ~self.visited[rows, cell1]
        self.visited[rows, cell1] = True
        rewards1 = np.where(collision, AGENT1_COLLISION, np.where(new, AGENT1_NEW_CELL, AGENT1_OLD_CELL))
        rewards2 = np.where(collision, AGENT2_COLLISION, AGENT2_NO_COLLISION)
        self.returns1 += rewards1
        self.returns2 += rewards2
        self.collisions += collision
        self.t += 1
        return rewards1, rewards2


def gumbel_noise(seeds, steps: int) -> np.ndarray:
    """``(len(seeds), steps, 2, 4)``: each episode's noise for both agents' sampling, from its seed
    (drawn once for a seed that several episodes share)."""
    unique, where = np.unique(np.asarray(seeds, dtype=np.int64), return_inverse=True)
    drawn = np.stack([np.random.default_rng(int(seed)).gumbel(size=(steps, 2, 4)) for seed in unique])
    return drawn[where.reshape(-1)]


@dataclass
class ArenaState:
    """The arena after one step of a recorded episode: what ``arena_lib.rendering.draw_arena`` draws."""

    height: int
    width: int
    agent1_pos: tuple
    agent2_pos: tuple
    agent1_visited_fields: set
    collision: bool
    step: int
    explorer_return: float
    chaser_return: float


def replay_states(actions: np.ndarray, config: dict | None = None) -> list[ArenaState]:
    """The states of an episode played again from its recorded ``(steps, 2)`` actions, the start
    first, by the arena's rules in numpy (no RLlib)."""
    arena = BatchedArena(1, config)
    visited = {(0, 0)}

    def state(collision):
        visited.add(tuple(int(v) for v in arena.pos1[0]))
        return ArenaState(arena.height, arena.width, tuple(int(v) for v in arena.pos1[0]),
                          tuple(int(v) for v in arena.pos2[0]), set(visited), bool(collision), arena.t,
                          float(arena.returns1[0]), float(arena.returns2[0]))

    states = [state(False)]
    for a1, a2 in actions:
        before = int(arena.collisions[0])
        arena.step([a1], [a2])
        states.append(state(arena.collisions[0] > before))
    return states


@dataclass
class MatchResult:
    """What the episodes of one explorer against one chaser gave."""

    explorer_returns: np.ndarray  # agent1's return in each episode
    chaser_returns: np.ndarray  # agent2's
    collisions: np.ndarray
    actions: np.ndarray | None = None  # (episodes, steps, 2), when recorded

    def replay(self, episode: int, config: dict | None = None):
        """Episode ``episode`` played again, step by step, as a rendered Trajectory (for the player)."""
        from arena_lib.env import MultiAgentArena
        from arena_lib.rollout import Trajectory

        env = MultiAgentArena(config, render_mode="rgb_array")
        obs, _ = env.reset()
        trajectory = Trajectory()
        trajectory.observations.append(obs)
        trajectory.frames.append(env.render())
        for a1, a2 in self.actions[episode]:
            actions = {"agent1": int(a1), "agent2": int(a2)}
            obs, rewards, terminateds, truncateds, _ = env.step(actions)
            trajectory.actions.append(actions)
            trajectory.rewards.append(rewards)
            trajectory.observations.append(obs)
            trajectory.frames.append(env.render())
        return trajectory


def wins_losses_draws(mine, theirs) -> tuple[int, int, int]:
    """(wins, losses, draws) of explorer returns ``mine`` against ``theirs``, game by game: the
    higher explorer return wins a game (the ladder's and the tournament's rule)."""
    mine, theirs = np.asarray(mine), np.asarray(theirs)
    return int(np.sum(mine > theirs)), int(np.sum(mine < theirs)), int(np.sum(mine == theirs))


def play(explorer, chaser, seeds, config: dict | None = None, record: bool = False) -> MatchResult:
    """Play one episode per seed, ``explorer`` as agent1 against ``chaser`` as agent2, all at once.
    A player is anything with ``act(observations, noise, arena) -> actions`` for a batch."""
    return play_many([(explorer, chaser, seeds)], config, record)[0]


def stacked(groups: list) -> list:
    """``groups`` of (player, its rows) with the policy networks of one signature and as many rows
    each put together in one :class:`~arena_lib.players.NetworkStack` (rows then ``(networks,
    episodes)``); other players as they are."""
    from arena_lib.players import NetworkPlayer, NetworkStack

    alike, others = {}, []
    for player, rows in groups:
        if isinstance(player, NetworkPlayer):
            alike.setdefault((player.signature(), len(rows)), []).append((player, rows))
        else:
            others.append((player, rows))
    for members in alike.values():
        if len(members) == 1:
            others += members
        else:
            others.append((NetworkStack([player for player, _ in members]), np.stack([rows for _, rows in members])))
    return others


def play_many(matches: list, config: dict | None = None, record: bool = False) -> list[MatchResult]:
    """Several matches, ``(explorer, chaser, seeds)`` each, as one batch of episodes: each
    player acts once per step for all its episodes in all the matches (pass the same player
    object to share its forward pass; policy networks of the same shapes act together, see
    :func:`stacked`). Each episode plays out as it would alone."""
    seeds = [seed for _, _, match_seeds in matches for seed in match_seeds]
    arena = BatchedArena(len(seeds), config)
    noise = gumbel_noise(seeds, arena.ts)
    bounds = np.cumsum([0] + [len(match_seeds) for _, _, match_seeds in matches])
    groups = []
    for side in (0, 1):  # 0: the explorers (agent1), 1: the chasers (agent2)
        rows_of, player_of = {}, {}
        for (start, end), match in zip(zip(bounds, bounds[1:]), matches):
            player_of[id(match[side])] = match[side]
            rows_of.setdefault(id(match[side]), []).append(np.arange(start, end))
        groups.append(stacked([(player_of[key], np.concatenate(rows)) for key, rows in rows_of.items()]))
    taken = np.zeros((len(seeds), arena.ts, 2), dtype=np.int8) if record else None
    actions = np.zeros((2, len(seeds)), dtype=np.int64)
    while not arena.done:
        observations = arena.observations()
        for side in (0, 1):
            for player, rows in groups[side]:  # rows: (episodes,), or (networks, episodes) for a stack
                actions[side, rows] = player.act(observations[side][rows], noise[rows, arena.t, side], arena)
        if record:
            taken[:, arena.t] = actions.T
        arena.step(actions[0], actions[1])
    return [MatchResult(arena.returns1[start:end].copy(), arena.returns2[start:end].copy(),
                        arena.collisions[start:end].copy(), None if taken is None else taken[start:end])
            for start, end in zip(bounds, bounds[1:])]
