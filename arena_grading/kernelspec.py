"""Install the ``arena-grading`` kernelspec into this Python environment."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from arena_grading import KERNEL_NAME
from arena_grading.sandbox import PYTHON


def install(prefix: str = sys.prefix) -> Path:
    folder = Path(prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        # -I: the launcher runs outside the sandbox in the student's folder; never import from there.
        "argv": [PYTHON, "-I", "-m", "arena_grading.sandbox", "-f", "{connection_file}"],
        "display_name": "Grading sandbox (nbgrader only)",
        "language": "python",
        # Interrupts travel as messages: a signal to the launcher would not reach the sandboxed kernel.
        "interrupt_mode": "message",
        "metadata": {"debugger": False},
    }
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n")
    return folder
