"""What the tournament writes: the leaderboard page and its CSV files.

- ``leaderboard.html``: one page that needs no server, rendered from
  ``templates/leaderboard.html.j2`` (autoescaped: a student id is text, never markup): the
  table, a figure of the ratings with its text alternative (no student id in it), replays of
  the closest and the most lopsided pairing of the class, the copy marks, who was left out;
- ``leaderboard.csv``: the table; ``baselines.csv``: each student's games against each
  baseline (real ids); ``copies.csv``: the copy marks (real ids). Every CSV cell goes through
  ``arena_grading.spreadsheet`` (no formulas).

Names are shown as ``shown`` says (pseudonyms with ``--anonymize``); a board for the class
carries no copy marks (they are in ``copies.csv``, for the instructor).
"""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path

import numpy as np

from arena_grading.copies import SIMILAR_AT, describe
from arena_grading.pages import render
from arena_grading.schedule import seeds_for
from arena_grading.spreadsheet import write_csv
from arena_lib.matches import wins_losses_draws

REPLAY_CELL_PX = 24


def prepare() -> None:
    """Load what the page needs (matplotlib, the template), while the workers play."""
    import matplotlib.figure  # noqa: F401
    from PIL import Image  # noqa: F401

    from arena_grading.pages import environment

    environment().get_template("leaderboard.html.j2")


def board_rows(table: list, shown: dict, marks: dict | None) -> list[dict]:
    """One row per standing, best first; the copy marks (names as shown) unless ``marks`` is None."""
    rows = []
    for rank, s in enumerate(table, start=1):
        row = {"rank": rank, "name": shown[s.entrant.name], "course baseline": "yes" if s.entrant.baseline else "",
               "rating": round(s.rating, 3), "mu": round(s.mu, 3), "sigma": round(s.sigma, 3),
               "wins": s.wins, "losses": s.losses, "draws": s.draws,
               "mean return as explorer": round(float(np.mean(s.explorer_returns)), 2),
               "mean return conceded as chaser": round(float(np.mean(s.chaser_conceded)), 2)}
        if marks is not None:
            row["copy marks"] = marks_text(marks.get(s.entrant.name), shown)
        rows.append(row)
    return rows


def marks_text(marks, shown: dict) -> str:
    """An entrant's marks (arena_grading.copies.Marks, or None) in words, names as shown."""
    from dataclasses import replace

    if not marks:
        return ""
    return describe(replace(marks, found=[replace(mark, other=shown.get(mark.other, mark.other))
                                          for mark in marks.found]))


def copies_rows(marks: dict) -> list[dict]:
    """copies.csv: one row per resemblance kept (real ids), and one for the count of the rest."""
    rows = []
    for name, found in sorted(marks.items()):
        rows += [{"student": name, "resembles": mark.other, "course agent": "yes" if mark.course else "",
                  "how": mark.how} for mark in found.found]
        if found.total > len(found.found):
            rows.append({"student": name, "resembles": f"{found.total - len(found.found)} more", "how": "see above"})
    return rows


def against_baselines(entrants: list, played: list) -> tuple[list[dict], list[str]]:
    """(each student's games against the course's baselines, the columns): fixed opponents on fixed
    seeds, the same whoever else is in the class and in either schedule. What a grade may come
    from, never the class rank."""
    names = sorted(e.name for e in entrants if e.baseline)
    rows = {i: {"student": e.name, "won": 0, "games": 0} for i, e in enumerate(entrants) if not e.baseline}
    for pairing in played:
        for me, other, mine, theirs in ((pairing.a, pairing.b, pairing.a_explores, pairing.b_explores),
                                        (pairing.b, pairing.a, pairing.b_explores, pairing.a_explores)):
            if me in rows and entrants[other].baseline:
                won, lost, drawn = wins_losses_draws(mine, theirs)
                rows[me][f"against {entrants[other].name}"] = f"{won}-{lost}-{drawn}"
                rows[me]["won"] += won
                rows[me]["games"] += len(mine)
    for row in rows.values():
        row["share of games won"] = round(row.pop("won") / row["games"], 4) if row["games"] else ""
    columns = ["student", *(f"against {name}" for name in names), "games", "share of games won"]
    return sorted(rows.values(), key=lambda row: row["student"]), columns


