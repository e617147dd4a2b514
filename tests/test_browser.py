"""The course in a real browser: JupyterLab runs a student and a solution notebook through
its UI (Run ▸ Run All Cells), as a student would, in Debian's Chromium driven by Playwright.

Needs `apt-get install -y chromium` and `pip install playwright` (never `playwright install`:
the test drives /usr/bin/chromium). Screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import urllib.error
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest

from tests import browser as lab_browser
from tests.browser import (
    ARTIFACTS,
    CHROMIUM,
    VIEWPORT,
    LabTimeout,
    axe_elements,
    cells,
    code_cells,
    images_without_text,
    lab_settings_env,
    open_notebook,
    restored_window,
    set_window_height,
    show_whole_notebook,
    shut_down_kernels,
    stderr_outputs,
    stop_server,
)
from tests.jupyterlab_server import (
    configure_as_student,
    free_port,
    lab_command,
    layered_environment,
    path_first,
    wait_until_up,
)
from tests.notebook_tools import ROOT, SOLUTIONS, STUDENT, read, short_run, tool_env

STUDENT_NOTEBOOK = ROOT / "notebooks" / "01_arena" / "01_rl_and_the_arena.ipynb"
SOLUTION_NOTEBOOK = ROOT / "solutions" / "04_evaluation" / "04_evaluate_save_restore.ipynb"

SERVER_START_TIMEOUT = 120  # s
WIDGET_TIMEOUT = 60_000  # ms

# JupyterLab settings of our own: no "get Jupyter news?" toast over the notebook, and no
# empty screen after the last cell (it would end up in the full-notebook screenshots).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"scrollPastEnd": False},
}

COURSE_NOTEBOOKS = [*SOLUTIONS, *STUDENT]

# The player's caption after the first frame: "step 3   agent1: +1.0 (total 3.0)   agent2: ..."
LATER_STEP = re.compile(r"^step [1-9]\d*\s")


# -- setup: tools, server, browser --------------------------------------------------------------

def missing_browser_tools() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return (
            "playwright is not installed: run `.venv/bin/pip install playwright` "
            "(but not `playwright install`: the test uses Debian's /usr/bin/chromium)"
        )
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: run `apt-get install -y chromium`"
    return None


def require_browser_tools():
    """CI installs both; a missing one is a broken setup, not a reason to skip. The fixtures
    yield None then, so that the test itself fails (not its setup) with this message."""
    message = missing_browser_tools()
    if message:
        pytest.fail(message)


def wait_for_server(process, url: str, token: str, log: Path):
    try:
        wait_until_up(process, url, token, SERVER_START_TIMEOUT)
    except RuntimeError as error:
        pytest.fail(f"{error}:\n{log.read_text()[-5000:]}")


@contextmanager
def lab_server(folder: Path, root: Path, settings: dict, python=None, extra: list[str] = ()):
    """A JupyterLab server on ``root`` with the user settings ``settings`` (from ``python``'s
    environment, this one's by default; ``extra``: more options): {"url", "token", "log", "root"}."""
    folder.mkdir(parents=True, exist_ok=True)
    port, token = free_port(), secrets.token_hex(16)
    command = [*lab_command(root, port, token, *([python] if python else [])), *extra]
    env = tool_env(**lab_settings_env(folder, settings))
    if python:
        env = path_first(env, python)
    log = folder / "server.log"
    with log.open("w") as log_file:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_server(process, url, token, log)
        yield {"url": url, "token": token, "log": log, "root": root}
    finally:
        stop_server(process)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server in a temporary folder holding the two notebooks and the course config."""
    if missing_browser_tools():
        yield None
        return
    folder = tmp_path_factory.mktemp("lab")
    root = folder / "root"
    root.mkdir()
    for path in (STUDENT_NOTEBOOK, ROOT / "nbgrader_config.py"):
        shutil.copy(path, root)
    # The solution notebook with its short run's settings (2 training iterations), to keep this test fast.
    nbformat.write(short_run(SOLUTION_NOTEBOOK), root / SOLUTION_NOTEBOOK.name)
    for path in TO_READ:  # as they are in the repository, for the accessibility test
        (root / "course" / path.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, root / "course" / path.relative_to(ROOT))
    # The page's `window.jupyterapp`: the accessibility test opens notebook after notebook in one page.
    with lab_server(folder, root, LAB_SETTINGS, extra=["--LabApp.expose_app_in_browser=True"]) as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    if missing_browser_tools():
        yield None
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = lab_browser.launch(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, lab):
    """A fresh tab (JavaScript errors are printed); the notebook's kernel is shut down after it."""
    if browser is None:
        yield None
        return
    page = browser.new_page(viewport=VIEWPORT)
    page.on("pageerror", lambda error: print(f"[browser] page error: {error}"))
    yield page
    page.close()
    shut_down_kernels(lab)


@pytest.fixture(scope="module")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


# -- driving JupyterLab -------------------------------------------------------------------------

def run_from_menu(page, panel, lab, item: str, first_cell: int, timeout: float):
    """Choose Run ▸ <item> and wait until the cells it runs, from ``first_cell`` on, are done."""
    try:
        lab_browser.run_from_menu(page, panel, item, first_cell, timeout)
    except LabTimeout as error:
        fail_with_screenshot(page, lab, str(error))


def fail_with_screenshot(page, lab, message: str):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    picture = ARTIFACTS / "failure.png"
    page.screenshot(path=picture)
    pytest.fail(f"{message} (screenshot: {picture}). Server log:\n{lab['log'].read_text()[-3000:]}")


def cell(panel, index: int):
    return panel.locator(".jp-Notebook-cell").nth(index)


def select_cell(panel, index: int):
    """Select a cell in command mode by clicking its prompt, as a student would."""
    cell(panel, index).locator(".jp-InputPrompt").click()


def has_run(rendered_cell: dict) -> bool:
    return any(ch.isdigit() for ch in rendered_cell["prompt"])


def first_code_cell(path: Path, text: str = "", after: int = -1) -> int:
    """Index of the first code cell after ``after`` whose source contains ``text``."""
    for index, nb_cell in enumerate(read(path).cells):
        if index > after and nb_cell.cell_type == "code" and text in nb_cell.source:
            return index
    raise AssertionError(f"no code cell with {text!r} after cell {after} in {path.name}")


def screenshot_notebook(page, panel, path: Path):
    """The whole notebook in one picture, in a window as tall as the notebook."""
    with restored_window(page):
        show_whole_notebook(page, panel)
        page.screenshot(path=path, full_page=True)


def check_episode_player(page, panel, cell_index: int, screenshot: Path, agents_move: bool):
    """The player (Play, Back and Forward buttons, the step, caption, frame) renders, and Play
    shows later steps: the browser moves the step on, the kernel answers with the caption, the
    frame's text alternative (the step, where the agents are) and, when the agents move
    (``agents_move``), a different picture."""
    from playwright.sync_api import expect

    player = cell(panel, cell_index).locator(".jp-OutputArea-output .widget-vbox").filter(
        has=page.get_by_role("button", name="Play")
    )
    expect(player).to_have_count(1, timeout=WIDGET_TIMEOUT)
    play_button = player.get_by_role("button", name="Play", exact=True)
    step = player.get_by_role("spinbutton", name="step")
    caption = player.locator(":scope > .widget-label")
    frame = player.locator(":scope > .widget-html img")
    for part in (play_button, step, caption, frame):
        expect(part).to_be_visible(timeout=WIDGET_TIMEOUT)
    expect(frame).to_have_attribute("src", re.compile("."), timeout=WIDGET_TIMEOUT)
    expect(frame).to_have_attribute("alt", re.compile(r"^The \d+ x \d+ arena at step 0 of \d+: agent1 .* at row"))
    expect(caption).to_have_text(re.compile(r"^step 0\b"))
    expect(player.locator('[title="null"], [title="undefined"]')).to_have_count(0)  # no empty tooltips
    first_frame = frame.get_attribute("src")

    play_button.click()
    expect(caption).to_have_text(LATER_STEP, timeout=WIDGET_TIMEOUT)
    expect(step).not_to_have_value("0", timeout=WIDGET_TIMEOUT)
    expect(frame).to_have_attribute("alt", re.compile(r"^The \d+ x \d+ arena at step [1-9]"), timeout=WIDGET_TIMEOUT)
    if agents_move:
        expect(frame).not_to_have_attribute("src", first_frame, timeout=WIDGET_TIMEOUT)
    # The frame is drawn at full output width, taller than a laptop window: show all of it.
    with restored_window(page):
        set_window_height(page, panel, int(player.bounding_box()["height"]) + 40)
        player.scroll_into_view_if_needed()
        player.screenshot(path=screenshot)


def report_screenshots(record_property, capsys, *paths: Path):
    for path in paths:
        record_property("screenshot", str(path))
    with capsys.disabled():
        for path in paths:
            print(f"\n[browser] screenshot: {path}")


# -- the tests ----------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.timeout(900)
def test_student_notebook_stops_at_the_first_exercise(page, lab, artifacts, record_property, capsys):
    require_browser_tools()
    path = STUDENT_NOTEBOOK
    nb = read(path)
    exercise = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("solution"))
    caller = first_code_cell(path, after=exercise)  # the stub only defines; this cell calls it
    code = code_cells(path)

    panel = open_notebook(page, lab, path)
    run_from_menu(page, panel, lab, "Run All Cells", first_cell=code[0], timeout=300)
    rendered = cells(panel)
    errors = stderr_outputs(rendered)
    assert errors, "Run All ran through the exercise stub without an error"
    index, traceback = errors[0]
    assert index == caller, f"first error (or stderr output) in cell {index}, expected cell {caller}:\n{traceback}"
    assert "Traceback" in traceback and "NotImplementedError" in traceback, traceback
    assert all(has_run(rendered[i]) for i in code if i <= caller), "a cell before the exercise did not run"
    assert not any(has_run(rendered[i]) for i in code if i > caller), "Run All went on after the error"

    # The player comes after the exercise but does not need it: run that part as a student
    # who skips the exercise would (select its cell, Run ▸ Run Selected Cell and All Below).
    player_cell = first_code_cell(path, "episode_player(", after=caller)
    select_cell(panel, player_cell)
    run_from_menu(page, panel, lab, "Run Selected Cell and All Below", first_cell=player_cell, timeout=300)
    rendered = cells(panel)
    assert all(has_run(rendered[i]) for i in code if i >= player_cell), "a cell below the player did not run"
    assert stderr_outputs(rendered, start=player_cell) == [], "errors or stderr output below the exercise"

    player_png = artifacts / "01_rl_and_the_arena-player.png"
    check_episode_player(page, panel, player_cell, player_png, agents_move=True)  # random agents
    notebook_png = artifacts / "01_rl_and_the_arena.png"
    screenshot_notebook(page, panel, notebook_png)
    report_screenshots(record_property, capsys, notebook_png, player_png)
    # Run, with its figures, player and animation: the course's content reads well (see below).
    assert_course_content_reads_well(page, panel, "01_rl_and_the_arena.ipynb, run", capsys)


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_solution_notebook_trains_and_plays_without_errors(page, lab, artifacts, record_property, capsys):
    require_browser_tools()
    path = lab["root"] / SOLUTION_NOTEBOOK.name  # set for a short run
    code = code_cells(path)

    panel = open_notebook(page, lab, path)
    # Ray, 2 PPO iterations, evaluation, save and restore: about a minute alone on 2 cores,
    # much longer when other tests share the machine.
    run_from_menu(page, panel, lab, "Run All Cells", first_cell=code[0], timeout=1200)
    rendered = cells(panel)
    assert stderr_outputs(rendered) == [], "errors or stderr output in the solution notebook"
    assert [i for i in code if not has_run(rendered[i])] == [], "cells that did not run"

    training = first_code_cell(path, "plot_learning_curve(")
    curve = cell(panel, training).locator('.jp-OutputArea-output[data-mime-type="text/html"] img[alt^="Figure: "]')
    assert curve.count() == 1, f"no learning curve in cell {training}: {rendered[training]['outputs']}"

    notebook_png = artifacts / "04_evaluate_save_restore.png"
    screenshot_notebook(page, panel, notebook_png)
    player_png = artifacts / "04_evaluate_save_restore-player.png"
    # Two PPO iterations leave greedy agents that may walk into a wall and stay there from the
    # first step (it happened in CI): the frame may never change, the caption always does.
    check_episode_player(page, panel, first_code_cell(path, "episode_player("), player_png, agents_move=False)
    report_screenshots(record_property, capsys, notebook_png, player_png)
    assert_course_content_reads_well(page, panel, f"{SOLUTION_NOTEBOOK.name}, run", capsys)


