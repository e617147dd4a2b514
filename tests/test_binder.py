"""Binder: every notebook in 2 GB and 1 CPU with JupyterLab beside it, one Ray at a
time, and an environment.yml that installs what the notebooks import."""

from __future__ import annotations

import ast
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile
import textwrap

import pytest
import yaml
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.binder_box import BINDER_MEMORY, Box, BoxTimeout
from tests.notebook_tools import ROOT, SOLUTIONS, errors_and_stderr, grade_cells, pictures_without_text, read, tool_env
from tests.test_lock import lock

COURSE_LOCK = lock.COURSE_LOCK

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def box():
    return Box()


# The short run (tests/notebook_tools.py's SHORT_RUN): every cell runs, and every process a
# notebook starts (JupyterLab, kernel, Ray, env runners, learner, a restored algorithm) is up at
# once, in a third of the time; all but notebook 6's two-node cluster (see FULL_BUDGET_ONLY). The
# full-budget run of every notebook in this box is `python -m bench.notebook_series --binder`.


# What a full-budget run adds to the short run's peak (longer training; `python -m
# bench.notebook_series --binder` measures the full runs): the short run must leave this much room.
FULL_BUDGET_GROWTH = 0.25e9


# Notebook 6's two-node cluster, its heaviest part, runs only with the full budget, so the
# short run cannot stand for it: it runs in full (about 2 min).
FULL_BUDGET_ONLY = {"06_tune_and_scale.ipynb"}


