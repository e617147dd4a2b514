"""The arena's rules as data, without RLlib: the agents, the moves, the rewards and the config.

``arena_lib.env.MultiAgentArena`` (the RLlib env) and ``arena_lib.matches.BatchedArena`` (many
episodes at once in numpy) both play by these; the tournament and the practice ladder import
them without importing RLlib (seconds of every tool's start).
"""

from __future__ import annotations

import numbers

import numpy as np

AGENTS = ("agent1", "agent2")
ACTION_NAMES = ("up", "right", "down", "left")
# (row, col) change for each action.
MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))
MOVES_ARRAY = np.array(MOVES, dtype=np.int64)  # the same, for many episodes at once
DEFAULT_CONFIG = {"width": 10, "height": 10, "ts": 100}

# Rewards per step.
AGENT1_COLLISION = -1.0
AGENT1_NEW_CELL = 1.0
AGENT1_OLD_CELL = -0.5
AGENT2_COLLISION = 1.0
AGENT2_NO_COLLISION = -0.1


def validate_config(config) -> dict:
    """Return the full arena config, or raise ``ValueError`` saying what is wrong."""
    config = dict(config or {})
    if "config" in config:
        raise ValueError(
            "MultiAgentArena got a nested 'config' key. Pass the settings directly, "
            "e.g. env_config={'width': 5}, not env_config={'config': {'width': 5}} "
            "(the original tutorial's nesting was silently ignored)."
        )
    unknown = sorted(set(config) - set(DEFAULT_CONFIG))
    if unknown:
        raise ValueError(
            f"MultiAgentArena got unknown config key(s) {unknown}; "
            f"allowed keys are {sorted(DEFAULT_CONFIG)}."
        )
    full = {**DEFAULT_CONFIG, **config}
    for key, value in full.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(
                f"MultiAgentArena config '{key}' must be an integer >= 1, "
                f"got {value!r} ({type(value).__name__})."
            )
        if value < 1:
            raise ValueError(
                f"MultiAgentArena config '{key}' must be an integer >= 1, got {value}."
            )
        full[key] = int(value)
    if full["width"] * full["height"] < 2:
        raise ValueError(
            f"A {full['height']}x{full['width']} grid cannot hold two agents; "
            "width * height must be at least 2."
        )
    return full
