"""The course in a real browser: JupyterLab runs a student and a solution notebook through
its UI (Run ▸ Run All Cells), as a student would, in Debian's Chromium driven by Playwright.

Needs `apt-get install -y chromium` and `pip install playwright` (never `playwright install`:
the test drives /usr/bin/chromium). Screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest

from tests.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.jupyterlab_server import free_port, lab_command, wait_until_up
from tests.notebook_tools import ROOT, read, short_run, tool_env

STUDENT_NOTEBOOK = ROOT / "notebooks" / "01_arena" / "01_rl_and_the_arena.ipynb"
SOLUTION_NOTEBOOK = ROOT / "solutions" / "04_evaluation" / "04_evaluate_save_restore.ipynb"

VIEWPORT = {"width": 1280, "height": 900}
MAX_WINDOW_HEIGHT = 16000  # px: Chromium paints no taller screenshot (its texture limit is 16384)

SERVER_START_TIMEOUT = 120  # s
KERNEL_TIMEOUT = 120_000  # ms
WIDGET_TIMEOUT = 60_000  # ms

# JupyterLab settings of our own: no "get Jupyter news?" toast over the notebook, and no
# empty screen after the last cell (it would end up in the full-notebook screenshots).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"scrollPastEnd": False},
}

# Done: the kernel is idle and no code cell is queued or running (prompt "[*]:").
RUN_FINISHED_JS = """panel => {
    const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
    const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent);
    return indicator?.dataset.status === 'idle' && !prompts.some(p => p.includes('*'));
}"""

# Every cell, in notebook order: its prompt and its outputs (mime type and text). JupyterLab 4
# renders errors and stderr streams alike, with the stderr mime type; an error's text is its
# traceback, which names the exception.
CELLS_JS = """panel => [...panel.querySelectorAll('.jp-Notebook-cell')].map(cell => ({
    prompt: cell.querySelector('.jp-InputPrompt')?.textContent ?? '',
    outputs: [...cell.querySelectorAll('.jp-OutputArea-output')].map(o => ({
        mime: o.dataset.mimeType ?? '', text: o.textContent,
    })),
}))"""
STDERR = "application/vnd.jupyter.stderr"

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


def stop_server(process):
    """SIGTERM makes the server shut its kernels down; whatever of its process tree (kernels,
    the Ray they started) still runs after that is killed, by pid."""
    import psutil

    try:
        tree = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        tree = []
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)
    _, alive = psutil.wait_procs(tree, timeout=30)
    for leftover in alive:
        leftover.kill()
    psutil.wait_procs(alive, timeout=10)


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
    for name, settings in LAB_SETTINGS.items():
        (folder / "settings" / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / "settings" / name).write_text(json.dumps(settings))

    port, token = free_port(), secrets.token_hex(16)
    command = lab_command(root, port, token)
    env = tool_env(
        # Nothing of the user's Jupyter setup (settings, open tabs, config) leaks in.
        JUPYTERLAB_SETTINGS_DIR=str(folder / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(folder / "workspaces"),
        JUPYTER_CONFIG_DIR=str(folder / "config"),
        JUPYTER_RUNTIME_DIR=str(folder / "runtime"),
    )
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
def browser(lab):
    if lab is None:
        yield None
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
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


def shut_down_kernels(lab):
    """Free the memory (and Ray) of a finished notebook before the next one starts."""
    headers = {"Authorization": f"token {lab['token']}"}
    with urllib.request.urlopen(urllib.request.Request(f"{lab['url']}/api/kernels", headers=headers)) as response:
        kernels = json.load(response)
    for kernel in kernels:
        url = f"{lab['url']}/api/kernels/{kernel['id']}"
        urllib.request.urlopen(urllib.request.Request(url, headers=headers, method="DELETE"), timeout=60).close()


@pytest.fixture(scope="module")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


# -- driving JupyterLab -------------------------------------------------------------------------

def open_notebook(page, lab, path: Path):
    """Open a notebook in a workspace of its own (no tabs restored from an earlier visit) and
    return its panel once its kernel is connected and idle."""
    from playwright.sync_api import expect

    page.goto(f"{lab['url']}/lab/workspaces/{path.stem}/tree/{path.name}?token={lab['token']}")
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    expect(panel).to_have_count(1, timeout=KERNEL_TIMEOUT)
    # The toolbar's execution indicator says "idle" before there is a kernel, and cells run
    # then are silently skipped; the status bar names the kernel once it is connected.
    kernel = read(path).metadata["kernelspec"]["display_name"]
    expect(page.locator('#jp-main-statusbar [title^="Change kernel"]')).to_have_text(
        f"{kernel} | Idle", timeout=KERNEL_TIMEOUT
    )
    expect(panel.locator(".jp-Notebook-ExecutionIndicator")).to_have_attribute(
        "data-status", "idle", timeout=KERNEL_TIMEOUT
    )
    return panel


def run_from_menu(page, panel, lab, item: str, first_cell: int, timeout: float):
    """Choose Run ▸ <item> and wait until the cells it runs, from ``first_cell`` on, are done."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name=item, exact=True).click()
    # JupyterLab marks the cells it queues [*] at once; wait for that first, or a run that
    # never started would pass for one that has finished.
    prompt = panel.locator(".jp-Notebook-cell").nth(first_cell).locator(".jp-InputPrompt")
    try:
        page.wait_for_function("e => /[*0-9]/.test(e.textContent)", arg=prompt.element_handle(), timeout=60_000)
    except PlaywrightTimeout:
        fail_with_screenshot(page, lab, f"Run ▸ {item}: cell {first_cell} did not start within 60 s")
    try:
        page.wait_for_function(RUN_FINISHED_JS, arg=panel.element_handle(), timeout=timeout * 1000, polling=1000)
    except PlaywrightTimeout:
        busy = [i for i, cell in enumerate(cells(panel)) if "*" in cell["prompt"]]
        fail_with_screenshot(page, lab, f"Run ▸ {item}: still running after {timeout} s; busy cells {busy}")