# -- a student's JupyterLab ---------------------------------------------------------------------

# nbgrader's tools a user can find in JupyterLab by name, in the command palette (the Nbgrader
# menu's items and its sidebar's); none of them is a student's on Binder or in the student release.
INSTRUCTOR_COMMANDS = ("Formgrader", "Create assignment", "Assignment List", "Course List")


def tools_in_sight(page, lab, path: Path) -> dict:
    """What a user of this JupyterLab sees, with the notebook ``path`` open (and its kernel idle, by
    when the news pop-up, if any, has come): which of nbgrader's tools, the news pop-up."""
    panel = open_notebook(page, lab, path)
    seen = {
        "the news pop-up": page.locator(".Toastify__toast").filter(has_text="Jupyter news").count() > 0,
        "the Nbgrader menu": page.get_by_role("menuitem", name="Nbgrader", exact=True).count() > 0,
        "the Create Assignment sidebar": page.locator('.jp-SideBar .lm-TabBar-tab[title*="Create Assignment"]').count() > 0,
        "the Validate button": panel.get_by_role("button", name="Validate", exact=True).count() > 0,
    }
    page.keyboard.press("Control+Shift+C")  # the command palette
    search = page.locator("#command-palette input")
    for command in INSTRUCTOR_COMMANDS:
        search.fill(command)
        labels = page.locator("#command-palette .lm-CommandPalette-itemLabel").all_inner_texts()
        seen[f"{command} in the command palette"] = any(command.lower() in label.lower() for label in labels)
    page.keyboard.press("Escape")
    try:
        lab_browser.lab_request(lab, "/formgrader")
        seen["formgrader's page on the server"] = True
    except urllib.error.HTTPError as error:
        assert error.code == 404, error
        seen["formgrader's page on the server"] = False
    return seen


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_students_jupyterlab_shows_a_students_tools(browser, tmp_path):
    """Binder's postBuild and the student release set up a student's JupyterLab with
    labsettings/student-lab.sh. The same environment's JupyterLab, first as installed (as an
    instructor has it: the test sees each tool where it is), then after the script."""
    require_browser_tools()
    python = layered_environment(tmp_path / "environment")  # the script writes here, not into .venv
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(STUDENT_NOTEBOOK, root)
    seen = {}
    for who in ("instructor", "student"):
        if who == "student":
            configure_as_student(python)
        # No settings of the test's own: the news pop-up is JupyterLab's default.
        with lab_server(tmp_path / who, root, {}, python) as lab:
            page = browser.new_page(viewport=VIEWPORT)
            try:
                seen[who] = tools_in_sight(page, lab, root / STUDENT_NOTEBOOK.name)
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=ARTIFACTS / f"jupyterlab-{who}.png")
            finally:
                page.close()
                shut_down_kernels(lab)
    assert all(seen["instructor"].values()), f"an instructor's JupyterLab, as installed: {seen['instructor']}"
    assert seen["student"] == {what: what == "the Validate button" for what in seen["instructor"]}, seen["student"]


