"""Pseudonyms for pages an instructor posts to the class (the tournament's leaderboard, the class
report): the same for a student in every page of a course, and not recomputable from a student
id without the course's secret, which stays in ``.grading/``."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

from arena_grading.outcomes import GRADING_FOLDER

ADJECTIVES = ("amber", "brave", "calm", "deft", "eager", "fleet", "gentle", "hardy", "keen", "lucid", "merry",
              "nimble", "placid", "quick", "rapid", "steady", "swift", "tidy", "vivid", "wily")
ANIMALS = ("badger", "crane", "dingo", "egret", "falcon", "gecko", "heron", "ibis", "jackal", "koala", "lemur",
           "marten", "newt", "otter", "puffin", "quail", "raven", "stoat", "tapir", "wombat")


def course_secret(course: Path) -> str:
    """The course's secret for pseudonyms, made once."""
    path = course / GRADING_FOLDER / "pseudonym-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(16))
        path.chmod(0o600)
    return path.read_text().strip()


def pseudonyms(names, secret: str) -> dict:
    """name -> "adjective animal", distinct (a number is added where two would meet)."""
    shown, taken = {}, set()
    for name in sorted(set(names)):
        digest = hashlib.sha256(f"{secret}\n{name}".encode()).digest()
        label = base = f"{ADJECTIVES[digest[0] % len(ADJECTIVES)]} {ANIMALS[digest[1] % len(ANIMALS)]}"
        number = 2
        while label in taken:
            label, number = f"{base} {number}", number + 1
        taken.add(label)
        shown[name] = label
    return shown


def scrub(text: str, shown: dict) -> str:
    """``text`` with every name in ``shown`` replaced by what is shown for it (longest names
    first, so that "ann" inside "anna" is not replaced first)."""
    for name in sorted(shown, key=len, reverse=True):
        text = text.replace(name, shown[name])
    return text
