"""The class tournament (python -m arena_grading tournament) on a synthetic class: two trained
agents (the course's own files, trained with RLlib), two untrained ones, a student for each way an
agent file can be broken (generated malformed files too), ids that spreadsheets, matplotlib and
browsers would run, an id that is a baseline's name, and copies (a file handed in twice, the
course's own agent, a link to a classmate's file). The valid agents are rated in the expected order,
every other student is left out with the reason, the command exits 1 and writes its page; the
board is the same serially, on 4 workers and on a two-node Ray cluster, in both schedules; copy
marks say who resembles whom; the page works in Chromium."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys

import numpy as np
import pytest

from arena_lib.opponents import COURSE_AGENTS, DATA
from tests.agent_files import broken_files, malformed_files, random_agent, save
from tests.browser import static_page
from tests.notebook_tools import tool_env

pytestmark = pytest.mark.slow

ASSIGNMENT = "08_league"
FILE = f"{ASSIGNMENT}_agent.safetensors"
TRAINED = {"student-ada": "course league agent", "student-bo": "course pair agent"}
UNTRAINED = ("student-cy", "student-dee")
# Ids a spreadsheet (formulas), matplotlib (mathtext) or a browser (markup) would run.
HOSTILE = ("=1+2", "@SUM(1+1)", "-2+3", "dollar$\\undefinedcmd$", "<img src=x onerror=alert(1)>")
COPIES = {"student-cy-copy": "a copy of student-cy's file", "student-link": "a link to student-dee's file"}
BROKEN = {"missing": "student-eve", "nan": "student-fay", "shapes": "student-gus", "huge": "student-hal",
          "pickle": "student-ivy"}
MALFORMED = 12  # generated malformed files, one student each
GAMES = 6


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("tournament")
    submitted = course / "submitted"
    for student, agent in TRAINED.items():
        (submitted / student / ASSIGNMENT).mkdir(parents=True)
        shutil.copy(DATA / COURSE_AGENTS[agent], submitted / student / ASSIGNMENT / FILE)
    zero = random_agent(0, hiddens=(8,), scale=0.0)  # every move equally likely
    save(zero, submitted / UNTRAINED[0] / ASSIGNMENT, FILE)
    save(random_agent(5, hiddens=(8,)), submitted / UNTRAINED[1] / ASSIGNMENT, FILE)
    for i, student in enumerate(HOSTILE):
        save(random_agent(10 + i, hiddens=(8,)), submitted / student / ASSIGNMENT, FILE)
    shutil.copytree(submitted / "student-cy", submitted / "student-cy-copy")
    (submitted / "student-link" / ASSIGNMENT).mkdir(parents=True)
    (submitted / "student-link" / ASSIGNMENT / FILE).symlink_to(submitted / "student-dee" / ASSIGNMENT / FILE)
    shutil.copytree(submitted / "student-dee", submitted / "scripted")  # a baseline's name
    cases = broken_files(tmp_path_factory.mktemp("broken"), FILE)
    for case, student in BROKEN.items():
        path, _ = cases[case]
        (submitted / student / ASSIGNMENT).mkdir(parents=True)
        if path.exists():
            shutil.move(path, submitted / student / ASSIGNMENT / FILE)
    for i, (_, data) in enumerate(malformed_files(11, MALFORMED)):
        (submitted / f"malformed-{i:02d}" / ASSIGNMENT).mkdir(parents=True)
        (submitted / f"malformed-{i:02d}" / ASSIGNMENT / FILE).write_bytes(data)
    return course


def tournament(course, *args, env=None):
    return subprocess.run([sys.executable, "-m", "arena_grading", "tournament", ASSIGNMENT, "--games", str(GAMES),
                           *args], cwd=course, env=env or tool_env(), capture_output=True, text=True, timeout=600)


def tournament_on_workers(course, monkeypatch, capsys, *args) -> tuple[int, str]:
    """The command in this process with its workers (real forked processes) even for a class too
    small for them to pay off, where the command would play alone: (exit status, its output)."""
    import arena_grading.games
    from arena_grading.__main__ import main

    monkeypatch.setattr(arena_grading.games, "MIN_PAIRINGS_PER_WORKER", 1)
    monkeypatch.chdir(course)
    capsys.readouterr()
    status = main(["tournament", ASSIGNMENT, "--games", str(GAMES), *args])
    return status, capsys.readouterr().out


def written(course, name="leaderboard.csv") -> str:
    return (course / "tournament" / ASSIGNMENT / name).read_text(encoding="utf-8")


def rows_of(course, name="leaderboard.csv", run=None) -> list[dict]:
    board = course / "tournament" / ASSIGNMENT / name
    assert board.exists(), f"no {name} written:\n{run.stdout}{run.stderr}" if run else f"no {name} written"
    with open(board, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def serial(course):
    run = tournament(course)
    return run, rows_of(course, run=run), written(course)


def shown(student: str) -> str:
    """How a student id appears in a CSV cell: a formula gets a quote in front."""
    return "'" + student if student.startswith(("=", "+", "-", "@")) else student


def test_valid_agents_are_rated_in_the_expected_order_and_everything_else_listed(serial):
    run, rows, _ = serial
    assert run.returncode == 1, run.stdout + run.stderr  # someone was left out
    assert "Traceback" not in run.stderr, run.stderr
    names = [row["name"] for row in rows]
    expected = [*TRAINED, *UNTRAINED, *map(shown, HOSTILE), "student-cy-copy", "random", "scripted", *COURSE_AGENTS]
    assert sorted(names) == sorted(expected), names
    rank = {row["name"]: int(row["rank"]) for row in rows}
    for trained in TRAINED:
        for weak in (*UNTRAINED, "random"):
            assert rank[trained] < rank[weak], f"{trained} ranks below {weak}: {names}"
    for row in rows:
        assert int(row["wins"]) + int(row["losses"]) + int(row["draws"]) == GAMES * (len(rows) - 1)
        assert float(row["sigma"]) > 0 and np.isclose(float(row["rating"]), float(row["mu"]) - 3 * float(row["sigma"]),
                                                     atol=2e-3)
    left_out = {line.strip().split(":")[0]: line for line in run.stderr.splitlines() if line.startswith("  ")}
    reasons = {case: reason for case, (_, reason) in broken_files_reasons().items()}
    for case, student in BROKEN.items():
        assert student in left_out, f"{student} ({case}) is not listed as left out:\n{run.stderr}"
        assert reasons[case] in left_out[student], left_out[student]
    for i in range(MALFORMED):
        assert f"malformed-{i:02d}" in left_out or f"malformed-{i:02d}" in names, run.stderr
    assert "is a symbolic link" in left_out["student-link"]
    assert "name of one of the course's baselines" in left_out["scripted"]
    print(f"\n{run.stdout}{run.stderr}")


def broken_files_reasons():
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        return broken_files(Path(folder), FILE)


def test_no_student_id_reaches_a_parser(course, serial):
    import io

    from matplotlib.figure import Figure

    fig = Figure()  # the id really is one that matplotlib's mathtext cannot draw
    fig.text(0, 0, "dollar$\\undefinedcmd$")
    with pytest.raises(ValueError, match="Unknown symbol"):
        fig.savefig(io.BytesIO(), format="png")
    _, rows, _ = serial
    for path in ("leaderboard.csv", "baselines.csv", "copies.csv"):
        for row in csv.reader(written(course, path).splitlines()):
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")) or _is_number(cell), (path, cell)
    page = written(course, "leaderboard.html")
    assert "<img src=x onerror" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "dollar$\\undefinedcmd$" in page and "=1+2" in page


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def test_copies_are_marked_without_changing_anything(course, serial):
    _, rows, _ = serial
    marks = {row["name"]: row["copy marks"] for row in rows}
    assert marks["student-cy"] == "identical file to student-cy-copy"
    assert marks["student-cy-copy"] == "identical file to student-cy"
    assert marks["student-ada"] == "identical file to the course agent course league agent"
    assert marks["student-bo"] == "identical file to the course agent course pair agent"
    assert not marks["student-dee"] and not marks["random"]  # the link was refused, never read
    copies = {(row["student"], row["resembles"]) for row in rows_of(course, "copies.csv")}
    assert copies == {("student-cy", "student-cy-copy"), ("student-cy-copy", "student-cy"),
                      ("student-ada", "course league agent"), ("student-bo", "course pair agent")}
    page = written(course, "leaderboard.html")
    assert "identical file to the course agent course league agent" in page


def test_workers_give_the_same_leaderboard_and_a_small_class_plays_in_one_process(course, serial, monkeypatch,
                                                                                   capsys):
    run = tournament(course, "--workers", "4")
    assert run.returncode == 1, run.stderr
    assert "are played in this process" in run.stdout  # a small class: workers would not pay off
    assert written(course) == serial[2]
    status, out = tournament_on_workers(course, monkeypatch, capsys, "--workers", "4")
    assert status == 1 and "on 4 worker processes" in out, out
    assert written(course) == serial[2]


def test_the_swiss_schedule_is_the_same_on_workers_and_its_games_against_baselines_are_the_round_robins(
        course, serial, monkeypatch, capsys):
    baselines = written(course, "baselines.csv")
    run = tournament(course, "--schedule", "swiss")
    assert run.returncode == 1, run.stderr
    assert "(swiss)" in run.stdout
    swiss = written(course)
    assert swiss != serial[2]
    assert written(course, "baselines.csv") == baselines  # fixed opponents on fixed seeds
    games = {row["name"]: int(row["wins"]) + int(row["losses"]) + int(row["draws"]) for row in rows_of(course)}
    assert games["student-ada"] < GAMES * (len(games) - 1)  # not everyone met everyone
    status, out = tournament_on_workers(course, monkeypatch, capsys, "--schedule", "swiss", "--workers", "3")
    assert status == 1 and "on 3 worker processes" in out, out
    assert written(course) == swiss
    tournament(course)  # the round robin's board again, for the tests after this one


def test_a_two_node_ray_cluster_gives_the_same_boards_and_plays_on_both_nodes(course, serial):
    """Both schedules on a real two-node Ray cluster (arena_lib.cluster.LocalCluster over Ray's own
    ray.cluster_utils.Cluster: a head and a worker node, each a raylet of its own with one CPU)."""
    from arena_lib.cluster import LocalCluster

    assert tournament(course, "--schedule", "swiss").returncode == 1
    swiss = written(course)
    boards, runs = {}, {}
    with LocalCluster(nodes=2, cpus_per_node=1, loopback=True) as cluster:
        nodes = {cluster.head_node_id[:8], *(node[:8] for node in cluster.worker_node_ids)}
        for schedule in ("swiss", "round-robin"):
            runs[schedule] = tournament(course, "--ray-address", cluster.address, "--schedule", schedule,
                                        env=tool_env(RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0"))
            boards[schedule] = written(course)
    for schedule, run in runs.items():
        assert run.returncode == 1, run.stderr
        line = next(line for line in run.stdout.splitlines() if line.startswith("played on 2 Ray node(s): "))
        played_on = {part.split()[0] for part in line.split(": ", 1)[1].split(", ")}
        assert played_on == nodes, (line, nodes)  # games on both nodes
    assert boards["swiss"] == swiss
    assert boards["round-robin"] == serial[2]


def test_anonymized_boards_show_no_student_id_and_no_copy_marks(course, serial):
    run = tournament(course, "--anonymize")
    assert run.returncode == 1, run.stderr
    rows = rows_of(course)
    page = written(course, "leaderboard.html")
    for student in [*TRAINED, *UNTRAINED, *BROKEN.values(), "student-link", "student-cy-copy"]:
        assert student not in page and student not in {row["name"] for row in rows}
    assert {"random", "scripted"} <= {row["name"] for row in rows}
    assert [row["rating"] for row in rows] == [row["rating"] for row in serial[1]]
    assert "copy marks" not in rows[0] and "identical file" not in page and "copies.csv" in page
    baseline_rows = [row for row in rows if row["course baseline"]]
    assert [row["name"] for row in baseline_rows] == [row["name"] for row in serial[1] if row["course baseline"]]
    tournament(course)  # the named board again, for the browser test


def test_the_leaderboard_page_works_in_chromium(course, serial):
    with static_page(course / "tournament" / ASSIGNMENT / "leaderboard.html", "tournament-leaderboard.png") as page:
        dialogs = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        rows = page.locator("#leaderboard tbody tr")
        assert rows.count() == len(serial[1])
        assert rows.first.locator("td").nth(1).inner_text() == serial[1][0]["name"]
        assert page.get_by_text("<img src=x onerror=alert(1)>", exact=True).count() == 1  # shown as text
        ratings = page.locator("#ratings img")
        assert page.evaluate("document.querySelector('#ratings img').naturalWidth") > 300
        alt = ratings.get_attribute("alt")
        assert "rating" in alt and f"{len(serial[1])} agents" in alt and "scripted at rank" in alt, alt
        replays = page.locator("figure.replay")
        assert replays.count() == 2
        assert "Replay of" in replays.first.locator("img").get_attribute("alt")
        slider = replays.first.locator("input[type=range]")
        frame = replays.first.locator("img").first
        before = frame.get_attribute("src")
        slider.evaluate("(s) => { s.value = 50; s.dispatchEvent(new Event('input')); }")
        page.wait_for_timeout(300)
        assert frame.get_attribute("src") != before, "the replay does not step"
        assert " ".join(replays.first.locator(".step").inner_text().split()).startswith("step 50:")
        replays.first.locator("button.play").click()
        page.wait_for_timeout(700)
        assert int(slider.input_value()) > 50, "the replay does not play"
        left_out = [line for line in serial[0].stderr.splitlines() if line.startswith("  ")]
        assert page.locator("#left-out li").count() == len(left_out)
        assert page.locator("#copy-marks li").count() == 4
        assert not dialogs, dialogs


def test_results_against_the_baselines_do_not_depend_on_the_class(course, serial, tmp_path):
    """What a grade may come from (baselines.csv): the same for a student alone as in the class."""
    def baseline_rows(folder):
        return {row["student"]: row for row in rows_of(folder, "baselines.csv")}

    in_class = baseline_rows(course)
    assert set(in_class) == {*TRAINED, *UNTRAINED, *map(shown, HOSTILE), "student-cy-copy"}
    for row in in_class.values():
        records = [row[f"against {name}"] for name in ("random", "scripted", *COURSE_AGENTS)]
        assert all(sum(map(int, record.split("-"))) == GAMES for record in records), row
    alone = tmp_path / "alone"
    shutil.copytree(course / "submitted" / "student-ada", alone / "submitted" / "student-ada")
    run = tournament(alone)
    assert run.returncode == 0, run.stderr
    assert baseline_rows(alone)["student-ada"] == in_class["student-ada"]


def test_an_unexpected_error_is_reported_with_its_own_exit_status(tmp_path):
    save(random_agent(1), tmp_path / "submitted" / "ann" / ASSIGNMENT, FILE)
    (tmp_path / "tournament").write_text("a file where the output folder goes")  # writing the page fails
    run = tournament(tmp_path)
    assert "tournament/08_league" in run.stderr  # the failure reached the writing of the results
    assert run.returncode == 3, run.stdout + run.stderr
    assert "unexpected error" in run.stderr and "not a problem of a student's file" in run.stderr
    too_few = tournament(tmp_path, "--no-baselines")
    assert too_few.returncode == 2 and "Fewer than two agents" in too_few.stderr
