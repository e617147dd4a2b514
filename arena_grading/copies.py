"""Copy marks for the tournament: entrants whose agent files are the same as another's, or as one
of the course's own agents (``arena_lib/data/*.safetensors``), or whose weights nearly are.

A mark brings a resemblance to light for a person to judge; it changes no rating and no grade.
Three kinds, strongest first:

- **identical file**: the same bytes (SHA-256 of the file);
- **identical weights**: the same arrays, the declaration (name, ...) aside;
- **similar weights**: for one role, the cosine similarity of its parameters (every layer's
  weights and biases, flattened in order) is at least :data:`SIMILAR_AT`.

Only networks of the same layer shapes are compared (a fine-tuned copy keeps its shapes;
parameters of different shapes do not line up). Two networks trained independently start from
independent random weights, and a few dozen PPO iterations move them little, so their cosine is
near 0; a copy fine-tuned for a few iterations stays near 1. The figures that chose the
threshold, from real RLlib training, are ``bench.copy_similarity``'s (docs/performance.md).

For a class of thousands, each group of same-shaped networks is first sketched: every unit
vector is projected onto :data:`SKETCH_DIMENSIONS` seeded Gaussian directions, where cosines
are kept to within about ``(1 - c^2) / sqrt(k)`` (a random projection, after Johnson and
Lindenstrauss). Pairs whose sketched cosine comes within :data:`SKETCH_MARGIN` of the threshold
are then measured exactly, so the sketch only decides what to look at, never a mark.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

SIMILAR_AT = 0.97  # cosine similarity of one role's parameters; bench.copy_similarity's figures chose it
SKETCH_DIMENSIONS = 256
SKETCH_MARGIN = 0.15  # dozens of standard deviations of the sketched cosine at the threshold
SKETCH_SEED = 20_261_207
BLOCK = 1024  # rows of the sketch compared at once
EXACT_SLICE_VALUES = 2**21  # values of the candidates' vectors gathered at once (8 MB a side)
MAX_LISTED = 5  # others named on the page and in the table; the count of the rest follows
MAX_KEPT = 20  # others kept for copies.csv


@dataclass(frozen=True)
class Mark:
    """One resemblance of an entrant's agent: to whom (an entrant, or a course agent) and how."""

    other: str
    how: str  # "identical file", "identical weights", "explorer weights 0.993 similar", ...
    course: bool = False  # the other is one of the course's own agents (arena_lib/data/)
    similarity: float = 1.0  # the cosine behind a "similar" mark; 1 for identical ones

    def __str__(self) -> str:
        return f"{self.how} to {'the course agent ' if self.course else ''}{self.other}"


@dataclass
class Fingerprint:
    """What copy marks need of one agent: whose, its file's digest, and its layers."""

    name: str
    file_digest: str
    layers: dict  # role -> [(weight, bias), ...] (arena_lib.agents.Agent.layers)
    course: bool = False

    @property
    def weights_digest(self) -> str:
        digest = hashlib.sha256()
        for role in sorted(self.layers):
            for weight, bias in self.layers[role]:
                for array in (weight, bias):
                    digest.update(f"{role}{array.shape}{array.dtype}".encode())
                    digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()

    def signature(self, role: str) -> tuple:
        """The shapes of the role's arrays: only networks of the same signature are compared."""
        return tuple((weight.shape, bias.shape) for weight, bias in self.layers[role])

    def vector(self, role: str) -> np.ndarray:
        """The role's parameters, flattened in order, as a unit vector (zero stays zero)."""
        flat = np.concatenate([np.ravel(array) for layer in self.layers[role] for array in layer]).astype(np.float64)
        norm = np.linalg.norm(flat)
        return (flat / norm if norm > 0 else flat).astype(np.float32)


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cosine(a: Fingerprint, b: Fingerprint, role: str) -> float | None:
    """The cosine similarity of two agents' parameters for ``role``; None if their shapes differ."""
    if a.signature(role) != b.signature(role):
        return None
    return float(np.dot(a.vector(role).astype(np.float64), b.vector(role).astype(np.float64)))


