"""Headless Chromium for the tests (Debian's /usr/bin/chromium driven by Playwright; never a
browser Playwright downloads): the course in JupyterLab, feedback pages, the leaderboard."""

from __future__ import annotations

import contextlib
from pathlib import Path

from tests.notebook_tools import ROOT

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
