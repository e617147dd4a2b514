"""Headless Chromium for the tests and benchmarks (Debian's /usr/bin/chromium driven by
Playwright; never a browser Playwright downloads): the course in JupyterLab, as a student drives
it, feedback pages, the leaderboard."""

from __future__ import annotations

import contextlib
import json
import subprocess
import urllib.request
from pathlib import Path

from tests.notebook_tools import ROOT, read

ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium floods the log with connection errors
# on a closed network.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def launch(playwright):
    """A headless Chromium browser (close it when done)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@contextlib.contextmanager
def static_page(path: Path, screenshot: str):
    """``path`` (a page that needs no server) open in Chromium. After the block: a full-page
    screenshot in test-artifacts/browser/``screenshot``, and no script error on the page."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(path.as_uri())
            yield page
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / screenshot), full_page=True)
            print(f"\n[browser] screenshot: {ARTIFACTS / screenshot}")
            assert not errors, errors
        finally:
            browser.close()


AXE = ROOT / ".venv" / "node" / "node_modules" / "axe-core" / "axe.min.js"  # make hub-tools installs it
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page, within: str | None = None) -> list[dict]:
    """The WCAG 2.1 AA rules axe-core finds broken on ``page`` (each: rule id, impact, how many
    elements, the first element's selector and text), only inside the elements ``within`` matches
    if given."""
    assert AXE.exists(), f"axe-core is missing: make hub-tools installs it ({AXE})"
    page.add_script_tag(path=str(AXE))
    context = f"{{include: [{within!r}]}}" if within else "document"
    found = page.evaluate(f"""async () => {{
        const result = await axe.run({context}, {{runOnly: {{type: 'tag', values: {WCAG_21_AA!r}}}}});
        return result.violations.map(v => ({{id: v.id, impact: v.impact, count: v.nodes.length,
            first: v.nodes[0].target.join(' '), html: v.nodes[0].html.slice(0, 160)}}));
    }}""")
    return found


# What the course itself puts in a notebook in JupyterLab: its markdown, rendered, and the outputs
# of its code (figures, widgets, HTML, text). Everything else there (cells, prompts, editors,
# toolbars) is JupyterLab's.
COURSE_CONTENT = ".jp-MarkdownOutput, .jp-OutputArea-output"


def axe_elements(page, within: str, course: str = COURSE_CONTENT, only_course: bool = False) -> list[dict]:
    """Every element inside ``within`` that breaks a WCAG 2.1 AA rule, as axe-core finds them:
    rule id, impact, what the rule asks, the element's selector and HTML, and whether it is
    inside ``course`` (the course's own content) or not. With ``only_course``, axe-core looks at
    the course's content alone (quicker)."""
    assert AXE.exists(), f"axe-core is missing: make hub-tools installs it ({AXE})"
    page.add_script_tag(path=str(AXE))
    return page.evaluate("""async ([within, tags, course, onlyCourse]) => {
        const areas = [...document.querySelectorAll(within)];
        const include = onlyCourse ? areas.flatMap(area => [...area.querySelectorAll(course)]) : areas;
        if (!include.length) return [];
        const result = await axe.run({include}, {runOnly: {type: 'tag', values: tags}, elementRef: true});
        return result.violations.flatMap(v => v.nodes.map(node => ({
            id: v.id, impact: v.impact, help: v.help, target: node.target.join(' '),
            html: node.html.slice(0, 200), course: Boolean(node.element && node.element.closest(course)),
        })));
    }""", [within, WCAG_21_AA, course, only_course])


def images_without_text(page, within: str, course: str = COURSE_CONTENT) -> list[str]:
    """The images of the course's content inside ``within`` that have no text alternative (an
    ``alt``, ``aria-label`` or ``title`` with words in it), each as the start of its HTML."""
    return page.evaluate("""([within, course]) => [...document.querySelectorAll(within)]
        .flatMap(area => [...area.querySelectorAll(`:is(${course}) :is(img, svg[role=img], canvas)`)])
        .filter(image => !['alt', 'aria-label', 'title'].some(name => (image.getAttribute(name) || '').trim()))
        .map(image => image.outerHTML.slice(0, 160))""", [within, course])


# -- JupyterLab, driven as a student drives it ---------------------------------------------------

VIEWPORT = {"width": 1280, "height": 900}
MAX_WINDOW_HEIGHT = 16000  # px: Chromium paints no taller screenshot (its texture limit is 16384)
KERNEL_TIMEOUT = 120_000  # ms

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


class LabTimeout(AssertionError):
    """JupyterLab did not get where it was asked to in time."""


