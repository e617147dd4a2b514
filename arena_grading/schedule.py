"""Who plays whom in the tournament, and on which seeds: pure functions of the entrants' order.

Two schedules:

- **round robin**: every pairing, n(n-1)/2 of them; exact, and quadratic in the class;
- **Swiss**: each student plays every baseline once (fixed opponents on fixed seeds, the games a
  grade may come from), then :func:`swiss_rounds` rounds in which students of close rating
  meet, as online leagues match players: n/2 pairings a round, O(n log n) in all.

``auto`` takes the round robin up to :data:`AUTO_SWISS_ABOVE` students and Swiss above: the
round robin's time grows with the square of the class (docs/performance.md: 200 agents in about
a minute on 2 cores, 1,000 would take about 25), while Swiss rates 200 with a rank correlation of
about 0.95 or more with the round robin (measured by ``bench.tournament``).

Pairings are played in chunks that do not depend on how many workers play them, so that each
episode is computed in the same batch wherever it runs and the board is the same.
"""

from __future__ import annotations

import hashlib
import math

SEED_BASE = 20_261_204
SCHEDULES = ("auto", "round-robin", "swiss")
AUTO_SWISS_ABOVE = 250  # students; see the docstring
SWISS_CHUNK = 96  # pairings per chunk of a Swiss round
BASELINE_CHUNK = 48  # students per chunk of the baselines' round (each with every baseline)
REMATCH_WINDOW = 8  # how far down the order a Swiss pairing looks for someone not met yet


def seeds_for(a: str, b: str, episodes: int) -> list[int]:
    """A pairing's seeds, from its two names: the same whoever plays it, wherever, in any order of work."""
    digest = hashlib.sha256(f"{a}\n{b}".encode()).digest()
    start = int.from_bytes(digest[:4], "little")
    return [SEED_BASE + start + k for k in range(episodes)]


def chosen(schedule: str, students: int) -> str:
    """The schedule ``auto`` stands for with this many students, or ``schedule`` itself."""
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; allowed: {', '.join(SCHEDULES)}")
    if schedule == "auto":
        return "swiss" if students > AUTO_SWISS_ABOVE else "round-robin"
    return schedule


def round_robin(count: int) -> list[list]:
    """Every pairing (a, b), a < b, in chunks of about equal size: entrant a's pairings with
    everyone after it, together with those of entrant count - 2 - a (the first has the most, the
    last the fewest)."""
    rows = [[(a, b) for b in range(a + 1, count)] for a in range(count - 1)]
    return [rows[i] + rows[-1 - i] if i != len(rows) - 1 - i else rows[i] for i in range((len(rows) + 1) // 2)]


def swiss_rounds(students: int) -> int:
    """How many Swiss rounds: twice the rounds a knockout of the class would need (log2 n), at
    least 4. ``bench.tournament`` measured its agreement with the round robin."""
    return max(4, 2 * math.ceil(math.log2(max(students, 2))))


def baseline_round(students: list[int], baselines: list[int]) -> list[list]:
    """Each student against each baseline, and the baselines among themselves, in chunks; each
    pair ordered (lower index first) as the round robin orders it, so the seeds are the same."""
    among = [(a, b) for i, a in enumerate(baselines) for b in baselines[i + 1:]]
    chunks = [[tuple(sorted((s, b))) for s in students[start:start + BASELINE_CHUNK] for b in baselines]
              for start in range(0, len(students), BASELINE_CHUNK)]
    if among:
        chunks.append([tuple(sorted(pair)) for pair in among])
    return [chunk for chunk in chunks if chunk]


def swiss_pairs(order: list[int], met: set, sat_out: set) -> tuple[list[tuple[int, int]], int | None]:
    """One Swiss round: (pairs, who sits it out). ``order`` (entrants, best rated first) is paired
    from the top, each with the nearest one below it that it has not met (within REMATCH_WINDOW
    places; else the nearest). With an odd count the lowest rated who has not sat out yet (in
    ``sat_out``) sits this round out. Pairs are (lower index, higher index)."""
    free = list(order)
    bye = None
    if len(free) % 2:
        bye = next((entrant for entrant in reversed(free) if entrant not in sat_out), free[-1])
        free.remove(bye)
    pairs = []
    while len(free) >= 2:
        first = free.pop(0)
        window = free[:REMATCH_WINDOW]
        partner = next((other for other in window if frozenset((first, other)) not in met), window[0])
        free.remove(partner)
        pairs.append((min(first, partner), max(first, partner)))
    return pairs, bye


def chunked(pairs: list, size: int = SWISS_CHUNK) -> list[list]:
    """``pairs`` in chunks of ``size`` (the last may be smaller), in order."""
    return [pairs[start:start + size] for start in range(0, len(pairs), size)]
