"""The class tournament: ``python -m arena_grading tournament ASSIGNMENT``.

Every student's agent file (``submitted/<student>/<assignment>/<ASSIGNMENT>_agent.safetensors``)
is read as untrusted input (``arena_grading.entrants``: what cannot play is left out with the
reason), fingerprinted for copy marks (``arena_grading.copies``), and plays the others and the
course's baselines in both roles over fixed seeds. A **game** is one seed: A explores against
B's chaser, B explores against A's chaser, and whoever's explorer scores more wins it (equal: a
draw). Who plays whom is the schedule's (``arena_grading.schedule``: a full round robin, or Swiss
rounds for a large class); the pairings are played in this process, on local worker processes or
on a Ray cluster (``arena_grading.games``); openskill rates everyone game by game in one fixed
order (``arena_grading.ratings``), so the same files give the same board however many workers
played them. The files are written by ``arena_grading.leaderboard``. The tournament changes no
grade, and its copy marks neither.

Exit status: 0 every file was read, 1 some were left out (listed with the reason), 2 fewer than
two agents can play, 3 an unexpected error (a bug, or a folder that cannot be written; never a
student's file): the message says what, with the traceback.
"""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path

from arena_grading import copies, games, schedule
from arena_grading.entrants import baselines, collect, course_fingerprints
from arena_grading.ratings import Ratings

OUTPUT_FOLDER = Path("tournament")
ALL_READ, LEFT_OUT, TOO_FEW, UNEXPECTED_ERROR = 0, 1, 2, 3


def printable(text: str) -> str:
    """``text`` for a terminal: control characters (a student id can hold escape sequences) shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def play_round_robin(venue, ratings: Ratings, count: int, progress: bool, meanwhile=lambda: None) -> list:
    """Every pairing played and rated in order; ``meanwhile`` runs once the workers have started."""
    from tqdm import tqdm

    played = []
    stream = venue.play(schedule.round_robin(count))
    meanwhile()
    with tqdm(total=count * (count - 1) // 2, desc="round robin", unit="pairing", disable=not progress,
              mininterval=2) as bar:
        for pairings in stream:
            ratings.update(pairings)  # in the order of the chunks, whoever finished first
            played += pairings
            bar.update(len(pairings))
    return played


def play_swiss(venue, ratings: Ratings, entrants: list, progress: bool, meanwhile=lambda: None) -> tuple[list, int]:
    """(the pairings played, the number of Swiss rounds); ``meanwhile`` runs once the workers have
    started on the baselines' round."""
    from tqdm import tqdm

    students = [i for i, e in enumerate(entrants) if not e.baseline]
    rounds = schedule.swiss_rounds(len(students))
    played, met, sat_out = [], set(), set()
    stream = venue.play(schedule.baseline_round(students, [i for i, e in enumerate(entrants) if e.baseline]))
    meanwhile()
    with tqdm(total=rounds + 1, desc="Swiss rounds", unit="round", disable=not progress, mininterval=2) as bar:
        for pairings in stream:
            ratings.update(pairings)
            played += pairings
        bar.update(1)
        for _ in range(rounds):
            pairs, bye = schedule.swiss_pairs(ratings.order(students), met, sat_out)
            met.update(frozenset(pair) for pair in pairs)
            sat_out.add(bye)
            for pairings in venue.play(schedule.chunked(pairs)):
                ratings.update(pairings)
                played += pairings
            bar.update(1)
    return played, rounds


def run(course: Path, assignment: str, **options) -> int:
    """The whole tournament (see :func:`tournament`); an unexpected error is reported in words
    before its traceback: exit status 3."""
    try:
        return tournament(course, assignment, **options)
    except KeyboardInterrupt:
        raise
    except Exception as error:  # noqa: BLE001 - the command's last word on what nobody expected
        print(f"The tournament stopped on an unexpected error (not a problem of a student's file: each is read "
              f"apart, and one that cannot be read is only left out): {type(error).__name__}: {printable(error)}\n"
              "Unless it is about the disk or permissions (the folder tournament/ must be writable), it is a bug in "
              "arena_grading: please report it with the traceback below.\n\n" + traceback.format_exc(),
              file=sys.stderr)
        return UNEXPECTED_ERROR


