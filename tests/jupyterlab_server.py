"""Starting a JupyterLab server on loopback for the tests (Binder limits, browser)."""

from __future__ import annotations

import os
import socket
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def lab_command(root: Path, port: int, token: str) -> list[str]:
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}"]
    if os.getuid() == 0:  # containers often run as root, which Jupyter refuses unless told
        command.append("--allow-root")
    return command


def wait_until_up(process, url: str, token: str, timeout: float) -> None:
    """Poll /api/status until the server answers; RuntimeError if it exits or times out."""
    request = urllib.request.Request(f"{url}/api/status", headers={"Authorization": f"token {token}"})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass  # not listening yet
        time.sleep(0.5)
    raise RuntimeError(f"JupyterLab did not answer {url}/api/status in {timeout:.0f} s")
