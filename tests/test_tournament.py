"""The class tournament (python -m arena_grading tournament) on a synthetic class: two trained
agents (the course's own files, trained with RLlib), two untrained ones, and a student for each
way an agent file can be broken. The valid ones are rated in the expected order, each broken one
is listed with its reason, the ratings are the same serially, on 4 workers and on a two-node Ray
cluster, and the leaderboard page works in Chromium."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys

import numpy as np
import pytest

from arena_lib.opponents import COURSE_AGENTS, DATA
from tests.agent_files import broken_files, random_agent, save
from tests.browser import static_page
from tests.notebook_tools import tool_env

pytestmark = pytest.mark.slow

ASSIGNMENT = "08_league"
FILE = f"{ASSIGNMENT}_agent.safetensors"
TRAINED = {"student-ada": "course league agent", "student-bo": "course pair agent"}
UNTRAINED = ("student-cy", "student-dee")
BROKEN = {"missing": "student-eve", "nan": "student-fay", "shapes": "student-gus", "huge": "student-hal",
          "pickle": "student-ivy"}
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
    cases = broken_files(tmp_path_factory.mktemp("broken"), FILE)
    for case, student in BROKEN.items():
        path, _ = cases[case]
        (submitted / student / ASSIGNMENT).mkdir(parents=True)
        if path.exists():
            shutil.move(path, submitted / student / ASSIGNMENT / FILE)
    return course


def tournament(course, *args, env=None):
    return subprocess.run([sys.executable, "-m", "arena_grading", "tournament", ASSIGNMENT, "--games", str(GAMES),
                           *args], cwd=course, env=env or tool_env(), capture_output=True, text=True, timeout=600)


def leaderboard(course, run=None) -> list[dict]:
    board = course / "tournament" / ASSIGNMENT / "leaderboard.csv"
    assert board.exists(), f"no leaderboard written:\n{run.stdout}{run.stderr}" if run else "no leaderboard written"
    with open(course / "tournament" / ASSIGNMENT / "leaderboard.csv") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def serial(course):
    run = tournament(course)
    return run, leaderboard(course, run), (course / "tournament" / ASSIGNMENT / "leaderboard.csv").read_text()


def test_valid_agents_are_rated_in_the_expected_order_and_broken_files_listed(serial):
    run, rows, _ = serial
    assert run.returncode == 1, run.stdout + run.stderr  # someone was left out
    names = [row["name"] for row in rows]
    assert sorted(names) == sorted([*TRAINED, *UNTRAINED, "random", "scripted", *COURSE_AGENTS]), names
    rank = {row["name"]: int(row["rank"]) for row in rows}
    for trained in TRAINED:
        for weak in (*UNTRAINED, "random"):
            assert rank[trained] < rank[weak], f"{trained} ranks below {weak}: {names}"
    for row in rows:
        assert int(row["wins"]) + int(row["losses"]) + int(row["draws"]) == GAMES * (len(rows) - 1)
        assert float(row["sigma"]) > 0 and np.isclose(float(row["rating"]), float(row["mu"]) - 3 * float(row["sigma"]),
                                                     atol=2e-3)
    reasons = {case: reason for case, (_, reason) in broken_files_reasons().items()}
    for case, student in BROKEN.items():
        line = next((line for line in run.stderr.splitlines() if line.strip().startswith(student + ":")), None)
        assert line is not None, f"{student} ({case}) is not listed as left out:\n{run.stderr}"
        assert reasons[case] in line, line
    print(f"\n{run.stdout}{run.stderr}")


def broken_files_reasons():
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        return broken_files(Path(folder), FILE)


def test_four_workers_give_the_same_leaderboard(course, serial):
    run = tournament(course, "--workers", "4")
    assert run.returncode == 1, run.stderr
    assert (course / "tournament" / ASSIGNMENT / "leaderboard.csv").read_text() == serial[2]


def test_a_two_node_ray_cluster_gives_the_same_leaderboard(course, serial):
    from arena_lib.cluster import LocalCluster

    with LocalCluster(nodes=2, cpus_per_node=1, loopback=True) as cluster:
        run = tournament(course, "--ray-address", cluster.address,
                         env=tool_env(RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0"))
    assert run.returncode == 1, run.stderr
    assert "played on 2 Ray node(s)" in run.stdout, run.stdout
    assert (course / "tournament" / ASSIGNMENT / "leaderboard.csv").read_text() == serial[2]


def test_anonymized_boards_show_no_student_id(course, serial):
    run = tournament(course, "--anonymize")
    assert run.returncode == 1, run.stderr
    rows = leaderboard(course)
    page = (course / "tournament" / ASSIGNMENT / "leaderboard.html").read_text()
    for student in [*TRAINED, *UNTRAINED, *BROKEN.values()]:
        assert student not in page and student not in {row["name"] for row in rows}
    assert {"random", "scripted"} <= {row["name"] for row in rows}
    assert [row["rating"] for row in rows] == [row["rating"] for row in serial[1]]
    tournament(course)  # the named board again, for the browser test


def test_the_leaderboard_page_works_in_chromium(course, serial):
    with static_page(course / "tournament" / ASSIGNMENT / "leaderboard.html", "tournament-leaderboard.png") as page:
        rows = page.locator("#leaderboard tbody tr")
        assert rows.count() == len(serial[1])
        assert rows.first.locator("td").nth(1).inner_text() == serial[1][0]["name"]
        assert page.evaluate("document.querySelector('img[alt=ratings]').naturalWidth") > 300
        replays = page.locator(".replay")
        assert replays.count() == 2
        slider = replays.first.locator("input[type=range]")
        frame = replays.first.locator("img").first
        before = frame.get_attribute("src")
        slider.evaluate("(s) => { s.value = 50; s.dispatchEvent(new Event('input')); }")
        page.wait_for_timeout(300)
        assert frame.get_attribute("src") != before, "the replay does not step"
        assert page.locator("#left-out li").count() == len(BROKEN)


def test_results_against_the_baselines_do_not_depend_on_the_class(course, serial, tmp_path):
    """What a grade may come from (baselines.csv): the same for a student alone as in the class."""
    def baseline_rows(folder):
        with open(folder / "tournament" / ASSIGNMENT / "baselines.csv") as f:
            return {row["student"]: row for row in csv.DictReader(f)}

    in_class = baseline_rows(course)
    assert set(in_class) == {*TRAINED, *UNTRAINED}
    for row in in_class.values():
        records = [row[f"against {name}"] for name in ("random", "scripted", *COURSE_AGENTS)]
        assert all(sum(map(int, record.split("-"))) == GAMES for record in records), row
    alone = tmp_path / "alone"
    shutil.copytree(course / "submitted" / "student-ada", alone / "submitted" / "student-ada")
    run = tournament(alone)
    assert run.returncode == 0, run.stderr
    assert baseline_rows(alone)["student-ada"] == in_class["student-ada"]
