"""The tournament's entrants: each student's agent file, read as untrusted input, and the course's
baselines.

A student's file is whatever they handed in: any bytes, any JSON in its metadata, a link, a
pipe. Reading one never stops the tournament: anything wrong with it (an ``InvalidAgent`` from
``arena_lib.agents``, or any other exception while reading it) leaves that student out with the
reason. Links are never followed, at any level of ``submitted/<student>/<assignment>/<file>``:
a link could point to another student's file or to a file of the machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from arena_grading.copies import Fingerprint, file_digest
from arena_grading.outcomes import submitted_students


@dataclass
class Entrant:
    name: str  # the student id, or the baseline's name
    agent: object  # anything with .player(role): arena_lib.agents.Agent or a baseline
    baseline: bool = False


def baselines() -> list[Entrant]:
    """The course's baselines: random moves, the scripted pair, the course's trained agents."""
    from arena_lib.opponents import BUILT_IN

    return [Entrant(name, make(), baseline=True) for name, make in BUILT_IN.items()]


def course_fingerprints() -> list[Fingerprint]:
    """The course's own agent files (arena_lib/data/), for copy marks."""
    from arena_lib.agents import agent_from_bytes
    from arena_lib.opponents import COURSE_AGENTS, DATA

    prints = []
    for name, file in COURSE_AGENTS.items():
        data = (DATA / file).read_bytes()
        prints.append(Fingerprint(name, file_digest(data), agent_from_bytes(data, name=name).layers, course=True))
    return prints


def linked_part(course: Path, parts: list[str]) -> str | None:
    """The first of ``submitted/<parts...>`` that is a symbolic link, as a path in the course, or None."""
    path = course / "submitted"
    for part in parts:
        path = path / part
        if path.is_symlink():
            return str(path.relative_to(course))
    return None


def read_entrant(course: Path, assignment: str, student: str, file_name: str) -> tuple[Entrant, Fingerprint]:
    """The student's entrant and its fingerprint; InvalidAgent says why it cannot play."""
    from arena_lib.agents import InvalidAgent, agent_from_bytes, read_agent_file

    link = linked_part(course, [student, assignment, file_name])
    if link:
        raise InvalidAgent(f"{link} is a symbolic link; the tournament reads only what was handed in, never a "
                           "link (it could point to another student's file): hand in the file itself")
    data = read_agent_file(course / "submitted" / student / assignment / file_name)
    agent = agent_from_bytes(data, name=student)
    return Entrant(student, agent), Fingerprint(student, file_digest(data), agent.layers)


def collect(course: Path, assignment: str, file_name: str, reserved: set | frozenset = frozenset()
            ) -> tuple[list[Entrant], dict[str, str], list[Fingerprint]]:
    """(the class's valid entrants, {student: why left out}, their fingerprints) from
    ``submitted/``. A student whose id is in ``reserved`` (the baselines' names) is left out:
    two rows of one name could not be told apart."""
    from arena_lib.agents import InvalidAgent

    entrants, left_out, prints = [], {}, []
    for student in submitted_students(course, assignment):
        if student in reserved:
            left_out[student] = (f"the id {student!r} is the name of one of the course's baselines "
                                 f"({', '.join(sorted(reserved))}); rename the student's folder, or leave the "
                                 "baselines out (--no-baselines)")
            continue
        try:
            entrant, fingerprint = read_entrant(course, assignment, student, file_name)
        except InvalidAgent as why:
            left_out[student] = str(why)
        except Exception as error:  # noqa: BLE001 - one file never stops the tournament
            left_out[student] = (f"its file could not be read ({type(error).__name__}: {str(error)[:200]}); "
                                 "save it again with arena_lib.agents.save_agent")
        else:
            entrants.append(entrant)
            prints.append(fingerprint)
    return entrants, left_out, prints
