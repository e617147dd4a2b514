"""Install the ``arena-grading`` kernelspec into this Python environment."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from arena_grading import KERNEL_NAME
from arena_grading.sandbox import PYTHON


def install(prefix: str = sys.prefix) -> Path:
    """Write the kernelspec, unless it is there as it should be (an environment that the
    user who grades may not write, as when someone else installed it, then works as is)."""
    folder = Path(prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME
    spec = {
        # -I: the launcher runs outside the sandbox in the student's folder; never import from there.
        "argv": [PYTHON, "-I", "-m", "arena_grading.sandbox", "-f", "{connection_file}"],
        "display_name": "Grading sandbox (nbgrader only)",
        "language": "python",
        # Interrupts travel as messages: a signal to the launcher would not reach the sandboxed kernel.
        "interrupt_mode": "message",
        "metadata": {"debugger": False},
    }
    text = json.dumps(spec, indent=1) + "\n"
    path = folder / "kernel.json"
    if not path.exists() or path.read_text() != text:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder
