"""The class tournament: ``python -m arena_grading tournament ASSIGNMENT``.

Every student's agent file (``submitted/<student>/<assignment>/<ASSIGNMENT>_agent.safetensors``,
checked by ``arena_lib.agents.load_agent``: the ones that cannot play are listed with the
reason and left out) plays every other agent, and the course's baseline players, in both
role assignments over fixed seeds. A **game** is one seed: A explores against B's chaser,
B explores against A's chaser, and whoever's explorer scores more wins it (equal: a draw).
Pairings run as Ray tasks, on this machine's cores or a running cluster, each playing all
its episodes at once (``arena_lib.matches``); openskill rates everyone, game by game in one
fixed order, so the same files give the same ratings however many workers played them.

Written to ``tournament/<assignment>/``: ``leaderboard.html`` (one page that needs no server:
the table, a plot of the ratings, replays of the closest and the most lopsided pairing) and
``leaderboard.csv``; ``--anonymize`` puts pseudonyms in both, for a board posted to the class.
``baselines.csv`` has each student's games against the course's baselines, with real ids: what
a grade may come from, if the instructor wants one (docs/instructors.md). The tournament itself
changes no grade.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import io
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from arena_grading.outcomes import submitted_students
from arena_lib.matches import wins_losses_draws

OUTPUT_FOLDER = Path("tournament")
SEED_BASE = 20_261_204

@dataclass
class Entrant:
    name: str  # the student id, or the baseline's name
    agent: object  # anything with .player(role): arena_lib.agents.Agent or a baseline
    baseline: bool = False


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


@dataclass
class Standing:
    entrant: Entrant
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


def seeds_for(a: str, b: str, episodes: int) -> list[int]:
    """A pairing's seeds, from its two names: the same whoever plays it, wherever, in any order of work."""
    digest = hashlib.sha256(f"{a}\n{b}".encode()).digest()
    start = int.from_bytes(digest[:4], "little")
    return [SEED_BASE + start + k for k in range(episodes)]


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


def chunks_of(count: int) -> list[list]:
    """The pairings in chunks of equal size: entrant a's pairings with everyone after it, together
    with those of entrant count - 2 - a (the first has the most, the last the fewest). The same
    chunks however many workers play them, so that each episode is computed in the same batch."""
    rows = [[(a, b) for b in range(a + 1, count)] for a in range(count - 1)]
    return [rows[i] + rows[-1 - i] if i != len(rows) - 1 - i else rows[i] for i in range((len(rows) + 1) // 2)]


def play_chunk(entrants: list, pairs: list, episodes: int) -> tuple[list, str]:
    """(the chunk's pairings, the Ray node that played them): one Ray task."""
    import ray

    return play_pairings(entrants, pairs, episodes), ray.get_runtime_context().get_node_id()


def play_all(entrants: list, episodes: int, workers: int = 1, address: str | None = None,
             progress: bool = True) -> tuple[list[Pairing], dict]:
    """(every pairing in the order of the pairs, {Ray node: pairings it played}): in this
    process for one worker, else in chunks as Ray tasks."""
    from tqdm import tqdm

    chunks = chunks_of(len(entrants))
    pairings = sum(len(chunk) for chunk in chunks)
    if workers == 1 and address is None:
        played = []
        for chunk in tqdm(chunks, desc="tournament", unit="entrant", disable=not progress, mininterval=2):
            played += play_pairings(entrants, chunk, episodes)
        return played, {}
    import logging

    import ray

    if address:
        ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
    else:
        ray.init(address="local", num_cpus=workers, include_dashboard=False, logging_level=logging.ERROR,
                 log_to_driver=False)
    try:
        task = ray.remote(play_chunk).options(num_cpus=1)
        shared = ray.put(entrants)
        pending = [task.remote(shared, chunk, episodes) for chunk in chunks]
        results, nodes = {}, {}
        with tqdm(total=pairings, desc="tournament", unit="pairing", disable=not progress, mininterval=2) as bar:
            remaining = list(pending)
            while remaining:
                (ready,), remaining = ray.wait(remaining, num_returns=1)
                results[ready], node = ray.get(ready)
                nodes[node] = nodes.get(node, 0) + len(results[ready])
                bar.update(len(results[ready]))
        return [pairing for ref in pending for pairing in results[ref]], nodes  # the order of the pairs, always
    finally:
        ray.shutdown()


def standings(entrants: list, played: list) -> list[Standing]:
    """Everyone rated with openskill (Plackett-Luce), game by game in the order of the pairings
    and seeds; ranked by mu - 3 sigma."""
    from openskill.models import PlackettLuce

    model = PlackettLuce()
    ratings = [model.rating(name=entrant.name) for entrant in entrants]
    table = [Standing(entrant, 0.0, 0.0) for entrant in entrants]
    for pairing in played:
        a, b = pairing.a, pairing.b
        for mine, theirs in zip(pairing.a_explores, pairing.b_explores):
            ranks = [0, 0] if mine == theirs else ([0, 1] if mine > theirs else [1, 0])
            [[ratings[a]], [ratings[b]]] = model.rate([[ratings[a]], [ratings[b]]], ranks=ranks)
        table[a].explorer_returns += list(pairing.a_explores)
        table[b].explorer_returns += list(pairing.b_explores)
        table[a].chaser_conceded += list(pairing.b_explores)
        table[b].chaser_conceded += list(pairing.a_explores)
    for standing, rating in zip(table, ratings):
        standing.mu, standing.sigma = rating.mu, rating.sigma
    return sorted(table, key=lambda s: (-s.rating, s.entrant.name))


def collect(course: Path, assignment: str, file_name: str) -> tuple[list, dict]:
    """(the class's valid entrants, {student: why left out}) from ``submitted/``."""
    from arena_lib.agents import InvalidAgent, load_agent

    entrants, left_out = [], {}
    for student in submitted_students(course, assignment):
        try:
            path = course / "submitted" / student / assignment / file_name
            entrants.append(Entrant(student, load_agent(path, name=student)))
        except InvalidAgent as why:
            left_out[student] = str(why)
    return entrants, left_out


def baselines() -> list:
    from arena_lib.opponents import BUILT_IN

    return [Entrant(name, make(), baseline=True) for name, make in BUILT_IN.items()]


def replay_html(entrants: list, pairing: Pairing) -> str:
    """The pairing's first game, A exploring, as the course's player (self-contained HTML)."""
    from arena_lib.animation import animate_episode
    from arena_lib.matches import play

    a, b = entrants[pairing.a], entrants[pairing.b]
    seed = seeds_for(a.name, b.name, 1)
    match = play(a.agent.player("explorer"), b.agent.player("chaser"), seed, record=True)
    return animate_episode(match.replay(0), size_inches=3.6).data


def ratings_png(table: list, shown: dict) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 0.3 * len(table) + 1.2))
    ax = fig.add_subplot()
    names = [shown[s.entrant.name] for s in table][::-1]
    mus = [s.mu for s in table][::-1]
    sigmas = [s.sigma for s in table][::-1]
    colors = ["#999999" if s.entrant.baseline else "#2166ac" for s in table][::-1]
    ax.barh(names, mus, xerr=sigmas, color=colors, capsize=3)
    ax.set_xlabel("rating μ ± σ (openskill); grey: the course's baselines")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return base64.b64encode(buffer.getvalue()).decode()