def lab_settings_env(folder: Path, settings: dict) -> dict:
    """Environment variables for a JupyterLab server of its own in ``folder``: nothing of the user's
    Jupyter setup (settings, open tabs, config) leaks in; ``settings`` (file name under the settings
    folder: values) are the user's settings."""
    for name, values in settings.items():
        (folder / "settings" / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / "settings" / name).write_text(json.dumps(values))
    return {"JUPYTERLAB_SETTINGS_DIR": str(folder / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(folder / "workspaces"),
            "JUPYTER_CONFIG_DIR": str(folder / "config"),
            "JUPYTER_DATA_DIR": str(folder / "data"),
            "JUPYTER_RUNTIME_DIR": str(folder / "runtime")}


def lab_request(lab: dict, path: str, method: str = "GET", timeout: float = 60):
    """A call to the server (HTTPError for a status of 400 or more): its answer, read as JSON if it is."""
    request = urllib.request.Request(f"{lab['url']}{path}", method=method,
                                     headers={"Authorization": f"token {lab['token']}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = response.read()
        is_json = response.headers.get_content_type() == "application/json"
    return json.loads(body) if body and is_json else body


def shut_down_kernels(lab: dict) -> None:
    """Free the memory (and Ray) of a finished notebook before the next one starts."""
    for kernel in lab_request(lab, "/api/kernels"):
        lab_request(lab, f"/api/kernels/{kernel['id']}", method="DELETE")


def stop_server(process) -> None:
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


def open_notebook(page, lab: dict, path: Path, kernel: bool = True, workspace: str | None = None):
    """Open the notebook ``path`` (under the server's root) in a workspace of its own (named
    ``workspace``, else after the notebook: no tabs restored from an earlier visit) and return its
    panel; with ``kernel``, once its kernel is connected and idle."""
    from playwright.sync_api import expect

    # A notebook elsewhere (the repository's) stands for its copy at the server's root.
    relative = path.relative_to(lab["root"]) if path.is_relative_to(lab["root"]) else Path(path.name)
    page.goto(f"{lab['url']}/lab/workspaces/{workspace or path.stem}/tree/{relative.as_posix()}?token={lab['token']}")
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    expect(panel).to_have_count(1, timeout=KERNEL_TIMEOUT)
    if kernel:
        # The toolbar's execution indicator says "idle" before there is a kernel, and cells run
        # then are silently skipped; the status bar names the kernel once it is connected.
        name = read(lab["root"] / relative).metadata["kernelspec"]["display_name"]
        expect(page.locator('#jp-main-statusbar [title^="Change kernel"]')).to_have_text(
            f"{name} | Idle", timeout=KERNEL_TIMEOUT)
        expect(panel.locator(".jp-Notebook-ExecutionIndicator")).to_have_attribute(
            "data-status", "idle", timeout=KERNEL_TIMEOUT)
    return panel


def choose_run_item(page, panel, item: str, first_cell: int) -> None:
    """Choose Run ▸ <item> and wait until JupyterLab has queued (or run) cell ``first_cell``."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name=item, exact=True).click()
    # JupyterLab marks the cells it queues [*] at once; wait for that first, or a run that
    # never started would pass for one that has finished.
    prompt = panel.locator(".jp-Notebook-cell").nth(first_cell).locator(".jp-InputPrompt")
    try:
        page.wait_for_function("e => /[*0-9]/.test(e.textContent)", arg=prompt.element_handle(), timeout=60_000)
    except PlaywrightTimeout:
        raise LabTimeout(f"Run ▸ {item}: cell {first_cell} did not start within 60 s") from None


def wait_until_run_finished(page, panel, timeout: float, what: str = "the run") -> None:
    """Wait (``timeout`` seconds at most) until the kernel is idle and no cell is queued or running."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(RUN_FINISHED_JS, arg=panel.element_handle(), timeout=timeout * 1000, polling=500)
    except PlaywrightTimeout:
        busy = [i for i, cell in enumerate(cells(panel)) if "*" in cell["prompt"]]
        raise LabTimeout(f"{what}: still running after {timeout:.0f} s; busy cells {busy}") from None


def run_from_menu(page, panel, item: str, first_cell: int, timeout: float) -> None:
    """Choose Run ▸ <item> and wait until the cells it runs, from ``first_cell`` on, are done."""
    choose_run_item(page, panel, item, first_cell)
    wait_until_run_finished(page, panel, timeout, f"Run ▸ {item}")


def save_notebook(page, panel) -> None:
    """File ▸ Save (Ctrl+S), and wait until the tab no longer shows unsaved changes."""
    panel.locator(".jp-Notebook").focus()
    page.keyboard.press("Control+s")
    page.wait_for_function("() => !document.querySelector('.jp-mod-current.jp-mod-dirty')", timeout=60_000)


def cells(panel) -> list[dict]:
    return panel.evaluate(CELLS_JS)


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


def set_window_height(page, panel, height: int) -> None:
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


@contextlib.contextmanager
def restored_window(page):
    try:
        yield
    finally:
        page.set_viewport_size(VIEWPORT)


def show_whole_notebook(page, panel) -> None:
    """Grow the window until the whole notebook is in sight (up to Chromium's limit), scrolled to
    its top. Cells out of sight have no real height yet (CSS content-visibility), so grow it again
    until it fits."""
    scroller = panel.locator(".jp-WindowedPanel-outer")
    for _ in range(5):
        needed, shown = scroller.evaluate("e => [e.scrollHeight, e.clientHeight]")
        if needed <= shown or page.viewport_size["height"] >= MAX_WINDOW_HEIGHT:
            break
        set_window_height(page, panel, needed)
    scroller.evaluate("e => e.scrollTo(0, 0)")
