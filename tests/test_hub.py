"""The course in a real classroom: JupyterHub (deploy/jupyterhub/) with an instructor and two
students as system users, everything done in Chromium as they would do it.

The instructor releases 01_arena from formgrader (its real page, framed in JupyterLab); one
student fetches it in the Assignments tab, solves the exercise in the notebook, validates and
submits; the other submits a wrong answer and, from their own kernel, fails to read the other's
home, the instructor's solutions and gradebook, and the exchange's submissions. The instructor
collects in formgrader, grades in a JupyterLab terminal with `python -m arena_grading grade`
(the sandbox, as an ordinary user), and releases the feedback; each student fetches theirs and
sees their score and the judge's words, and no hidden test. Then the hub stops, and nothing of
the classroom is left running."""

from __future__ import annotations

import contextlib
import json
import re
import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.hub import classroom, missing_hub_tools
from tests.known_mistakes import MISTAKES
from tests.notebook_tools import ROOT, solution_source

pytestmark = pytest.mark.slow

ASSIGNMENT = "01_arena"
NOTEBOOK = "01_rl_and_the_arena.ipynb"
ARTIFACTS = ROOT / "test-artifacts" / "hub"
VIEWPORT = {"width": 1400, "height": 900}
SPAWN_TIMEOUT = 150_000  # ms: a single-user server imports JupyterLab and nbgrader on a busy machine
WRONG = MISTAKES[(ASSIGNMENT, "ex1_run_episode")][1]  # adds up the other agent's rewards


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    print(f"\n[hub] screenshot: {ARTIFACTS / name}.png")


def log_in(browser, room, user: str):
    """A browser context of the user's own (cookies), logged in, on their JupyterLab."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.on("pageerror", lambda error: print(f"[{user}] page error: {error}"))
    page.goto(f"{room.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", room.passwords[user])
    page.click("#login_submit")
    page.wait_for_url(re.compile(rf"/user/{user}/lab"), timeout=SPAWN_TIMEOUT)
    expect(page.locator("#jp-main-dock-panel")).to_be_visible(timeout=SPAWN_TIMEOUT)
    # JupyterLab asks, once, about its news; the question covers part of the page.
    news = page.get_by_role("button", name="No", exact=True)
    with contextlib.suppress(PlaywrightTimeout):
        news.click(timeout=5000)
    return page


def open_from_nbgrader_menu(page, item: str) -> None:
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    page.get_by_role("menuitem", name=item, exact=True).click()


def formgrader(page):
    """formgrader's page, framed in the instructor's JupyterLab, once its table is there."""
    from playwright.sync_api import expect

    open_from_nbgrader_menu(page, "Formgrader")
    frame = page.frame_locator("iframe[src*='formgrader']").first
    expect(frame.get_by_text("Manage Assignments").first).to_be_visible(timeout=60_000)
    expect(frame.locator(f"tr:has-text('{ASSIGNMENT}')").first).to_be_visible(timeout=60_000)
    return frame


def dismiss_dialogs(frame) -> bool:
    """Close formgrader's dialog, if one shows (its log can reach over its button: click it in the
    page). True if one was closed."""
    ok = frame.locator(".modal.in .modal-footer button:has-text('OK')")
    if ok.count() and ok.first.is_visible():
        ok.first.evaluate("button => button.click()")
        time.sleep(1)  # its fade-out
        return True
    return False


def formgrader_action(page, frame, column: str, done) -> None:
    """Click the assignment's button in a column of formgrader's table; wait until ``done(row)``
    and its dialog, if any, is closed."""
    dismiss_dialogs(frame)
    row = frame.locator(f"tr:has-text('{ASSIGNMENT}')").first
    row.locator(f"td.{column} a").click()
    deadline = time.monotonic() + 120
    while dismiss_dialogs(frame) or not done(row):
        if time.monotonic() > deadline:
            screenshot(page, f"formgrader-{column}-stuck")
            pytest.fail(f"formgrader's {column} did not finish: {row.inner_text()}")
        time.sleep(1)
    for _ in range(5):  # its dialog may come a moment after the table changed
        if dismiss_dialogs(frame):
            break
        time.sleep(1)


def assignment_list(page):
    from playwright.sync_api import expect

    open_from_nbgrader_menu(page, "Assignment List")
    panel = page.locator("#released_assignments_list").locator("xpath=ancestor::*[contains(@class, 'lm-Widget')][1]")
    expect(page.locator("#released_assignments_list")).to_be_visible(timeout=60_000)
    return panel


def click_and_wait(page, button_text: str, where: str, done_text: str, timeout: float = 120_000) -> None:
    from playwright.sync_api import expect

    page.locator(where).get_by_role("button", name=button_text, exact=True).first.click()
    expect(page.locator(where).get_by_text(done_text).first).to_be_visible(timeout=timeout)


def open_notebook(page, room, user: str):
    from playwright.sync_api import expect

    page.goto(f"{room.user_url(user)}/lab/tree/{ASSIGNMENT}/{NOTEBOOK}")
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    expect(panel).to_have_count(1, timeout=60_000)
    expect(panel.locator(".jp-Notebook-ExecutionIndicator")).to_have_attribute("data-status", "idle", timeout=90_000)
    return panel


def write_exercise(page, panel, source: str) -> None:
    """Replace the exercise cell's stub with ``source``, as pasted text (no auto-indent), and save."""
    cell = panel.locator(".jp-CodeCell:has-text('raise NotImplementedError()')").first
    cell.scroll_into_view_if_needed()
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(source)
    page.keyboard.press("Escape")
    page.keyboard.press("Control+s")
    page.wait_for_timeout(1500)


