"""arena_lib: the MultiAgentArena game and the helpers the course notebooks import.

RLlib-dependent helpers (``training``, ``evaluation``) are imported lazily,
so ``from arena_lib import MultiAgentArena`` stays quick.
"""

from arena_lib.animation import animate_episode, episode_player
from arena_lib.env import MultiAgentArena
from arena_lib.policies import RandomPolicy
from arena_lib.ray_setup import start_ray
from arena_lib.rollout import Trajectory, rollout

__all__ = [
    "MultiAgentArena",
    "RandomPolicy",
    "Trajectory",
    "animate_episode",
    "episode_player",
    "rollout",
    "start_ray",
]