def install_like_binder(folder):
    """environment.yml's pip part, then postBuild, into a fresh venv in ``folder``: (venv, folder)."""
    _, pip = binder_install_steps()
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # The CPU index is not reachable from every machine (this one takes torch from a
    # local wheel); pip's own index settings decide where torch comes from.
    requirements = [line for line in pip if not line.startswith("--extra-index-url")]
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *requirements],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    path = f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"
    done = subprocess.run(["bash", "postBuild"], cwd=ROOT, env=dict(os.environ, PATH=path), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return venv, folder


@pytest.fixture(scope="module", autouse=True)
def binder_install(request, tmp_path_factory):
    """Binder's install, started when this module starts if its test is to run: it takes
    minutes, mostly unpacking wheels, while the notebooks run in the box on one CPU of two."""
    wanted = any(item.originalname == "test_environment_yml_installs_what_the_notebooks_import"
                 for item in request.session.items)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        yield pool.submit(install_like_binder, tmp_path_factory.mktemp("binder-install")) if wanted else None


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_notebook_runs_cleanly_in_binder_limits(path, box, tmp_path, capsys):
    output = tmp_path / path.name
    full = path.name in FULL_BUDGET_ONLY
    run = box.run([sys.executable, "-m", "tests.run_with_jupyterlab", str(path), str(output),
                   *([] if full else ["--short"])], timeout=600, cwd=ROOT, env=tool_env())
    with capsys.disabled():
        print(f"\n{path.name}: peak memory {run.peak_bytes / 1e9:.2f} GB with JupyterLab (working set "
              f"{run.working_set_bytes / 1e9:.2f} GB), {'full' if full else 'short'} budget, in {box.describe()}")
    assert run.result.returncode == 0, run.result.stderr[-5000:]
    assert run.oom_kills == 0, "a process was killed for want of memory"
    if not full:
        assert run.peak_bytes + FULL_BUDGET_GROWTH < BINDER_MEMORY, "the full budget would not fit"
    nb = read(output)
    if full and box.limited:  # in the 2 GB box the memory check lets the two-node part run
        shown = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        assert "(worker)" in shown, "the two-node part did not run, so its memory was not measured"
    errors, stderr = errors_and_stderr(nb)
    assert not errors, errors
    assert not stderr, f"warnings or logs shown to students: {stderr}"
    assert all("✔" in "".join(o.get("text", "") for o in c.outputs) for c in grade_cells(nb)), "every self-check passes"
    assert not pictures_without_text(nb), f"pictures without a text alternative: {pictures_without_text(nb)}"


HUNG = textwrap.dedent("""
    import subprocess, sys
    child = subprocess.Popen([sys.executable, "-c", "import time\\ndef stuck_child():\\n    time.sleep(60)\\nstuck_child()"])
    def waiting_parent():
        child.wait()
    waiting_parent()
""")


def test_a_hung_run_in_the_box_reports_where_each_process_is_stuck(box, tmp_path):
    """A notebook that hangs must fail with more than a timeout: CI shows only the failure."""
    with pytest.raises(BoxTimeout, match="did not end in 5 s") as failure:
        box.run([sys.executable, "-c", HUNG], timeout=5, cwd=tmp_path)
    report = str(failure.value)
    assert "in waiting_parent" in report and "in stuck_child" in report, report


SECOND_NOTEBOOK = textwrap.dedent("""
    import subprocess, sys
    from arena_lib import start_ray
    from arena_lib.ray_setup import OBJECT_STORE_BYTES, NoRoomForRay, available_cpus, object_store_directory

    print("cpus:", available_cpus(), "object store in:", object_store_directory(OBJECT_STORE_BYTES))

    first = subprocess.Popen([sys.executable, "-c", '''
    import sys
    from arena_lib import start_ray
    from arena_lib.training import arena_ppo_config
    start_ray()
    import numpy as np
    # A notebook that trained and holds more than the course's 0.8 GiB (notebook 6 peaks
    # at 1.7 GiB): an EnvRunner process and 0.4 GiB of data, so a second Ray would not fit.
    algo = arena_ppo_config(seed=1, num_env_runners=1).build_algo()
    algo.train()
    data = np.ones(50_000_000)
    print("trained", flush=True)
    sys.stdin.readline()  # until the second notebook is done
    '''], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert first.stdout.readline().strip() == "trained"
    try:
        start_ray()
    except NoRoomForRay as error:
        print(error)
    else:
        print("started a second Ray")
    finally:
        first.communicate("", timeout=60)  # stdin closes: the first one ends
""")


def test_a_second_notebook_gets_a_clear_message_instead_of_a_second_ray(box, tmp_path):
    if not box.limited:
        pytest.skip("needs a 2 GB cgroup: on a machine with room, a second Ray is allowed")
    run = box.run([sys.executable, "-c", SECOND_NOTEBOOK], timeout=300, cwd=tmp_path, env=tool_env())
    assert run.result.returncode == 0, run.result.stderr[-3000:]
    out = run.result.stdout
    assert "cpus: 1 " in out, out  # from the cgroup's CPU quota, though the machine has more
    if box.small_shm:
        assert f"object store in: {tempfile.gettempdir()}" in out, out  # /dev/shm is too small
    assert "Another Ray is already running" in out and "Shut down the other notebook's kernel" in out, out
    assert run.oom_kills == 0 and run.peak_bytes < BINDER_MEMORY


TORCH_THREADS = """
import sys
if sys.argv[1] == "torch-first":
    import torch
from arena_lib import start_ray
start_ray()
import torch
print("threads:", torch.get_num_threads())
"""


@pytest.mark.parametrize("order", ["torch-first", "ray-first"])
def test_pytorch_keeps_to_binders_one_cpu(order, box, tmp_path):
    """Under a CPU quota PyTorch still sees every core; two threads on one CPU doubled the time to the target."""
    if not box.limited or len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs a CPU quota below the machine's cores (a cgroup, 2 or more cores)")
    run = box.run([sys.executable, "-c", TORCH_THREADS, order], timeout=300, cwd=tmp_path, env=tool_env())
    assert run.result.returncode == 0, run.result.stderr[-3000:]
    assert "threads: 1" in run.result.stdout, f"PyTorch should use the box's one CPU: {run.result.stdout}"


def notebook_imports() -> set[str]:
    """Top-level modules the course notebooks import."""
    modules = set()
    for path in sorted(ROOT.glob("notebooks/*/*.ipynb")) + SOLUTIONS:
        for cell in read(path).cells:
            if cell.cell_type != "code":
                continue
            code = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
            for node in ast.walk(ast.parse(code)):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    modules.add(node.module.split(".")[0])
    return modules


def binder_install_steps() -> tuple[str, list[str]]:
    """environment.yml's Python version and pip requirements."""
    spec = yaml.safe_load((ROOT / "environment.yml").read_text())
    python = next(d.split("=", 1)[1] for d in spec["dependencies"] if isinstance(d, str) and d.startswith("python="))
    pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict))
    return python, pip


