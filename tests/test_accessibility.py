"""Every HTML page the project writes passes axe-core's WCAG 2.1 AA rules in Chromium, its
figures with a text alternative: a student's feedback (graded by the test class), the class
report and the tournament's leaderboard."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.browser import axe_violations, launch
from tests.grading_run import WAITS_FOR_THE_CLASS
from tests.notebook_tools import tool_env

pytestmark = [pytest.mark.slow, WAITS_FOR_THE_CLASS]


def violations_of(path) -> list[dict]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page()
            page.goto(path.as_uri())
            found = axe_violations(page)
            images = page.evaluate("[...document.images].filter(i => !(i.getAttribute('alt') || '').trim()).length")
        finally:
            browser.close()
    return found, images


def test_feedback_pages_pass_wcag_21_aa(graded):
    course = graded.course
    for student in ("alice", "ivan", "bob", "attack-stderr-and-script"):
        page = course / "feedback" / student / "01_arena" / "01_rl_and_the_arena.html"
        found, images = violations_of(page)
        assert not found, f"{student}'s feedback: {found}"
        assert images == 0, f"{student}'s feedback has {images} pictures without a text alternative"


def test_the_class_report_passes_wcag_21_aa(graded):
    done = subprocess.run([sys.executable, "-m", "arena_grading", "report", "01_arena"], cwd=graded.course,
                          env=tool_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    found, images = violations_of(graded.course / "reports" / "01_arena" / "report.html")
    assert not found and images == 0, (found, images)


def test_the_leaderboard_passes_wcag_21_aa(tmp_path):
    from tests.agent_files import random_agent, save
    from tests.notebook_tools import make_course

    course = make_course(tmp_path)
    for number, student in enumerate(("ann", "ben", "cleo")):
        save(random_agent(number), course / "submitted" / student / "08_league", "08_league_agent.safetensors")
    done = subprocess.run([sys.executable, "-m", "arena_grading", "tournament", "08_league", "--games", "2"],
                          cwd=course, env=tool_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    found, images = violations_of(course / "tournament" / "08_league" / "leaderboard.html")
    assert not found and images == 0, (found, images)
