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


def lab_command(root: Path, port: int, token: str, python: Path | str = sys.executable) -> list[str]:
    """JupyterLab from ``python``'s environment (``jupyterlab`` itself: ``jupyter lab`` would take
    the first ``jupyter-lab`` on PATH, whichever environment it is from)."""
    command = [str(python), "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
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


# -- a student's environment --------------------------------------------------------------------

STUDENT_LAB_SCRIPT = Path(__file__).resolve().parents[1] / "labsettings" / "student-lab.sh"


def layered_environment(folder: Path) -> Path:
    """A Python environment in ``folder`` layered over this one, as cheap to make as a folder of
    links: a prefix of its own (its ``etc/jupyter`` a copy of this environment's, its JupyterLab
    settings folder empty), where a script like Binder's postBuild writes what it configures, and
    this environment's packages, kernels, JupyterLab assets and extensions (linked, never written
    to). Returns its ``python``; its ``jupyter`` commands run with that python."""
    import shutil
    import subprocess
    import sysconfig

    here = Path(sys.prefix)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    # This environment's packages (and their .pth files, such as arena_lib's editable install).
    site_packages = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                        capture_output=True, text=True, check=True).stdout.strip())
    (site_packages / "_layered_over.pth").write_text(f"import site; site.addsitedir({sysconfig.get_path('purelib')!r})\n")
    # Each jupyter command with this python, so that it configures this prefix, not the one below.
    for script in sorted(Path(sys.executable).parent.glob("jupyter*")):
        lines = script.read_text().splitlines(keepends=True)
        if lines and lines[0].startswith("#!") and "python" in lines[0]:
            (folder / "bin" / script.name).write_text(f"#!{python}\n" + "".join(lines[1:]))
            (folder / "bin" / script.name).chmod(0o755)
    shutil.copytree(here / "etc" / "jupyter", folder / "etc" / "jupyter", symlinks=True)
    lab = folder / "share" / "jupyter" / "lab"
    lab.mkdir(parents=True)
    for part in ("static", "schemas", "themes"):
        (lab / part).symlink_to(here / "share" / "jupyter" / "lab" / part)
    for part in ("kernels", "labextensions", "nbconvert", "nbextensions"):
        if (here / "share" / "jupyter" / part).exists():
            (folder / "share" / "jupyter" / part).symlink_to(here / "share" / "jupyter" / part)
    if (here / "tf-site").exists():  # the TensorFlow appendix's packages (arena_lib/tf_appendix.py)
        (folder / "tf-site").symlink_to(here / "tf-site")
    return python


def path_first(env: dict, python: Path | str) -> dict:
    """``env`` with ``python``'s bin folder first on PATH, as an activated environment has it."""
    return {**env, "PATH": f"{Path(python).parent}{os.pathsep}{env.get('PATH', os.defpath)}"}


def configure_as_student(python: Path) -> None:
    """Run labsettings/student-lab.sh on ``python``'s environment, as Binder's postBuild and the
    student release do."""
    import subprocess

    done = subprocess.run(["bash", str(STUDENT_LAB_SCRIPT), str(python)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{STUDENT_LAB_SCRIPT.name} failed:\n{done.stdout}\n{done.stderr}")


def student_environment(folder: Path) -> Path:
    """A layered environment (see ``layered_environment``) set up as a student's
    (``configure_as_student``): its ``python``."""
    python = layered_environment(folder)
    configure_as_student(python)
    return python
