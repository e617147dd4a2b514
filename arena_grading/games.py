"""Playing the tournament's pairings, chunk by chunk, in one of three places:

- this process (one worker, or a class too small for workers to pay off);
- ``workers`` processes of this machine, forked from this one: they start in milliseconds
  and inherit the agents already read, so nothing is copied to them but the chunk to play;
- a running Ray cluster (``address``): one Ray task per chunk, the agents put in Ray's object
  store once.

Each chunk is played as one batch of episodes (``arena_lib.matches.play_many``) wherever it
runs, and its results come back in the order of the chunks, so the same chunks give the same
results in any of the three.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from arena_grading.schedule import seeds_for

THIS_MACHINE = "this machine"
# Below this many pairings per worker the games take seconds in one process, and the workers'
# start and the rating of their results, which competes with them for the cores, would eat what
# they save (bench.tournament plays 20 to 200 agents on 1 and 2 workers side by side).
MIN_PAIRINGS_PER_WORKER = 1500


@dataclass
class Pairing:
    """One pairing's games: a's and b's explorer returns, seed by seed."""

    a: int
    b: int
    a_explores: np.ndarray  # a's explorer against b's chaser
    b_explores: np.ndarray  # b's explorer against a's chaser

    @property
    def margin(self) -> float:
        """How far apart the two were: the mean difference of their explorers' returns."""
        return float(np.mean(self.a_explores - self.b_explores))


def play_pairings(entrants: list, pairs: list, episodes: int) -> list[Pairing]:
    """Play ``pairs`` (indices into ``entrants``), both role assignments of all of them as one
    batch of episodes: each player acts once per step for all its episodes."""
    from arena_lib.matches import play_many

    players = {}

    def player(index, role):
        if (index, role) not in players:
            players[index, role] = entrants[index].agent.player(role)
        return players[index, role]

    matches = []
    for a, b in pairs:
        seeds = seeds_for(entrants[a].name, entrants[b].name, episodes)
        matches += [(player(a, "explorer"), player(b, "chaser"), seeds), (player(b, "explorer"), player(a, "chaser"), seeds)]
    results = play_many(matches)
    return [Pairing(a, b, results[2 * i].explorer_returns, results[2 * i + 1].explorer_returns)
            for i, (a, b) in enumerate(pairs)]


def worth_workers(pairings: int, workers: int) -> bool:
    """Whether ``workers`` processes would finish ``pairings`` sooner than this one process."""
    return workers > 1 and pairings >= MIN_PAIRINGS_PER_WORKER * workers


class Venue:
    """Where chunks are played: ``play(chunks)`` returns an iterator of each chunk's pairings in
    order; workers start on all the chunks at once, so the caller can do other work before it
    reads the first (this process plays a chunk when it is read). ``nodes`` counts the pairings
    each machine (Ray node) played."""

    def __init__(self, entrants: list, episodes: int):
        self.entrants, self.episodes = entrants, episodes
        self.nodes: dict[str, int] = {}

    def play(self, chunks: list):
        return self._in_this_process(chunks)

    def _in_this_process(self, chunks: list):
        for chunk in chunks:
            self._count(THIS_MACHINE, len(chunk))
            yield play_pairings(self.entrants, chunk, self.episodes)

    def _count(self, node: str, pairings: int) -> None:
        self.nodes[node] = self.nodes.get(node, 0) + pairings

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        pass


_SHARED: tuple = ()  # (entrants, episodes) in a forked worker


def _share(entrants, episodes) -> None:
    global _SHARED
    _SHARED = (entrants, episodes)


def _play_shared(chunk: list) -> list[Pairing]:
    entrants, episodes = _SHARED
    return play_pairings(entrants, chunk, episodes)


class LocalWorkers(Venue):
    """``workers`` processes of this machine (forked where the system can: the agents then cost
    no copy; else spawned, each given the agents once)."""

    def __init__(self, entrants: list, episodes: int, workers: int):
        super().__init__(entrants, episodes)
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method),
                                        initializer=_share, initargs=(entrants, episodes))

    def play(self, chunks: list):
        return self._counted(chunks, self.pool.map(_play_shared, chunks))  # submitted now

    def _counted(self, chunks: list, results):
        for chunk, pairings in zip(chunks, results):
            self._count(THIS_MACHINE, len(chunk))
            yield pairings

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


_ON_NODE: dict = {}  # in a Ray worker: the entrants, by their object's id, fetched once per process


def _play_on_node(shared: list, chunk: list, episodes: int) -> tuple[list, str]:
    """(the chunk's pairings, the Ray node that played them): one Ray task. ``shared`` holds the
    entrants' object ref (in a list, so that Ray passes the ref, not the entrants): a worker
    that plays many chunks, a Swiss round after another, fetches them once."""
    import ray

    key = shared[0].hex()
    if key not in _ON_NODE:
        _ON_NODE.clear()
        _ON_NODE[key] = ray.get(shared[0])
    return play_pairings(_ON_NODE[key], chunk, episodes), ray.get_runtime_context().get_node_id()


class RayCluster(Venue):
    """A running Ray cluster at ``address``: one task per chunk, the agents in its object store."""

    def __init__(self, entrants: list, episodes: int, address: str):
        import logging

        import ray

        super().__init__(entrants, episodes)
        ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
        self.ray = ray
        self.task = ray.remote(_play_on_node).options(num_cpus=1)
        self.shared = ray.put(entrants)

    def play(self, chunks: list):
        return self._in_order([self.task.remote([self.shared], chunk, self.episodes) for chunk in chunks])

    def _in_order(self, pending: list):
        for ref in pending:  # in order; the others play meanwhile
            pairings, node = self.ray.get(ref)
            self._count(node, len(pairings))
            yield pairings

    def close(self) -> None:
        self.ray.shutdown()


def venue(entrants: list, episodes: int, workers: int = 1, address: str | None = None) -> Venue:
    if address:
        return RayCluster(entrants, episodes, address)
    if workers > 1:
        return LocalWorkers(entrants, episodes, workers)
    return Venue(entrants, episodes)