def against_baselines(entrants: list, played: list) -> list[dict]:
    """Each student's games against the course's baselines (fixed opponents on fixed seeds: the
    same whoever else is in the class): what a grade may come from, never the class rank."""
    rows = {i: {"student": e.name} for i, e in enumerate(entrants) if not e.baseline}
    for pairing in played:
        for me, other, mine, theirs in ((pairing.a, pairing.b, pairing.a_explores, pairing.b_explores),
                                        (pairing.b, pairing.a, pairing.b_explores, pairing.a_explores)):
            if me in rows and entrants[other].baseline:
                won, lost, drawn = wins_losses_draws(mine, theirs)
                rows[me][f"against {entrants[other].name}"] = f"{won}-{lost}-{drawn}"
                rows[me]["won"] = rows[me].get("won", 0) + won
                rows[me]["games"] = rows[me].get("games", 0) + len(mine)
    for row in rows.values():
        row["share of games won"] = round(row.pop("won", 0) / row["games"], 4) if row.get("games") else ""
    return sorted(rows.values(), key=lambda row: row["student"])


def write_results(folder: Path, assignment: str, entrants: list, played: list, table: list, left_out: dict,
                  shown: dict, seconds: float) -> tuple[Path, Path]:
    """leaderboard.html and leaderboard.csv (names as ``shown``), and baselines.csv (real ids)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for rank, s in enumerate(table, start=1):
        rows.append({"rank": rank, "name": shown[s.entrant.name], "course baseline": "yes" if s.entrant.baseline else "",
                     "rating": round(s.rating, 3), "mu": round(s.mu, 3), "sigma": round(s.sigma, 3),
                     "wins": s.wins, "losses": s.losses, "draws": s.draws,
                     "mean return as explorer": round(float(np.mean(s.explorer_returns)), 2),
                     "mean return conceded as chaser": round(float(np.mean(s.chaser_conceded)), 2)})
    csv_path = folder / "leaderboard.csv"
    with open(csv_path, "w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["rank", "name"])
        writer.writeheader()
        writer.writerows(rows)
    if any(e.baseline for e in entrants) and any(not e.baseline for e in entrants):
        graded = against_baselines(entrants, played)
        with open(folder / "baselines.csv", "w", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=list(graded[0]))
            writer.writeheader()
            writer.writerows(graded)
    # The replays: among the class's own pairings when there are any.
    among_class = [p for p in played if not entrants[p.a].baseline and not entrants[p.b].baseline] or played
    closest = min(among_class, key=lambda p: (abs(p.margin), p.a, p.b))
    lopsided = max(among_class, key=lambda p: (abs(p.margin), -p.a, -p.b))
    header = "".join(f"<th>{html.escape(key)}</th>" for key in rows[0])
    body = "".join(("<tr class='baseline'>" if r["course baseline"] else "<tr>") + "".join(
        f"<td>{html.escape(str(value))}</td>" for value in r.values()) + "</tr>" for r in rows)
    skipped = "".join(f"<li>{html.escape(shown[s])}: "
                      f"{html.escape(why)}</li>" for s, why in sorted(left_out.items()))

    def match_title(p):
        a, b = entrants[p.a].name, entrants[p.b].name
        return f"{html.escape(shown[a])} against {html.escape(shown[b])} (mean margin {p.margin:+.1f})"

    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Tournament: {html.escape(assignment)}</title>
<style>body {{font-family: sans-serif; margin: 2em; max-width: 72em}} table {{border-collapse: collapse}}
td, th {{border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right}} td:nth-child(2) {{text-align: left}}
tr.baseline {{color: #777}} h2 {{margin-top: 1.5em}}</style></head><body>
<h1>Tournament: {html.escape(assignment)}</h1>
<p>{len(entrants)} agents ({sum(not e.baseline for e in entrants)} of the class, {sum(e.baseline for e in entrants)}
baselines) played {len(played)} pairings, each in both roles, {len(played[0].a_explores) if played else 0} games
per pairing ({time.strftime('%Y-%m-%d %H:%M')}, {seconds:.0f} s). A game: each explores once against the other's
chaser; the higher explorer return wins. Ranked by openskill's rating μ − 3σ.</p>
<table id="leaderboard"><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>
<h2>Ratings</h2><img alt="ratings" src="data:image/png;base64,{ratings_png(table, shown)}">
<h2>The closest pairing: {match_title(closest)}</h2><div class="replay">{replay_html(entrants, closest)}</div>
<h2>The most lopsided pairing: {match_title(lopsided)}</h2><div class="replay">{replay_html(entrants, lopsided)}</div>
<h2>Left out</h2><ul id="left-out">{skipped or '<li>nobody</li>'}</ul>
</body></html>
"""
    html_path = folder / "leaderboard.html"
    html_path.write_text(page)
    return html_path, csv_path


