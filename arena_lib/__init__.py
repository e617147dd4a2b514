"""arena_lib: the MultiAgentArena game and the helpers the course notebooks import.

The game itself is imported when first used (``from arena_lib import MultiAgentArena``),
because its base class is RLlib's: so ``import arena_lib.tf_appendix`` runs before RLlib
is imported at all. RLlib-dependent helpers (``training``, ``evaluation``) are modules
of their own, imported where needed.
"""

from arena_lib.alt_text import show_figures_with_alt_text
from arena_lib.animation import animate_episode, episode_player
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


# In a notebook, every matplotlib figure comes with its text alternative (arena_lib/alt_text.py).
show_figures_with_alt_text()


def __getattr__(name: str):
    if name == "MultiAgentArena":
        from arena_lib.env import MultiAgentArena

        return MultiAgentArena
    raise AttributeError(f"module 'arena_lib' has no attribute {name!r}")