def test_environment_yml_pins_python_and_a_cpu_torch():
    python, pip = binder_install_steps()
    assert python == "3.11", "nbgrader 0.9.6 needs Python >= 3.11; repo2docker's default is 3.10"
    assert any(line.startswith("--extra-index-url https://download.pytorch.org/whl/cpu") for line in pip)
    assert "torch==2.13.0" in pip
    post_build = (ROOT / "postBuild").read_text()
    assert "pip install --no-cache-dir --no-deps -r requirements/course.lock.txt" in post_build
    assert "pip install --no-cache-dir --no-deps -e ." in post_build


def test_environment_yml_installs_what_the_notebooks_import(binder_install):
    """What repo2docker does, in a fresh venv: environment.yml's pip part, then postBuild
    (installed while the notebooks above ran in the box, see binder_install)."""
    venv, tmp_path = binder_install.result()
    python = str(venv / "bin" / "python")
    modules = sorted(notebook_imports())
    assert {"arena_lib", "ray", "torch", "numpy"} <= set(modules)
    imported = subprocess.run([python, "-c", f"import {', '.join(modules)}; import ipywidgets, jupyterlab, nbgrader"],
                              capture_output=True, text=True, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr[-3000:]
    # The appendix's TensorFlow, in its own folder (arena_lib/tf_appendix.py).
    appendix = subprocess.run([python, "-c", "from arena_lib.tf_appendix import use_tensorflow; use_tensorflow(); "
                               "import tensorflow, tf_keras; print(tensorflow.__version__)"],
                              capture_output=True, text=True, cwd=tmp_path)
    assert appendix.returncode == 0, appendix.stderr[-3000:]
    assert Version(appendix.stdout) == lock.pins(lock.TF_LOCK)["tensorflow-cpu"], appendix.stdout
    # Every package at its locked version, and nothing missing that a package needs.
    freeze = subprocess.run([python, "-m", "pip", "freeze", "--all"], capture_output=True, text=True).stdout
    installed = {canonicalize_name(n): Version(v) for n, v in re.findall(r"^([\w.-]+)==(\S+)$", freeze, re.M)}
    locked = lock.pins(COURSE_LOCK)  # the venv has this Python
    assert {n: v for n, v in installed.items() if n in locked} == locked, "Binder's versions differ from the lock"
    check = subprocess.run([python, "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    torch_build = subprocess.run([python, "-c", "import torch; print(torch.version.cuda)"],
                                 capture_output=True, text=True)
    assert torch_build.stdout.strip() == "None", "a CUDA build of torch: several GB, too big for Binder"
    # Students see the course, not the instructor's formgrader; they keep Validate.
    jupyter = str(venv / "bin" / "jupyter")
    lab = subprocess.run([jupyter, "labextension", "list"], capture_output=True, text=True)
    listing = lab.stdout + lab.stderr
    for plugin in ("menu", "formgrader", "create-assignment", "course-list", "assignment-list"):
        assert f"@jupyter/nbgrader:{plugin}" in listing.split("Disabled extensions:")[-1], listing
    assert "@jupyter/nbgrader:validate-assignment" not in listing
    server = subprocess.run([jupyter, "server", "extension", "list"], capture_output=True, text=True)
    listing = re.sub(r"\x1b\[[0-9;]*m", "", server.stdout + server.stderr)  # no colours
    for extension in ("formgrader", "course_list", "assignment_list"):
        assert f"nbgrader.server_extensions.{extension} disabled" in listing, listing
    assert "nbgrader.server_extensions.validate_assignment enabled" in listing, listing


def test_readme_badge_opens_jupyterlab_on_the_first_notebook():
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\(https://mybinder\.org/v2/gh/[\w.-]+/[\w.-]+/main\?urlpath=lab/tree/([\w./-]+)\)", readme)
    assert links, "README.md has no Binder badge that opens JupyterLab on a notebook"
    first_notebook = min(ROOT.glob("notebooks/*/*.ipynb"))
    assert {ROOT / link for link in links} == {first_notebook}