# -- accessibility ------------------------------------------------------------------------------

NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"


def markdown_of(path: Path) -> list[str]:
    return [c.source for c in read(path).cells if c.cell_type == "markdown"]


# Every solution notebook, and each student version whose markdown is not its solution's (nbgrader
# leaves markdown as it is, so none today: the course's content of a student version, unrun, is its
# markdown). The tests above check the student notebook 01 and the solution 04 run, outputs and all.
TO_READ = [*SOLUTIONS, *(path for path in STUDENT
                         if markdown_of(path) != markdown_of(ROOT / "solutions" / path.relative_to(ROOT / "notebooks")))]


def assert_course_content_reads_well(page, panel, name: str, capsys, only_course: bool = False) -> None:
    """axe-core's WCAG 2.1 AA rules inside the notebook shown, the whole of it in sight: no element
    of the course's own content (its rendered markdown and its outputs) breaks one, and every
    image there has a text alternative. What JupyterLab's own parts break is printed (and listed
    in docs/development.md), not asserted: the course cannot change it (``only_course``: not
    looked at)."""
    with restored_window(page):
        show_whole_notebook(page, panel)
        found = axe_elements(page, NOTEBOOK, only_course=only_course)
        without_text = images_without_text(page, NOTEBOOK)
    ours = [f"{e['id']} ({e['impact']}): {e['help']}: {e['html']}" for e in found if e["course"]]
    assert not ours, f"{name}: the course's content breaks WCAG 2.1 AA rules:\n" + "\n".join(ours)
    assert not without_text, f"{name}: images without a text alternative: {without_text}"
    if not only_course:
        jupyterlab = {}  # each rule JupyterLab's own parts break: the first such element
        for e in found:
            if not e["course"]:
                jupyterlab.setdefault(f"{e['id']} ({e['impact']}): {e['help']}", e["html"][:120])
        with capsys.disabled():
            print(f"\n[axe] {name}: the course's content passes; JupyterLab's own parts break:"
                  + ("".join(f"\n  {rule}, e.g. {html}" for rule, html in sorted(jupyterlab.items())) or " nothing"))