def tournament(course: Path, assignment: str, *, workers: int = 1, address: str | None = None, episodes: int = 8,
               anonymize: bool = False, with_baselines: bool = True, file_name: str | None = None,
               schedule_name: str = "auto", progress: bool = True) -> int:
    """The whole tournament; prints where the results are, where the time went and who was left
    out. Exit status: 0, or 1 if someone was left out, 2 if fewer than two agents can play."""
    from arena_grading import leaderboard

    clock = Clock()
    fixed = baselines() if with_baselines else []
    students, left_out, prints = collect(course, assignment, file_name or f"{assignment}_agent.safetensors",
                                         reserved={e.name for e in fixed})
    entrants = sorted(students + fixed, key=lambda e: e.name)
    clock.lap("reading the files")
    if len(entrants) < 2:
        print(f"Fewer than two agents can play ({len(entrants)}); nothing to rate.", file=sys.stderr)
        report_left_out(left_out)
        return TOO_FEW
    chosen = schedule.chosen(schedule_name, len(students))
    workers = workers_that_pay(chosen, len(students), len(fixed), workers, address)
    ratings, marks = Ratings(entrants), {}

    def meanwhile():  # while the workers play (before, in one process)
        marks.update(copies.copy_marks(prints, course_fingerprints()))
        leaderboard.prepare()
        clock.lap("copy marks and the page's libraries")

    with games.venue(entrants, episodes, workers=workers, address=address) as venue:
        if chosen == "round-robin":
            played = play_round_robin(venue, ratings, len(entrants), progress, meanwhile)
            words = "a full round robin (everyone against everyone)"
        else:
            played, rounds = play_swiss(venue, ratings, entrants, progress, meanwhile)
            words = (f"Swiss rounds: each student against each baseline, then {rounds} rounds in which students of "
                     "close rating meet")
        nodes = dict(venue.nodes)
    clock.lap("games and ratings")
    table = ratings.standings()
    shown, left_out_shown = names_shown(course, entrants, left_out, anonymize)
    where = (f"on {len(nodes)} Ray node(s)" if address else
             f"on {workers} worker processes" if workers > 1 else "in one process")
    html_path = leaderboard.write(course / OUTPUT_FOLDER / assignment, assignment, entrants, played, table,
                                  left_out_shown, shown, marks, anonymized=anonymize, games=episodes,
                                  schedule_words=words, where=where, seconds=clock.total())
    clock.lap("the page and its files")
    print(f"{len(entrants)} agents, {len(played)} pairings of {episodes} games each ({chosen}), {where}, in "
          f"{clock.total():.0f} s; the leaderboard: {html_path} (leaderboard.csv, baselines.csv and copies.csv "
          f"beside it)\ntime: {clock}")
    if address:
        print(f"played on {len(nodes)} Ray node(s): " + ", ".join(f"{node[:8]} {count} pairings"
                                                              for node, count in sorted(nodes.items())))
    for rank, standing in enumerate(table[:5], start=1):
        print(f"  {rank}. {printable(shown[standing.entrant.name])}  rating {standing.rating:.2f} "
              f"({standing.wins} won, {standing.losses} lost, {standing.draws} drawn)")
    if marks:
        print(f"Copy marks (for a person to judge; they change no rating or grade): {len(marks)} student(s), "
              "in copies.csv" + ("" if anonymize else " and on the page"))
        for name, found in sorted(marks.items())[:10]:
            print(f"  {printable(name)}: {printable(copies.describe(found))}")
    return report_left_out(left_out)


class Clock:
    """Where the time went, phase by phase."""

    def __init__(self):
        self.started = self.last = time.perf_counter()
        self.laps: list[tuple[str, float]] = []

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.laps.append((phase, now - self.last))
        self.last = now

    def total(self) -> float:
        return time.perf_counter() - self.started

    def __str__(self) -> str:
        return ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in self.laps)


def workers_that_pay(chosen: str, students: int, baseline_count: int, workers: int, address: str | None) -> int:
    """``workers``, or 1 where the games are too few for workers to pay off (said on the output)."""
    count = students + baseline_count
    pairings = (count * (count - 1) // 2 if chosen == "round-robin"
                else students * baseline_count + students // 2 * schedule.swiss_rounds(students))
    if address is None and workers > 1 and not games.worth_workers(pairings, workers):
        print(f"{pairings} pairings are played in this process: below {games.MIN_PAIRINGS_PER_WORKER} pairings per "
              f"worker, starting {workers} workers would cost more time than they save")
        return 1
    return workers


def names_shown(course: Path, entrants: list, left_out: dict, anonymize: bool) -> tuple[dict, list]:
    """({entrant's name: as shown}, [(left-out student as shown, the reason)]): the ids themselves,
    or with ``anonymize`` pseudonyms for students (baselines keep their names, even where a
    left-out student's id is one of them), ids in the reasons replaced too."""
    if not anonymize:
        return {e.name: e.name for e in entrants}, sorted(left_out.items())
    from arena_grading.names import course_secret, pseudonyms, scrub

    baseline_names = {e.name for e in entrants if e.baseline}
    pseudonym = pseudonyms([*(e.name for e in entrants if not e.baseline), *left_out], course_secret(course))
    in_reasons = {name: label for name, label in pseudonym.items() if name not in baseline_names}
    shown = {e.name: e.name if e.baseline else pseudonym[e.name] for e in entrants}
    return shown, sorted((pseudonym[name], scrub(why, in_reasons)) for name, why in left_out.items())


def report_left_out(left_out: dict) -> int:
    if not left_out:
        return ALL_READ
    print("Left out (their files cannot play; they are not on the leaderboard):", file=sys.stderr)
    for student, why in sorted(left_out.items()):
        print(f"  {printable(student)}: {printable(why)}", file=sys.stderr)
    return LEFT_OUT
