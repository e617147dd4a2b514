"""Headless Chromium for the tests (Debian's /usr/bin/chromium driven by Playwright; never a
browser Playwright downloads): the course in JupyterLab, feedback pages, the leaderboard."""

from __future__ import annotations

from pathlib import Path

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
