"""The MultiAgentArena: a two-player grid game as an RLlib ``MultiAgentEnv``.

agent1 (the explorer) earns points for stepping onto cells it has not visited
yet this episode; agent2 (the chaser) earns points for bumping into agent1.
The exact rules are pinned down cell by cell in ``tests/test_env.py``.
"""

from __future__ import annotations

import numbers

import gymnasium as gym
import numpy as np
from ray.rllib.env.multi_agent_env import MultiAgentEnv

# The rules themselves (moves, rewards, config) live in arena_lib/rules.py, without RLlib.
from arena_lib.rules import (  # noqa: F401 - the env's names, as before
    AGENTS,
    ACTION_NAMES,
    MOVES,
    MOVES_ARRAY,
    DEFAULT_CONFIG,
    AGENT1_COLLISION,
    AGENT1_NEW_CELL,
    AGENT1_OLD_CELL,
    AGENT2_COLLISION,
    AGENT2_NO_COLLISION,
    validate_config,
)

RENDER_MODES = (None, "ansi", "rgb_array")


class EpisodeNotStarted(RuntimeError):
    """``step()`` before the first ``reset()``."""


class EpisodeOver(RuntimeError):
    """``step()`` after the episode ended, before the next ``reset()``."""


class MultiAgentArena(MultiAgentEnv):
    """Two agents on a ``height x width`` grid; positions are ``[row, col]``.

    Each step agent2 moves first, then agent1. A move into a wall leaves the
    agent where it was; a move onto the other agent's cell is blocked and is a
    collision, whichever agent made it. The episode ends after ``ts`` steps by
    the time limit (truncation, not termination).
    """

    metadata = {"render_modes": ["ansi", "rgb_array"]}

    def __init__(self, config: dict | None = None, render_mode: str | None = None):
        super().__init__()
        if render_mode not in RENDER_MODES:
            raise ValueError(
                f"render_mode must be one of {RENDER_MODES}, got {render_mode!r}."
            )
        self.config = validate_config(config)
        self.width = self.config["width"]
        self.height = self.config["height"]
        self.timestep_limit = self.config["ts"]
        self.render_mode = render_mode

        self.agents = self.possible_agents = list(AGENTS)
        num_cells = self.width * self.height
        obs_space = gym.spaces.MultiDiscrete([num_cells, num_cells])
        self.observation_spaces = {agent: obs_space for agent in AGENTS}
        self.action_spaces = {agent: gym.spaces.Discrete(4) for agent in AGENTS}
        self._place_agents()
        # Stepping needs an explicit reset(), as in gymnasium.
        self._needs_reset = True

    # -- the gymnasium API -------------------------------------------------

    def reset(self, *, seed=None, options=None):
        # The arena itself is deterministic; the seed is kept for the API.
        super().reset(seed=seed, options=options)
        self._place_agents()
        self._needs_reset = False
        return self._get_obs(), {agent: {} for agent in AGENTS}

    def step(self, action_dict):
        if self._needs_reset:
            if self.timesteps == 0:
                raise EpisodeNotStarted("The episode has not started: call env.reset() before the first step().")
            raise EpisodeOver(
                f"The episode is over (it ended after {self.timesteps} steps): stop stepping when "
                "terminateds['__all__'] or truncateds['__all__'] is True, and call env.reset() to start the next one."
            )
        actions = self._validate_actions(action_dict)
        self.timesteps += 1

        # agent2 moves first, then agent1; a bump by either one is a collision.
        bumped2 = self._move("agent2", actions["agent2"])
        bumped1 = self._move("agent1", actions["agent1"])
        self.collision = bumped1 or bumped2
        new_cell = tuple(self.agent1_pos) not in self.agent1_visited_fields
        self.agent1_visited_fields.add(tuple(self.agent1_pos))

        if self.collision:
            self.num_collisions += 1
            rewards = {"agent1": AGENT1_COLLISION, "agent2": AGENT2_COLLISION}
        else:
            r1 = AGENT1_NEW_CELL if new_cell else AGENT1_OLD_CELL
            rewards = {"agent1": r1, "agent2": AGENT2_NO_COLLISION}
        self.agent1_R += rewards["agent1"]
        self.agent2_R += rewards["agent2"]

        time_is_up = self.timesteps >= self.timestep_limit
        self._needs_reset = time_is_up
        terminateds = {"agent1": False, "agent2": False, "__all__": False}
        truncateds = {"agent1": time_is_up, "agent2": time_is_up, "__all__": time_is_up}
        infos = {agent: {} for agent in AGENTS}
        return self._get_obs(), rewards, terminateds, truncateds, infos

    def render(self):
        if self.render_mode == "ansi":
            return self.render_text()
        if self.render_mode == "rgb_array":
            from arena_lib.rendering import draw_arena

            return draw_arena(self)
        raise ValueError(
            "render() needs a render_mode: MultiAgentArena(config, render_mode='ansi') "
            "for text or render_mode='rgb_array' for an image."
        )

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in self.config.items())
        return f"MultiAgentArena({settings}, render_mode={self.render_mode!r})"

    # -- helpers ----------------------------------------------------------

    def cell(self, pos) -> int:
        """The discrete observation of a ``[row, col]`` position."""
        return pos[0] * self.width + pos[1]

    def render_text(self) -> str:
        """The original tutorial's text picture of the arena."""
        lines = ["_" * (self.width + 2)]
        for row in range(self.height):
            cells = []
            for col in range(self.width):
                if self.agent1_pos == [row, col]:
                    cells.append("1")
                elif self.agent2_pos == [row, col]:
                    cells.append("2")
                elif (row, col) in self.agent1_visited_fields:
                    cells.append(".")
                else:
                    cells.append(" ")
            lines.append("|" + "".join(cells) + "|")
        lines.append("‾" * (self.width + 2))
        lines.append("!!Collision!!" if self.collision else "")
        lines.append(f"R1={self.agent1_R: .1f}")
        lines.append(f"R2={self.agent2_R: .1f} ({self.num_collisions} collisions)")
        return "\n".join(lines) + "\n"

    def _place_agents(self):
        self.agent1_pos = [0, 0]
        self.agent2_pos = [self.height - 1, self.width - 1]
        self.agent1_visited_fields = {tuple(self.agent1_pos)}
        self.timesteps = 0
        self.collision = False
        self.num_collisions = 0
        self.agent1_R = 0.0
        self.agent2_R = 0.0

    def _get_obs(self):
        cell1, cell2 = self.cell(self.agent1_pos), self.cell(self.agent2_pos)
        return {
            "agent1": np.array([cell1, cell2], dtype=np.int64),
            "agent2": np.array([cell2, cell1], dtype=np.int64),
        }

    def _validate_actions(self, action_dict) -> dict:
        if not isinstance(action_dict, dict):
            raise TypeError(
                "step() takes a dict of actions like {'agent1': 2, 'agent2': 0}, "
                f"got {type(action_dict).__name__}."
            )
        unknown = sorted(set(action_dict) - set(AGENTS), key=str)
        if unknown:
            raise ValueError(f"Unknown agent(s) {unknown} in the actions; the agents are {list(AGENTS)}.")
        actions = {}
        for agent in AGENTS:
            if agent not in action_dict:
                raise ValueError(
                    f"No action for {agent}: both agents act every step, "
                    f"e.g. {{'agent1': 2, 'agent2': 0}}."
                )
            action = action_dict[agent]
            if isinstance(action, np.ndarray) and action.shape == ():
                action = action.item()
            if isinstance(action, bool) or not isinstance(action, numbers.Integral):
                raise TypeError(
                    f"The action for {agent} must be an integer in 0..3 "
                    f"(0 up, 1 right, 2 down, 3 left), got {action!r}."
                )
            if not 0 <= action <= 3:
                raise ValueError(
                    f"The action for {agent} must be in 0..3 "
                    f"(0 up, 1 right, 2 down, 3 left), got {action}."
                )
            actions[agent] = int(action)
        return actions

    def _move(self, agent: str, action: int) -> bool:
        """Move one agent in place; return True if the move bumped into the other."""
        pos = self.agent1_pos if agent == "agent1" else self.agent2_pos
        other = self.agent2_pos if agent == "agent1" else self.agent1_pos
        d_row, d_col = MOVES[action]
        row = min(max(pos[0] + d_row, 0), self.height - 1)
        col = min(max(pos[1] + d_col, 0), self.width - 1)
        if [row, col] == other:
            return True
        pos[0], pos[1] = row, col
        return False
