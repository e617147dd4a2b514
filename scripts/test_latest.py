#!/usr/bin/env python3
"""`make test-latest`: will the course still work with the newest releases?

Builds .venv-latest with the newest versions that pyproject.toml's ranges allow
(ignoring the lock), prints which packages moved away from the lock, then runs the
quick tests and executes every notebook (tests/test_notebooks.py, and each notebook
in Binder's limits with no error and no warning) and the TensorFlow appendix's test
that fails when a new Ray drops the old API stack. Not part of `make test`: CI must
not fail because the world moved. Run it before each term; if all passes, `make lock`
takes the new versions, else the failures say what broke.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-latest"
PYTHON = VENV / "bin" / "python"
TORCH_VERSION = "2.13.0"  # pinned in pyproject.toml too; see the Makefile

TEST_RUNS = {
    "quick tests": ["-m", "not slow", "--ignore=tests/test_lock.py"],  # the lock test would only say 'moved'
    "every notebook": ["tests/test_notebooks.py", "tests/test_binder.py", "tests/test_tf_appendix.py",
                       "-k", "validate or runs_cleanly or tensorflow"],
}


def run(*command: str, **kwargs) -> subprocess.CompletedProcess:
    print("$", " ".join(command), flush=True)
    return subprocess.run(command, cwd=ROOT, **kwargs)


def build() -> None:
    shutil.rmtree(VENV, ignore_errors=True)
    venv.create(VENV, with_pip=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade"]
    run(*pip, "pip", check=True)
    run(*pip, f"torch=={TORCH_VERSION}", check=True)
    run(*pip, "--upgrade-strategy", "eager", "-e", ".[test]", check=True)
    # The TensorFlow appendix's folder, as the Makefile makes it (TF stays pinned: the
    # question here is whether the newest Ray still has the old API stack it needs).
    run(str(PYTHON), "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(VENV / "tf-site"),
        "-r", "requirements/tf.lock.txt", check=True)
    run(str(PYTHON), "-m", "arena_grading", "install-kernel", check=True)


def moved_packages() -> list[str]:
    """Packages whose newest version differs from the lock (run in .venv-latest, which has packaging)."""
    import lock  # scripts/lock.py, beside this script

    freeze = run(sys.executable, "-m", "pip", "freeze", "--all", "--exclude-editable",
                 capture_output=True, text=True).stdout
    newest = {name.lower().replace("_", "-"): version for name, version in re.findall(r"^([\w.-]+)==(\S+)$", freeze, re.M)}
    locked = {name: str(version) for name, version in lock.pins(lock.TEST_LOCK).items()}  # this Python's lines
    rows = [f"  {name:28} {locked.get(name, '(not locked)'):>14} -> {newest.get(name, '(gone)')}"
            for name in sorted(set(locked) | set(newest))
            if locked.get(name) != newest.get(name) and name not in ("pip", *lock.LEFT_OUT)]
    return rows


def main() -> int:
    if "--in-latest" not in sys.argv:  # build with any Python 3, then go on inside .venv-latest
        build()
        return subprocess.run([str(PYTHON), __file__, "--in-latest"], cwd=ROOT).returncode
    moved = moved_packages()
    print(f"\n{len(moved)} package(s) differ from requirements/test.lock.txt (locked -> newest):")
    print("\n".join(moved) or "  none: the lock is today's newest")
    env = {**os.environ, "PATH": f"{PYTHON.parent}{os.pathsep}{os.environ['PATH']}"}
    verdicts = {}
    for name, args in TEST_RUNS.items():
        print(f"\n== {name} with the newest versions ==", flush=True)
        done = run(str(PYTHON), "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, env=env)
        verdicts[name] = "passed" if done.returncode == 0 else f"FAILED (pytest exit {done.returncode}; see above)"
    print("\n== test-latest ==")
    print(f"moved: {len(moved)} package(s)")
    for name, verdict in verdicts.items():
        print(f"{name}: {verdict}")
    return 0 if all(v == "passed" for v in verdicts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