def ratings_figure(table: list) -> tuple[str, str]:
    """(a PNG, base64, of every rating by rank with the baselines named; its text alternative).
    No student id is drawn: a figure of a thousand names says nothing, and text in matplotlib
    can be parsed as mathematics (``$...$``), which is turned off here anyway."""
    import matplotlib
    from matplotlib.figure import Figure

    ranks = np.arange(1, len(table) + 1)
    mus = np.array([s.mu for s in table])
    sigmas = np.array([s.sigma for s in table])
    baselines = [(rank, s) for rank, s in zip(ranks, table) if s.entrant.baseline]
    with matplotlib.rc_context({"text.parse_math": False}):
        fig = Figure(figsize=(7.5, 3.6))
        ax = fig.add_subplot()
        ax.fill_between(ranks, mus - sigmas, mus + sigmas, color="#92c5de", alpha=0.6, linewidth=0, label="μ ± σ")
        ax.plot(ranks, mus, color="#2166ac", linewidth=1.2, label="μ", marker="o" if len(table) <= 60 else None,
                markersize=3)
        for rank, s in baselines:
            ax.plot([rank], [s.mu], marker="D", color="#555555", markersize=6)
            ax.annotate(s.entrant.name, (rank, s.mu), textcoords="offset points", xytext=(4, 6), fontsize=8,
                        color="#333333")
        ax.set_xlabel("rank (1: best)")
        ax.set_ylabel("openskill rating")
        ax.set_title("Every agent's rating by rank; grey diamonds: the course's baselines", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper right")
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=90)
    placed = "; ".join(f"{s.entrant.name} at rank {rank} (μ {s.mu:.1f})" for rank, s in baselines)
    alt = (f"A line of the openskill rating μ of each of the {len(table)} agents by rank, with a band of ± σ: "
           f"μ goes from {mus[0]:.1f} at rank 1 to {mus[-1]:.1f} at rank {len(table)}."
           + (f" The course's baselines: {placed}." if baselines else ""))
    return base64.b64encode(buffer.getvalue()).decode(), alt


def replay(entrants: list, pairing, shown: dict, title: str) -> dict:
    """The pairing's first game, its first entrant exploring, as PNG frames of the course's own
    drawing (arena_lib.rendering) with a caption per step and a text alternative."""
    from PIL import Image

    from arena_lib.matches import play, replay_states
    from arena_lib.rendering import draw_arena

    a, b = entrants[pairing.a], entrants[pairing.b]
    seed = seeds_for(a.name, b.name, 1)
    match = play(a.agent.player("explorer"), b.agent.player("chaser"), seed, record=True)
    states = replay_states(match.actions[0])
    frames = []
    for state in states:
        buffer = io.BytesIO()
        Image.fromarray(draw_arena(state, cell_px=REPLAY_CELL_PX)).save(buffer, format="PNG", optimize=False)
        frames.append("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode())
    collisions = sum(state.collision for state in states)
    captions = [f"step {s.step:3d}: explorer {s.explorer_return:+6.1f}, chaser {s.chaser_return:+6.1f}"
                + (" (collision)" if s.collision else "") for s in states]
    last = states[-1]
    alt = (f"Replay of {shown[a.name]}'s explorer (blue circle, light blue: cells it has visited) against "
           f"{shown[b.name]}'s chaser (red diamond), their pairing's first game: after {last.step} steps the explorer "
           f"has visited {len(last.agent1_visited_fields)} of {last.width * last.height} cells and returns "
           f"{last.explorer_return:+.1f}, the chaser {last.chaser_return:+.1f}, with {collisions} collisions.")
    return {"title": title, "frames": frames, "captions": captions, "alt": alt,
            "size": REPLAY_CELL_PX * max(last.width, last.height)}


def replays(entrants: list, played: list, shown: dict) -> list[dict]:
    """The closest and the most lopsided pairing among the class's own (else among all)."""
    among_class = [p for p in played if not entrants[p.a].baseline and not entrants[p.b].baseline] or played
    if not among_class:
        return []
    closest = min(among_class, key=lambda p: (abs(p.margin), p.a, p.b))
    lopsided = max(among_class, key=lambda p: (abs(p.margin), -p.a, -p.b))

    def title(kind, p):
        return (f"The {kind} pairing: {shown[entrants[p.a].name]} against {shown[entrants[p.b].name]} "
                f"(mean margin {p.margin:+.1f})")

    return [replay(entrants, closest, shown, title("closest", closest)),
            replay(entrants, lopsided, shown, title("most lopsided", lopsided))]


def write(folder: Path, assignment: str, entrants: list, played: list, table: list, left_out: list, shown: dict,
          marks: dict, *, anonymized: bool, games: int, schedule_words: str, where: str, seconds: float) -> Path:
    """Every file of the tournament into ``folder``; the page's path. ``left_out``: (student as
    shown, why) pairs; ``shown``: each entrant's name as shown."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = board_rows(table, shown, None if anonymized else marks)
    columns = list(rows[0]) if rows else ["rank", "name"]
    write_csv(folder / "leaderboard.csv", rows, columns)
    if any(e.baseline for e in entrants) and any(not e.baseline for e in entrants):
        write_csv(folder / "baselines.csv", *against_baselines(entrants, played))
    write_csv(folder / "copies.csv", copies_rows(marks), ["student", "resembles", "course agent", "how"])
    ratings_png, ratings_alt = ratings_figure(table)
    page = render(
        "leaderboard.html.j2", assignment=assignment, agents=len(entrants),
        students=sum(not e.baseline for e in entrants), baseline_count=sum(e.baseline for e in entrants),
        pairings=len(played), games=games, schedule_words=schedule_words, when=time.strftime("%Y-%m-%d %H:%M"),
        seconds=f"{seconds:.0f}", where=where, columns=columns, rows=rows, ratings_png=ratings_png,
        ratings_alt=ratings_alt, replays=replays(entrants, played, shown),
        marks=None if anonymized else [(shown[name], marks_text(found, shown)) for name, found in sorted(marks.items())],
        similar_at=SIMILAR_AT, left_out=left_out)
    path = folder / "leaderboard.html"
    path.write_text(page, encoding="utf-8")
    return path
