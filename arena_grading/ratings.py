"""The tournament's ratings: openskill's Plackett-Luce model, game by game, in the order played
(without the dynamics term tau: an agent's skill does not change between games).

A game is one seed of a pairing: each explorer against the other's chaser, the higher explorer
return wins (equal: a draw), the rule of ``arena_lib.matches.wins_losses_draws``. Everyone is
ranked by the conservative rating mu - 3 sigma.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from arena_lib.matches import wins_losses_draws


@dataclass
class Standing:
    entrant: object  # arena_grading.entrants.Entrant
    mu: float
    sigma: float
    explorer_returns: list = field(default_factory=list)
    chaser_conceded: list = field(default_factory=list)  # what the opposing explorers scored against its chaser

    # Game by game, its explorer's return against the opposing explorer's (the same order).
    @property
    def wins(self) -> int:
        return wins_losses_draws(self.explorer_returns, self.chaser_conceded)[0]

    @property
    def losses(self) -> int:
        return wins_losses_draws(self.explorer_returns, self.chaser_conceded)[1]

    @property
    def draws(self) -> int:
        return wins_losses_draws(self.explorer_returns, self.chaser_conceded)[2]

    @property
    def rating(self) -> float:
        """openskill's conservative rating, mu - 3 sigma: what ranks."""
        return self.mu - 3 * self.sigma


# openskill's PlackettLuce() defaults for mu, sigma, beta and kappa.
MU, SIGMA, BETA, KAPPA = 25.0, 25.0 / 3.0, 25.0 / 6.0, 0.0001
# No dynamics: openskill's default tau (25/300) adds uncertainty before every game so that a
# person's rating can follow a skill that changes; an agent file's skill is fixed, and with tau
# the last games weigh most, so that the board depends on the order of the games. Without it,
# the board of a class repeats far better on other seeds (docs/instructors.md).
TAU = 0.0


def rate_game(a: tuple, b: tuple, outcome: int) -> tuple[tuple, tuple]:
    """((mu, sigma) of a, of b) after one game, ``outcome`` 1 if a won, -1 if b won, 0 a draw:
    openskill's ``PlackettLuce(tau=TAU).rate([[a], [b]], ranks=...)`` for two players, computed step by
    step as it computes it (tests/test_ratings.py compares the two game by game), without its
    copies of the rating objects, which cost six times the arithmetic. A tournament of a MOOC
    rates hundreds of thousands of games, one after the other."""
    # openskill orders the teams by rank (winner first; a draw keeps the order) and adds tau.
    first, second = (b, a) if outcome < 0 else (a, b)
    mus = (first[0], second[0])
    sigmas = (math.sqrt(first[1] * first[1] + TAU * TAU), math.sqrt(second[1] * second[1] + TAU * TAU))
    ranks = (0, 0) if outcome == 0 else (0, 1)
    squares = (sigmas[0] ** 2, sigmas[1] ** 2)
    collective = 0.0
    for square in squares:
        collective += square + BETA**2
    c = math.sqrt(collective)
    sum_q = [0.0, 0.0]
    for i in (0, 1):
        summed = math.exp(mus[i] / c)
        for q in (0, 1):
            if ranks[i] >= ranks[q]:
                sum_q[q] += summed
    counts = [sum(1 for other in ranks if other == rank) for rank in ranks]
    new = []
    for i in (0, 1):
        omega = delta = 0.0
        i_mu_over_c = math.exp(mus[i] / c)
        for q in (0, 1):
            share = i_mu_over_c / sum_q[q]
            if ranks[q] <= ranks[i]:
                delta += share * (1 - share) / counts[q]
                if q == i:
                    omega += (1 - share) / counts[q]
                else:
                    omega -= share / counts[q]
        omega *= squares[i] / c
        delta *= squares[i] / c**2
        delta *= math.sqrt(squares[i]) / c
        ratio = sigmas[i] ** 2 / squares[i]
        new.append((mus[i] + ratio * omega, sigmas[i] * math.sqrt(max(1 - ratio * delta, KAPPA))))
    # (openskill 6.2 then means to give tied teams their mean change, but it reads the change from
    # the updated rating objects themselves, so it changes nothing; nor here.)
    return (new[1], new[0]) if outcome < 0 else (new[0], new[1])


class Ratings:
    """Everyone's openskill rating, updated pairing by pairing in the order given."""

    def __init__(self, entrants: list):
        self.entrants = entrants
        self.ratings = [(MU, SIGMA)] * len(entrants)
        self.table = [Standing(entrant, 0.0, 0.0) for entrant in entrants]

    def update(self, pairings: list) -> None:
        """Rate ``pairings`` (arena_grading.games.Pairing) game by game, in their order."""
        ratings, table = self.ratings, self.table
        for pairing in pairings:
            a, b = pairing.a, pairing.b
            mine_all, theirs_all = pairing.a_explores.tolist(), pairing.b_explores.tolist()
            for mine, theirs in zip(mine_all, theirs_all):
                ratings[a], ratings[b] = rate_game(ratings[a], ratings[b], (mine > theirs) - (mine < theirs))
            table[a].explorer_returns += mine_all
            table[b].explorer_returns += theirs_all
            table[a].chaser_conceded += theirs_all
            table[b].chaser_conceded += mine_all

    def conservative(self, index: int) -> float:
        mu, sigma = self.ratings[index]
        return mu - 3 * sigma

    def order(self, among: list[int]) -> list[int]:
        """``among`` (entrant indices), best rated first; ties by name."""
        return sorted(among, key=lambda i: (-self.conservative(i), self.entrants[i].name))

    def standings(self) -> list[Standing]:
        """Everyone's standing, best first (mu - 3 sigma; ties by name)."""
        for standing, (mu, sigma) in zip(self.table, self.ratings):
            standing.mu, standing.sigma = mu, sigma
        return sorted(self.table, key=lambda s: (-s.rating, s.entrant.name))
