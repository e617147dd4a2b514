"""Run one notebook the way a Binder user does, for the Binder-limits test: a
JupyterLab server runs (idle) beside the kernel that executes the notebook, so
the measured memory holds the server, the kernel and all of Ray.

    python -m tests.run_with_jupyterlab NOTEBOOK OUTPUT [--short]

--short runs it with tests/notebook_tools.py's SHORT_RUN settings (smaller budgets).
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from arena_lib.kernel_client import RepollingKernelManager
from tests.jupyterlab_server import free_port, lab_command, wait_until_up
from tests.notebook_tools import short_run


def start_jupyterlab(folder: Path) -> subprocess.Popen:
    port, token = free_port(), secrets.token_hex(16)
    # Its warnings (and its stacks, should the test abort a hung run) go to this script's stderr.
    server = subprocess.Popen([*lab_command(folder, port, token), "--ServerApp.log_level=WARN"],
                              stdout=subprocess.DEVNULL)
    try:
        wait_until_up(server, f"http://127.0.0.1:{port}", token, timeout=120)
    except RuntimeError:
        server.kill()
        raise
    return server


def main() -> None:
    notebook, output = Path(sys.argv[1]), Path(sys.argv[2])
    nb = short_run(notebook) if "--short" in sys.argv[3:] else nbformat.read(notebook, as_version=4)
    server = start_jupyterlab(output.parent)
    try:
        # Notebook 6, the longest, takes about 2 minutes in all at the full budget in the Binder box,
        # so no cell needs 180 s. At 180 s the kernel is interrupted, as nbgrader does: a cell that
        # hangs then fails with KeyboardInterrupt in the notebook. The kernel client is the grader's,
        # which reads each reply when it comes (arena_lib/kernel_client.py says why).
        client = NotebookClient(nb, timeout=180, interrupt_on_timeout=True, kernel_name="python3",
                                kernel_manager_class=RepollingKernelManager,
                                resources={"metadata": {"path": str(output.parent)}})
        client.execute()
    finally:
        nbformat.write(nb, output)
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