def similar_pairs(vectors: np.ndarray, threshold: float = SIMILAR_AT) -> list[tuple[int, int, float]]:
    """(i, j, cosine) for i < j, every pair of rows of ``vectors`` (unit rows of one shape
    signature) whose cosine similarity is at least ``threshold``: sketched first, then exact."""
    count, dimensions = vectors.shape
    if count < 2:
        return []
    if dimensions > SKETCH_DIMENSIONS:
        projection = np.random.default_rng([SKETCH_SEED, dimensions]).standard_normal(
            (dimensions, SKETCH_DIMENSIONS)).astype(np.float32)
        sketch = vectors @ projection
        norms = np.linalg.norm(sketch, axis=1, keepdims=True)
        sketch /= np.where(norms > 0, norms, 1)
        floor = threshold - SKETCH_MARGIN
    else:
        sketch, floor = vectors, threshold
    found = []
    for start in range(0, count, BLOCK):
        block = sketch[start:start + BLOCK] @ sketch.T  # (rows, count)
        rows, columns = np.nonzero(block >= floor)
        rows = rows + start
        keep = columns > rows
        rows, columns = rows[keep], columns[keep]
        step = max(1, EXACT_SLICE_VALUES // dimensions)
        for offset in range(0, len(rows), step):  # the candidates' exact cosines, a few MB at a time
            i, j = rows[offset:offset + step], columns[offset:offset + step]
            exact = np.einsum("ij,ij->i", vectors[i], vectors[j], dtype=np.float64)
            found += [(int(a), int(b), float(c)) for a, b, c in zip(i, j, exact) if c >= threshold]
    return sorted(found)


@dataclass
class Marks:
    """An entrant's marks: the strongest (at most MAX_KEPT) and how many others it resembles in all."""

    found: list
    total: int


def copy_marks(entrants: list[Fingerprint], course_agents: list[Fingerprint],
               threshold: float = SIMILAR_AT) -> dict[str, Marks]:
    """{entrant name: its marks}, for the entrants that resemble another entrant or a course agent.

    Each pair is marked once, by its strongest resemblance (identical file, else identical
    weights, else the most similar role); a course agent is never marked itself. A group of
    identical files costs its size times MAX_KEPT, not its size squared."""
    everyone = [*entrants, *course_agents]
    found: dict[int, list[Mark]] = {}
    totals: dict[int, int] = {}

    def add(me: int, others: list[int], how: str, similarity: float = 1.0, count: int | None = None) -> None:
        """Mark ``me`` as resembling ``others`` (in the order to name them; ``count`` of them in all)."""
        if everyone[me].course or not others:
            return
        totals[me] = totals.get(me, 0) + (len(others) if count is None else count)
        kept = found.setdefault(me, [])
        kept += [Mark(everyone[other].name, how, everyone[other].course, similarity)
                 for other in others[:max(MAX_KEPT - len(kept), 0)]]

    def named_first(group: list[int]) -> list[int]:
        """A group in the order to name it: course agents first (the first thing to say), then by name."""
        return sorted(group, key=lambda o: (not everyone[o].course, everyone[o].name))

    weights = [print_.weights_digest for print_ in everyone]
    by_file: dict[str, list[int]] = {}
    by_weights: dict[str, list[int]] = {}
    for index, print_ in enumerate(everyone):
        by_file.setdefault(print_.file_digest, []).append(index)
        by_weights.setdefault(weights[index], []).append(index)
    files_named = {digest: named_first(group) for digest, group in by_file.items() if len(group) > 1}
    for group in by_weights.values():
        if len(group) < 2:
            continue
        ordered = named_first(group)
        for me in group:
            # Only the first MAX_KEPT + 1 of a group are looked at for each: a class that handed in
            # one file costs its size, not its square.
            same_file = by_file[everyone[me].file_digest]
            if len(same_file) > 1:
                add(me, [o for o in files_named[everyone[me].file_digest][:MAX_KEPT + 1] if o != me],
                    "identical file", count=len(same_file) - 1)
            if len(group) > len(same_file):
                digest = everyone[me].file_digest
                head = [o for o in ordered[:MAX_KEPT + len(same_file)] if everyone[o].file_digest != digest]
                add(me, head, "identical weights", count=len(group) - len(same_file))
    best: dict[tuple[int, int], tuple[float, str]] = {}
    for role in sorted({role for print_ in everyone for role in print_.layers}):
        groups: dict[tuple, list[int]] = {}
        for index, print_ in enumerate(everyone):
            if role in print_.layers:
                groups.setdefault(print_.signature(role), []).append(index)
        for members in groups.values():
            if len(members) < 2:
                continue
            vectors = np.stack([everyone[i].vector(role) for i in members])
            for a, b, value in similar_pairs(vectors, threshold):
                key = (members[a], members[b])
                if weights[key[0]] != weights[key[1]] and value > best.get(key, (-2.0, ""))[0]:
                    best[key] = (value, role)
    for (i, j), (value, role) in sorted(best.items(), key=lambda item: -item[1][0]):
        # Rounded down, so that a mark never shows the threshold while being under it.
        how = f"{role} weights {np.floor(value * 1000) / 1000:.3f} similar"
        add(i, [j], how, value)
        add(j, [i], how, value)
    return {everyone[index].name: Marks(kept, totals[index]) for index, kept in sorted(found.items())}


def describe(marks: Marks | None) -> str:
    """An entrant's marks in words, at most MAX_LISTED named (for the page and the CSV)."""
    if not marks or not marks.found:
        return ""
    shown = "; ".join(str(mark) for mark in marks.found[:MAX_LISTED])
    more = marks.total - min(len(marks.found), MAX_LISTED)
    return shown + (f"; and {more} more" if more > 0 else "")
