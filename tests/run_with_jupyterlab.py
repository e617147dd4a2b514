"""Run one notebook the way a Binder user does, for the Binder-limits test: a
JupyterLab server runs (idle) beside the kernel that executes the notebook, so
the measured memory holds the server, the kernel and all of Ray.

    python tests/run_with_jupyterlab.py NOTEBOOK OUTPUT
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_jupyterlab(folder: Path) -> subprocess.Popen:
    port, token = free_port(), secrets.token_hex(16)
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}"]
    if os.getuid() == 0:
        command.append("--allow-root")
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2)
            return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise RuntimeError("JupyterLab did not start within 120 s")


def main() -> None:
    notebook, output = Path(sys.argv[1]), Path(sys.argv[2])
    nb = nbformat.read(notebook, as_version=4)
    server = start_jupyterlab(output.parent)
    try:
        client = NotebookClient(nb, timeout=900, kernel_name="python3",
                                resources={"metadata": {"path": str(output.parent)}})
        client.execute()
    finally:
        nbformat.write(nb, output)
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
