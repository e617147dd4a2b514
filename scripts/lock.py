#!/usr/bin/env python3
"""Make the lock files from pyproject.toml: `make lock` (see README.md, "Locked versions").

requirements/test.lock.txt   every package of the test environment (.venv: make lab, make test, CI)
requirements/course.lock.txt every package of the course environment (Binder), same versions

Both are resolved by uv for Python 3.11 and 3.12 on any platform, and installed with
``pip install --no-deps``: the lock is complete, so pip resolves nothing. Two packages
are left out on purpose:

- torch: installed on its own first (the CPU build; where it comes from differs per
  machine, see the Makefile's TORCH_PIP_ARGS). Its dependencies are locked, resolved
  from the CPU build's metadata.
- rfc3987-syntax (and lark, which only it needs): jsonschema's optional IRI format
  checker, pulled in by jupyter-events. Its import builds a parser for about 2 s, and
  every process that imports ray pays it (the kernel and each Ray worker and agent):
  measured, start_ray() took 14 s with it and 6 s without. jsonschema works without it.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCKS = ROOT / "requirements"
TEST_LOCK = LOCKS / "test.lock.txt"
COURSE_LOCK = LOCKS / "course.lock.txt"
LEFT_OUT = ("torch", "rfc3987-syntax", "lark")
TORCH_VERSION = "2.13.0"
FINGERPRINT_PREFIX = "# pyproject.toml dependencies sha256: "


def dependency_fingerprint(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """A hash of what the lock is made from: the Python range, dependencies and extras."""
    project = tomllib.loads(pyproject.read_text())["project"]
    inputs = {key: project.get(key) for key in ("requires-python", "dependencies", "optional-dependencies")}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def torch_source() -> list[str]:
    """Where uv finds the CPU build of torch: pip's find-links folder if it has one
    (this machine keeps the wheel on disk), else PyTorch's CPU index."""
    found = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.find-links"],
                           capture_output=True, text=True).stdout.split()
    if found:
        return [arg for folder in found for arg in ("--find-links", folder)]
    return ["--extra-index-url", "https://download.pytorch.org/whl/cpu", "--index-strategy", "unsafe-best-match"]


def compile_lock(extra: str, output: Path, overrides: Path, constraints: Path | None = None) -> None:
    command = [
        "uv", "pip", "compile", str(ROOT / "pyproject.toml"), "--extra", extra, "--universal",
        "--override", str(overrides), *torch_source(), "--custom-compile-command", "make lock",
        "--no-header", "--quiet", "-o", str(output),
    ]
    command += [arg for package in LEFT_OUT for arg in ("--no-emit-package", package)]
    if constraints:
        command += ["--constraint", str(constraints)]
    subprocess.run(command, check=True, cwd=ROOT)
    body = output.read_text()
    output.write_text(
        f"# Made by `make lock` (scripts/lock.py) from pyproject.toml, extra [{extra}]; do not edit.\n"
        f"# Install with `pip install --no-deps -r {output.relative_to(ROOT)}` after torch=={TORCH_VERSION}.\n"
        f"# Left out on purpose: {', '.join(LEFT_OUT)} (scripts/lock.py says why).\n"
        f"{FINGERPRINT_PREFIX}{dependency_fingerprint()}\n{body}"
    )


def main() -> None:
    LOCKS.mkdir(exist_ok=True)
    overrides = LOCKS / ".torch-cpu-override.txt"
    overrides.write_text(f"torch=={TORCH_VERSION}+cpu\n")  # resolve torch's CPU dependencies, not CUDA's
    try:
        compile_lock("test", TEST_LOCK, overrides)
        compile_lock("course", COURSE_LOCK, overrides, constraints=TEST_LOCK)
    finally:
        overrides.unlink()
    print(f"wrote {TEST_LOCK.relative_to(ROOT)} and {COURSE_LOCK.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
