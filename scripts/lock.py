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
  checker, pulled in by jupyter-events. Its import builds a parser for seconds, and
  every process that imports ray pays it (the kernel and each Ray worker and agent):
  start_ray() took twice as long with it. jsonschema works without it.
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
# The TensorFlow appendix's packages, installed into a folder of their own (the Makefile's
# TF_SITE) that only that notebook puts on its path: RLlib imports TensorFlow in every
# process whenever it can (many modules call try_import_tf() at import), which would cost
# every other notebook seconds and about half a GB per process. Only what the test lock
# lacks goes in it.
TF_LOCK = LOCKS / "tf.lock.txt"
TF_REQUIREMENTS = ("tensorflow-cpu==2.21.0", "tf-keras==2.21.0")  # Keras 2: RLlib's TF policies need it
LEFT_OUT = ("torch", "rfc3987-syntax", "lark")
TORCH_VERSION = "2.13.0"
FINGERPRINT_PREFIX = "# pyproject.toml dependencies sha256: "


def pins(path, python: str | None = None) -> dict:
    """name -> pinned version of the lock's lines that apply to ``python`` ("3.12": its
    first release) on this platform, or to the Python running this (None)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    environment = {} if python is None else {"python_version": python, "python_full_version": f"{python}.0"}
    found = {}
    for line in path.read_text().splitlines():
        if not line or line.startswith(("#", " ")):
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", f"{path.name}: {line!r} is not an exact pin"
            found[canonicalize_name(requirement.name)] = Version(specifier.version)
    return found


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


def compile_tf_lock(overrides: Path) -> None:
    """The appendix's packages that the test lock does not have, at versions that agree with it.
    tf-keras asks for `tensorflow`, the same module as `tensorflow-cpu` in a 572 MB wheel
    (tensorflow-cpu's is 274 MB): overridden away."""
    requirements, resolved = LOCKS / ".tf.in", LOCKS / ".tf.resolved.txt"
    requirements.write_text("\n".join(TF_REQUIREMENTS) + "\n")
    with overrides.open("a") as f:
        f.write('tensorflow ; python_version < "0"\n')
    try:
        subprocess.run(["uv", "pip", "compile", str(requirements), "--universal", "--constraint", str(TEST_LOCK),
                        "--override", str(overrides), "--no-header", "--no-annotate", "--quiet",
                        "-o", str(resolved)], check=True, cwd=ROOT)
        locked = {line.split("==")[0] for line in TEST_LOCK.read_text().splitlines() if "==" in line}
        extra = [line for line in resolved.read_text().splitlines()
                 if "==" in line and line.split("==")[0] not in locked and not line.startswith("wheel==")]
    finally:
        requirements.unlink()
        resolved.unlink(missing_ok=True)
    TF_LOCK.write_text(
        "# Made by `make lock` (scripts/lock.py); do not edit. The TensorFlow appendix's packages that\n"
        "# requirements/test.lock.txt lacks, installed with `pip install --no-deps --target` into a folder\n"
        "# of their own (the Makefile's TF_SITE), never into the course's environment (scripts/lock.py says why).\n"
        + "\n".join(extra) + "\n"
    )


def main() -> None:
    LOCKS.mkdir(exist_ok=True)
    overrides = LOCKS / ".torch-cpu-override.txt"
    overrides.write_text(f"torch=={TORCH_VERSION}+cpu\n")  # resolve torch's CPU dependencies, not CUDA's
    try:
        compile_lock("test", TEST_LOCK, overrides)
        compile_lock("course", COURSE_LOCK, overrides, constraints=TEST_LOCK)
        compile_tf_lock(overrides)
    finally:
        overrides.unlink()
    print(f"wrote {TEST_LOCK.relative_to(ROOT)}, {COURSE_LOCK.relative_to(ROOT)} and {TF_LOCK.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
