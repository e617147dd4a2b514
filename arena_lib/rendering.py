"""Pictures of the arena: an RGB image of the grid, drawn with numpy alone."""

from __future__ import annotations

import numpy as np

CELL_PX = 32
BACKGROUND = (255, 255, 255)
GRID_LINE = (200, 200, 200)
VISITED = (198, 219, 239)  # light blue: cells agent1 has already covered
AGENT1 = (33, 102, 172)  # blue circle
AGENT2 = (214, 96, 77)  # red diamond (a different shape, not only a different colour)
COLLISION_BORDER = (220, 0, 0)


def draw_arena(env, cell_px: int = CELL_PX) -> np.ndarray:
    """Return a ``(height*cell_px, width*cell_px, 3)`` uint8 image of ``env``'s state."""
    height, width = env.height, env.width
    image = np.empty((height * cell_px, width * cell_px, 3), dtype=np.uint8)
    image[:] = BACKGROUND
    for row, col in env.agent1_visited_fields:
        _cell_view(image, row, col, cell_px)[:] = VISITED
    image[::cell_px, :] = GRID_LINE
    image[:, ::cell_px] = GRID_LINE
    image[-1, :] = GRID_LINE
    image[:, -1] = GRID_LINE

    yy, xx = np.mgrid[0:cell_px, 0:cell_px] - (cell_px - 1) / 2
    radius = cell_px * 0.38
    circle = xx**2 + yy**2 <= radius**2
    diamond = np.abs(xx) + np.abs(yy) <= radius * 1.25
    _cell_view(image, *env.agent2_pos, cell_px)[diamond] = AGENT2
    _cell_view(image, *env.agent1_pos, cell_px)[circle] = AGENT1

    if env.collision:
        border = max(2, cell_px // 10)
        for edge in (image[:border], image[-border:], image[:, :border], image[:, -border:]):
            edge[:] = COLLISION_BORDER
    return image


def _cell_view(image: np.ndarray, row: int, col: int, cell_px: int) -> np.ndarray:
    return image[row * cell_px : (row + 1) * cell_px, col * cell_px : (col + 1) * cell_px]
