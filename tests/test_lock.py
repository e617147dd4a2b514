"""The lock files (requirements/*.lock.txt) agree with pyproject.toml, and this
environment was installed from them (make lock, docs/development.md "Locked versions")."""

from __future__ import annotations

import importlib.util
import tomllib
from importlib import metadata

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.notebook_tools import ROOT

spec = importlib.util.spec_from_file_location("lock", ROOT / "scripts" / "lock.py")
lock = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lock)

PYTHONS = ("3.11", "3.12")  # pyproject.toml's requires-python
MAKE_LOCK = "run `make lock` and commit requirements/"


def project_requirements(extra: str) -> list[Requirement]:
    """The course's own requirements for ``extra`` (its self-references expanded)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(r) for r in project["dependencies"]]
    for line in project["optional-dependencies"][extra]:
        requirement = Requirement(line)
        if canonicalize_name(requirement.name) == "arena-lib":
            requirements += [r for sub in requirement.extras for r in project_requirements(sub)]
        else:
            requirements.append(requirement)
    return requirements


def test_locks_were_made_from_this_pyproject():
    for path in (lock.TEST_LOCK, lock.COURSE_LOCK):
        assert path.exists(), f"{path.relative_to(ROOT)} is missing: {MAKE_LOCK}"
        recorded = next((line for line in path.read_text().splitlines() if line.startswith(lock.FINGERPRINT_PREFIX)), "")
        assert recorded.removeprefix(lock.FINGERPRINT_PREFIX) == lock.dependency_fingerprint(), (
            f"pyproject.toml's dependencies changed since {path.relative_to(ROOT)} was made: {MAKE_LOCK}"
        )


@pytest.mark.parametrize("python", PYTHONS)
@pytest.mark.parametrize("extra, path", [("test", lock.TEST_LOCK), ("course", lock.COURSE_LOCK)], ids=["test", "course"])
def test_every_requirement_is_locked_within_its_range(extra, path, python):
    locked = lock.pins(path, python)
    for requirement in project_requirements(extra):
        name = canonicalize_name(requirement.name)
        if name in lock.LEFT_OUT:
            continue
        assert name in locked, f"{requirement} (pyproject.toml) is not in {path.name}: {MAKE_LOCK}"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"{path.name} pins {name}=={locked[name]}, outside pyproject.toml's {requirement}: {MAKE_LOCK}"
        )
        for extra_name in requirement.extras:  # e.g. ray[rllib]: its extra's packages are locked too
            for dependency in metadata.requires(requirement.name) or []:
                dependency = Requirement(dependency)
                if dependency.marker and Marker(str(dependency.marker)).evaluate({"extra": extra_name}):
                    assert canonicalize_name(dependency.name) in locked, f"{dependency.name} ({requirement}) is not locked"


@pytest.mark.parametrize("python", PYTHONS)
def test_course_lock_has_the_test_locks_versions(python):
    course, test = lock.pins(lock.COURSE_LOCK, python), lock.pins(lock.TEST_LOCK, python)
    different = {name: (str(v), str(test.get(name))) for name, v in course.items() if test.get(name) != v}
    assert not different, f"the course (Binder) and test environments would differ: {different}; {MAKE_LOCK}"
    for name in lock.LEFT_OUT:
        assert name not in course and name not in test, f"{name} is locked, but scripts/lock.py leaves it out"


def test_this_environment_was_installed_from_the_lock():
    """make setup (and so make test, CI) installs exactly the lock."""
    wrong = {}
    for name, version in lock.pins(lock.TEST_LOCK).items():
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            wrong[name] = f"locked {version}, installed {installed}"
    assert not wrong, f"this environment differs from {lock.TEST_LOCK.name}: {wrong} (rm -r .venv && make setup)"
    assert Version(metadata.version("torch")).base_version == lock.TORCH_VERSION
    with pytest.raises(metadata.PackageNotFoundError):
        metadata.version("rfc3987-syntax")  # 2 s more for every process that imports ray


def test_the_tensorflow_lock_adds_only_what_the_course_lacks():
    """The appendix's folder (arena_lib/tf_appendix.py) is appended to the path: a package
    in it that the course also has would be a second, unused copy of another version."""
    tensorflow = lock.pins(lock.TF_LOCK)
    assert {"tensorflow-cpu", "tf-keras"} <= set(tensorflow), f"{lock.TF_LOCK.name} lacks TensorFlow: {MAKE_LOCK}"
    both = set(tensorflow) & set(lock.pins(lock.TEST_LOCK))
    assert not both, f"{lock.TF_LOCK.name} repeats packages of {lock.TEST_LOCK.name}: {sorted(both)}; {MAKE_LOCK}"