def open_in_this_page(page, lab, path: Path, kernel_id: str):
    """Open ``path`` (under the server's root) in the JupyterLab already loaded in ``page``, the
    tabs before it closed, with the kernel ``kernel_id`` (running already: no kernel starts for
    it); return its panel once all its cells are shown, in a window as tall as the notebook."""
    from playwright.sync_api import expect

    # Closed without a question (a notebook opened may count as changed: nothing is saved here).
    page.evaluate("() => [...window.jupyterapp.shell.widgets('main')].forEach(widget => widget.dispose())")
    page.evaluate("([path, id]) => { window.jupyterapp.commands.execute('docmanager:open', {path, kernel: {id}}); }",
                  [path.relative_to(lab["root"]).as_posix(), kernel_id])
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    expect(panel).to_have_count(1, timeout=60_000)
    # JupyterLab adds the cells out of sight when the browser is idle, those in sight at once:
    # so the window grows with the notebook until every cell is there.
    nb = read(path)
    for _ in range(40):
        show_whole_notebook(page, panel)
        if panel.locator(".jp-Notebook-cell").count() == len(nb.cells):
            break
        page.wait_for_timeout(100)
    expect(panel.locator(".jp-Notebook-cell")).to_have_count(len(nb.cells), timeout=60_000)
    markdown = sum(c.cell_type == "markdown" for c in nb.cells)
    expect(panel.locator(".jp-MarkdownCell .jp-RenderedMarkdown")).to_have_count(markdown, timeout=60_000)
    return panel


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_course_notebook_reads_well_in_jupyterlab(page, lab, capsys):
    """Each notebook as it opens in JupyterLab, unrun (TO_READ says which): its markdown."""
    require_browser_tools()
    first = Path("course") / TO_READ[0].relative_to(ROOT)
    # JupyterLab and one kernel, in a workspace no other test opens (whose tabs would come back).
    open_notebook(page, lab, lab["root"] / first, workspace="reading")
    (kernel,) = [s["kernel"]["id"] for s in lab_browser.lab_request(lab, "/api/sessions") if s["path"] == first.as_posix()]
    for path in TO_READ:
        with restored_window(page):
            panel = open_in_this_page(page, lab, lab["root"] / "course" / path.relative_to(ROOT), kernel)
            assert_course_content_reads_well(page, panel, str(path.relative_to(ROOT)), capsys, only_course=True)


def test_every_markdown_image_has_alt_text():
    """Markdown images (``![alt](src)``, ``<img ...>``) in the course's notebooks say what they show."""
    missing = []
    for path in COURSE_NOTEBOOKS:
        for index, nb_cell in enumerate(read(path).cells):
            if nb_cell.cell_type != "markdown":
                continue
            missing += [f"{path.relative_to(ROOT)} cell {index}: {m}" for m in re.findall(r"!\[\s*\]\([^)]*\)", nb_cell.source)]
            missing += [f"{path.relative_to(ROOT)} cell {index}: {m}" for m in re.findall(r"<img\b[^>]*>", nb_cell.source)
                        if not re.search(r"\balt\s*=\s*[\"'][^\"']*\w", m)]
    assert not missing, missing
