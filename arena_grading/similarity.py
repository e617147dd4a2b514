"""Code that looks copied: pairs of students whose exercise cells are unusually alike.

Each student's exercise cells (what they wrote there) are fingerprinted as MOSS does, by
winnowing (Schleimer, Wilkerson and Aiken, 2003): the cell is tokenized with Python's grammar,
every name becomes one letter, strings another, comments and layout go, and a sample of the
k-grams of what is left is kept as hashes. The maintained package ``copydetect`` does exactly
that (with pygments' tokenizer). Two cells written apart share the k-grams any solution shares;
so the given code (the stub) and the reference solution are boilerplate, and so is whatever most
of the class wrote alike. A pair of students is listed when their remaining fingerprints cover
at least ``THRESHOLD`` of both cells: renamed variables, functions in another order and added
comments do not hide a copy; two answers written apart rarely come close. A listing says "look",
never "copied": it changes no grade.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

METHOD = "winnowing fingerprints of the code's tokens, names, strings, comments and layout set aside, as MOSS does"
# Chosen on tests/test_similarity.py's class (22 right answers to exercise 1 written apart, and
# copies of six of them with names changed, functions reordered and comments added): copies share
# 79% to 100% of their fingerprints, answers written apart at most 48%; docs/instructors.md.
K = 15  # characters of a k-gram of the normalized code
WINDOW = 3  # winnowing window: any shared run of K + WINDOW - 1 normalized characters is found
THRESHOLD = 0.65  # the share of each cell's fingerprints the other has
SHARED_BY = 0.2  # fingerprints more of the class share than this are boilerplate too
MIN_FINGERPRINTS = 8  # cells with fewer are too short to tell


@dataclass(frozen=True)
class Pair:
    first: str  # a student id
    second: str
    exercise: str  # the exercise cell's grade id
    similarity: float  # the smaller of the two shares
    first_code: str
    second_code: str


def fingerprints(code: str, boilerplate=()) -> tuple[set, int]:
    """The winnowed fingerprints of ``code`` without those of ``boilerplate``, and how many it had."""
    from copydetect import CodeFingerprint

    try:
        found = CodeFingerprint("cell.py", K, WINDOW, boilerplate=list(boilerplate), fp=io.StringIO(code))
    except Exception:  # noqa: BLE001 - code a tokenizer chokes on is compared with nothing
        return set(), 0
    return set(int(h) for h in found.hashes), len(found.hashes)


def exercise_cells(notebook: Path) -> dict:
    """grade id -> source of each exercise cell of a student's notebook; {} if it cannot be read."""
    import nbformat

    from arena_grading.cells import grade_id, is_exercise_cell

    try:
        nb = nbformat.read(notebook, as_version=4)
        return {grade_id(cell): str(cell.source) for cell in nb.cells if is_exercise_cell(cell) and grade_id(cell)}
    except Exception:  # noqa: BLE001 - a notebook nobody can read has nothing to compare
        return {}


def given_code(course: Path, assignment: str) -> dict:
    """grade id -> the stub and the reference solution of each exercise cell (boilerplate)."""
    given = {}
    for folder in (course / "solutions" / assignment, course / "notebooks" / assignment):
        for notebook in sorted(folder.glob("*.ipynb")):
            for key, code in exercise_cells(notebook).items():
                given.setdefault(key, []).append(code)
    return given


def similar_pairs(course: Path, assignment: str, submissions: dict | None = None) -> list[Pair]:
    """The pairs of students whose exercise cells look copied, most alike first. ``submissions``
    (student -> grade id -> code) defaults to every notebook in submitted/<student>/<assignment>/."""
    if submissions is None:
        submissions = {}
        for folder in sorted((course / "submitted").glob(f"*/{assignment}")):
            for notebook in sorted(folder.glob("*.ipynb")):
                if not notebook.is_symlink():
                    submissions.setdefault(folder.parent.name, {}).update(exercise_cells(notebook))
    given = given_code(course, assignment)
    pairs = []
    for exercise in sorted({key for cells in submissions.values() for key in cells}):
        boilerplate = set()
        for code in given.get(exercise, []):
            boilerplate |= fingerprints(code)[0]
        prints = {student: fingerprints(cells[exercise], boilerplate)[0]
                  for student, cells in submissions.items() if exercise in cells}
        common = _shared_by_many(prints)
        prints = {student: found - common for student, found in prints.items() if len(found - common) >= MIN_FINGERPRINTS}
        for first, second in _candidates(prints):
            shared = len(prints[first] & prints[second])
            similarity = min(shared / len(prints[first]), shared / len(prints[second]))
            if similarity >= THRESHOLD:
                pairs.append(Pair(first, second, exercise, similarity, submissions[first][exercise],
                                  submissions[second][exercise]))
    return sorted(pairs, key=lambda pair: (-pair.similarity, pair.exercise, pair.first, pair.second))


def _shared_by_many(prints: dict) -> set:
    """Fingerprints more than ``SHARED_BY`` of the students have (at least three of them)."""
    from collections import Counter

    counts = Counter(h for found in prints.values() for h in found)
    many = max(3, SHARED_BY * len(prints))
    return {h for h, n in counts.items() if n > many}


def _candidates(prints: dict):
    """Pairs of students sharing at least one fingerprint (an index, not every pair: a large class)."""
    students_of = {}
    for student, found in prints.items():
        for h in found:
            students_of.setdefault(h, []).append(student)
    seen = set()
    for students in students_of.values():
        for pair in combinations(sorted(students), 2):
            if pair not in seen:
                seen.add(pair)
                yield pair