def run_new_cell(page, panel, code: str, marker: str, timeout: float = 120_000) -> str:
    """Add a cell below the first (in view once the notebook opens: JupyterLab renders only the
    cells in view), run it, return its output once ``marker`` is in it."""
    from playwright.sync_api import expect

    panel.locator(".jp-Notebook-cell").first.locator(".jp-InputPrompt").click()
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.keyboard.insert_text(code)
    page.keyboard.press("Shift+Enter")
    output = panel.locator(f".jp-OutputArea-output:has-text('{marker}')").first
    expect(output).to_be_visible(timeout=timeout)
    return output.inner_text()


PROBE = """import json, os
found = {{}}
for what, path in {paths!r}.items():
    try:
        os.listdir(path) if os.path.isdir(path) else open(path, "rb").read(1)
        found[what] = "read"
    except PermissionError:
        found[what] = "denied"
    except OSError as error:
        found[what] = type(error).__name__
print("PROBED", json.dumps(found))
"""


@pytest.mark.timeout(1500)
def test_a_class_on_jupyterhub_in_the_browser(tmp_path):
    why = missing_hub_tools()
    if why:
        pytest.skip(why)
    from playwright.sync_api import expect, sync_playwright

    from tests.browser import launch

    started = time.perf_counter()
    with classroom(tmp_path) as room, sync_playwright() as playwright:
        browser = launch(playwright)
        ann, ben = room.students
        try:
            # The instructor releases the assignment from formgrader, its real page in a frame.
            prof = log_in(browser, room, room.instructor)
            frame = formgrader(prof)
            screenshot(prof, "1-formgrader")
            formgrader_action(prof, frame, "assign", lambda row: "Please wait" not in row.inner_text()
                              and row.locator("td.release a").count() > 0)
            formgrader_action(prof, frame, "release", lambda row: "released" in row.inner_text())

            # ann fetches, solves, validates and submits in the Assignments tab.
            page = log_in(browser, room, ann)
            assignment_list(page)
            click_and_wait(page, "Fetch", "#released_assignments_list, #fetched_assignments_list", "Submit")
            panel = open_notebook(page, room, ann)
            write_exercise(page, panel, solution_source(ASSIGNMENT, "ex1_run_episode"))
            panel.get_by_role("button", name="Validate").first.click()
            expect(page.get_by_text("Success! Your notebook passes all the tests.")).to_be_visible(timeout=180_000)
            screenshot(page, "2-ann-validated")
            page.locator(".jp-Dialog-button.jp-mod-accept").click()
            assignment_list(page)
            click_and_wait(page, "Submit", "#fetched_assignments_list", ASSIGNMENT, timeout=60_000)
            expect(page.locator("#submitted_assignments_list")).to_contain_text(ASSIGNMENT, timeout=60_000)

            # ben submits a wrong answer, then tries to look where a student may not.
            page_b = log_in(browser, room, ben)
            assignment_list(page_b)
            click_and_wait(page_b, "Fetch", "#released_assignments_list, #fetched_assignments_list", "Submit")
            panel_b = open_notebook(page_b, room, ben)
            write_exercise(page_b, panel_b, WRONG.apply(solution_source(ASSIGNMENT, "ex1_run_episode")))
            assignment_list(page_b)
            click_and_wait(page_b, "Submit", "#fetched_assignments_list", ASSIGNMENT, timeout=60_000)
            expect(page_b.locator("#submitted_assignments_list")).to_contain_text(ASSIGNMENT, timeout=60_000)
            panel_b = open_notebook(page_b, room, ben)
            paths = {"ann's home": str(room.home(ann)), "the solutions": str(room.course / "solutions"),
                     "the gradebook": str(room.course / "gradebook.db"),
                     "the submissions in the exchange": str(room.exchange / "hands-on-rllib" / "inbound")}
            probed = run_new_cell(page_b, panel_b, PROBE.format(paths=paths), "PROBED")
            found = json.loads(probed.split("PROBED", 1)[1].strip().splitlines()[0])
            print(f"\n[hub] {ben}'s kernel: {found}")
            assert found == dict.fromkeys(paths, "denied"), found

            # The instructor collects, grades in a terminal (the sandbox, as an ordinary user)
            # and releases the feedback.
            frame = formgrader(prof)
            formgrader_action(prof, frame, "collect", lambda row: row.locator("td.num-submissions").inner_text().strip() == "2")
            done = room.home(room.instructor) / ".grading-done"
            prof.locator("[data-command='launcher:create']").first.click()  # the file browser's "+"
            prof.locator(".jp-LauncherCard:has-text('Terminal')").last.click()
            terminal = prof.locator(".jp-Terminal").last
            expect(terminal).to_be_visible(timeout=60_000)
            terminal.click()
            prof.keyboard.type(f"source {room_env_bin()}/activate && cd {room.course} && "
                               f"python -m arena_grading grade {ASSIGNMENT} > grading.log 2>&1; echo $? > {done}\n")
            deadline = time.monotonic() + 600
            while not done.exists() and time.monotonic() < deadline:
                time.sleep(2)
            log = (room.course / "grading.log").read_text() if (room.course / "grading.log").exists() else ""
            screenshot(prof, "3-terminal")
            assert done.exists() and done.read_text().strip() == "0", f"grading did not end well:\n{log}"
            assert f"graded 2 of 2 submissions of {ASSIGNMENT}" in log, log
            frame = formgrader(prof)
            formgrader_action(prof, frame, "release-feedback",
                              lambda row: "Please wait" not in row.inner_text())
            screenshot(prof, "4-feedback-released")

            # Each student fetches their feedback and reads it: the score and the judge's words.
            for user, user_page, score in ((ann, page, "3.0 / 3.0"), (ben, page_b, "0.0 / 3.0")):
                assignment_list(user_page)
                click_and_wait(user_page, "Fetch Feedback", "#submitted_assignments_list", "view feedback")
                (feedback,) = (room.home(user) / ASSIGNMENT / "feedback").rglob("*.html")
                relative = feedback.relative_to(room.home(user))
                user_page.goto(f"{room.user_url(user)}/files/{relative}")
                text = user_page.locator("body").inner_text()
                screenshot(user_page, f"5-{user[:3]}-feedback")
                assert f"Score: {score}" in text, text[:2000]
                assert "BEGIN HIDDEN TESTS" not in text and "report_answers(" not in text, "a hidden test shows"
            assert WRONG.says in text, text[-3000:]  # ben's self-check, in the test cell, says what is wrong
        finally:
            browser.close()
        running_during = len(room.processes())
    # After the hub stopped: nothing of the classroom runs (servers, kernels, sandboxes, Ray, proxy).
    print(f"\n[hub] the classroom took {time.perf_counter() - started:.0f} s; {running_during} processes of its "
          "users ran before the hub stopped")
    assert not room.left_running, f"left running after the hub stopped: {room.left_running}"


def room_env_bin() -> str:
    import sys
    from pathlib import Path

    return str(Path(sys.prefix) / "bin")