def fail_with_screenshot(page, lab, message: str):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    picture = ARTIFACTS / "failure.png"
    page.screenshot(path=picture)
    pytest.fail(f"{message} (screenshot: {picture}). Server log:\n{lab['log'].read_text()[-3000:]}")


def cells(panel) -> list[dict]:
    return panel.evaluate(CELLS_JS)


def cell(panel, index: int):
    return panel.locator(".jp-Notebook-cell").nth(index)


def select_cell(panel, index: int):
    """Select a cell in command mode by clicking its prompt, as a student would."""
    cell(panel, index).locator(".jp-InputPrompt").click()


def has_run(rendered_cell: dict) -> bool:
    return any(ch.isdigit() for ch in rendered_cell["prompt"])


def stderr_outputs(rendered: list[dict], start: int = 0) -> list[tuple[int, str]]:
    """(cell index, text) of each error or stderr output from cell ``start`` on."""
    return [
        (index, output["text"][:2000])
        for index, rendered_cell in enumerate(rendered[start:], start=start)
        for output in rendered_cell["outputs"]
        if output["mime"] == STDERR
    ]


def code_cells(path: Path) -> list[int]:
    return [i for i, c in enumerate(read(path).cells) if c.cell_type == "code"]


def first_code_cell(path: Path, text: str = "", after: int = -1) -> int:
    """Index of the first code cell after ``after`` whose source contains ``text``."""
    for index, nb_cell in enumerate(read(path).cells):
        if index > after and nb_cell.cell_type == "code" and text in nb_cell.source:
            return index
    raise AssertionError(f"no code cell with {text!r} after cell {after} in {path.name}")


def set_window_height(page, panel, height: int):
    """Resize the window so the notebook area is ``height`` px tall; wait for JupyterLab's layout."""
    scroller = panel.locator(".jp-WindowedPanel-outer")
    chrome = page.viewport_size["height"] - scroller.evaluate("e => e.clientHeight")  # menus, toolbars
    height = min(height, MAX_WINDOW_HEIGHT - chrome)
    page.set_viewport_size({"width": VIEWPORT["width"], "height": height + chrome})
    page.wait_for_function(
        "([e, height]) => e.clientHeight >= height - 1", arg=[scroller.element_handle(), height], timeout=30_000
    )
    # Two painted frames: cells that came into sight are laid out now.
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


@contextmanager
def restored_window(page):
    try:
        yield
    finally:
        page.set_viewport_size(VIEWPORT)


def screenshot_notebook(page, panel, path: Path):
    """The whole notebook in one picture, in a window as tall as the notebook. Cells out of
    sight have no real height yet (CSS content-visibility), so grow the window until it fits."""
    scroller = panel.locator(".jp-WindowedPanel-outer")
    with restored_window(page):
        for _ in range(5):
            needed, shown = scroller.evaluate("e => [e.scrollHeight, e.clientHeight]")
            if needed <= shown or page.viewport_size["height"] >= MAX_WINDOW_HEIGHT:
                break
            set_window_height(page, panel, needed)
        scroller.evaluate("e => e.scrollTo(0, 0)")
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