def run(course: Path, assignment: str, *, workers: int = 1, address: str | None = None, episodes: int = 8,
        anonymize: bool = False, with_baselines: bool = True, file_name: str | None = None,
        progress: bool = True) -> int:
    """The whole tournament; prints where the results are and who was left out. Exit status:
    0, or 1 if someone was left out, 2 if fewer than two agents can play."""
    import sys

    file_name = file_name or f"{assignment}_agent.safetensors"
    started = time.perf_counter()
    entrants, left_out = collect(course, assignment, file_name)
    entrants = sorted(entrants + (baselines() if with_baselines else []), key=lambda e: e.name)
    if len(entrants) < 2:
        print(f"Fewer than two agents can play ({len(entrants)}); nothing to rate.", file=sys.stderr)
        return 2
    played, nodes = play_all(entrants, episodes, workers=workers, address=address, progress=progress)
    table = standings(entrants, played)
    shown = {name: name for name in [*(e.name for e in entrants), *left_out]}
    if anonymize:
        from arena_grading.names import course_secret, pseudonyms

        shown.update(pseudonyms([*(e.name for e in entrants if not e.baseline), *left_out], course_secret(course)))
    html_path, csv_path = write_results(course / OUTPUT_FOLDER / assignment, assignment, entrants, played, table,
                                        left_out, shown, time.perf_counter() - started)
    print(f"{len(entrants)} agents, {len(played)} pairings of {episodes} games each, in "
          f"{time.perf_counter() - started:.0f} s; the leaderboard: {html_path} ({csv_path.name} beside it)")
    if nodes:
        print(f"played on {len(nodes)} Ray node(s): " + ", ".join(f"{node[:8]} {count} pairings"
                                                              for node, count in sorted(nodes.items())))
    for rank, standing in enumerate(table[:5], start=1):
        print(f"  {rank}. {shown[standing.entrant.name]}  rating {standing.rating:.2f} "
              f"({standing.wins} won, {standing.losses} lost, {standing.draws} drawn)")
    if left_out:
        print("Left out (their files cannot play; they are not on the leaderboard):", file=sys.stderr)
        for student, why in sorted(left_out.items()):
            print(f"  {student}: {why}", file=sys.stderr)
        return 1
    return 0
