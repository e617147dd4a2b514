"""The tournament's ratings (arena_grading.ratings) are openskill's Plackett-Luce ratings: its
two-player update, computed without openskill's copies, gives what openskill gives, game by game
over long sequences of wins, losses and draws. (If openskill changes its model, this says so.)"""

from __future__ import annotations

import numpy as np
import pytest
from openskill.models import PlackettLuce

from arena_grading.ratings import BETA, KAPPA, MU, SIGMA, TAU, rate_game


def test_the_parameters_are_openskills_defaults_but_tau():
    model = PlackettLuce()
    assert (model.mu, model.sigma, model.beta, model.kappa) == (MU, SIGMA, BETA, KAPPA)
    assert TAU == 0.0 != model.tau  # an agent's skill does not drift (arena_grading/ratings.py)


@pytest.mark.parametrize("tau", [TAU, 25.0 / 300.0])
def test_each_game_is_rated_as_openskill_rates_it(tau, monkeypatch):
    import arena_grading.ratings

    monkeypatch.setattr(arena_grading.ratings, "TAU", tau)
    model = PlackettLuce(tau=tau)
    rng = np.random.default_rng(3)
    players = 12
    ours = [(MU, SIGMA)] * players
    theirs = [model.rating() for _ in range(players)]
    for _ in range(20_000):
        a, b = (int(x) for x in rng.choice(players, 2, replace=False))
        outcome = int(rng.choice([1, -1, 0], p=[0.45, 0.45, 0.1]))
        ours[a], ours[b] = rate_game(ours[a], ours[b], outcome)
        ranks = {1: [0, 1], -1: [1, 0], 0: [0, 0]}[outcome]
        [[theirs[a]], [theirs[b]]] = model.rate([[theirs[a]], [theirs[b]]], ranks=ranks)
        for i in (a, b):
            assert ours[i] == (theirs[i].mu, theirs[i].sigma), (i, ours[i], theirs[i])
