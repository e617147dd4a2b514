"""The course's speed and memory goals: every figure of them that this machine can
measure, beside its goal, as one markdown table (printed at the end and written to
docs/performance.md).

    python -m bench.fast_and_light [--quick] [--rows 1 2 3 4 5 6] [--seeds 1 2 3] [--cap 150]
                                   [--runs 3] [--notebooks 01 ...] [--assignments 01_arena ...]

Rows:
  1  seconds until agent1+agent2 mean return >= 10 (median over seeds): the course config
     beside the plain PyTorch PPO reference, on all cores and in the Binder box (1 CPU)
  2  the same for RLlib's default PPO config, capped at --cap seconds of training
  3  peak PSS of a training process tree (driver + all of Ray), course config (row 1's runs)
  4  each notebook's full run in the Binder box (2 GiB, 1 CPU, JupyterLab beside): its peak working
     set (page cache the kernel frees under the limit left out) and its peak with page cache
  5  `import arena_lib`, `start_ray()` and each notebook's first code cell in a fresh
     process or kernel, on all cores and in the Binder box (1 CPU; median of --runs)
  6  autograding one student's notebooks 01-04 in the sandbox, in all

It reuses bench/time_to_reward.py, notebook_series.py and grading.py (their functions,
not their main(): only this benchmark's section is written). Their progress lines come
first, the table last; a row whose measurement fails says why in the table.
--quick is a smoke run of a few minutes: 1 seed, 30 s caps, notebook 01, 1 run, 01_arena.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench import ROOT, grading, report
from bench.notebook_series import notebook_env, run_in_binder_box
from bench.time_to_reward import REFERENCE, compare, seconds_to_target
from tests.notebook_tools import SOLUTIONS

GB, GiB = 1e9, 2**30
INF = float("inf")
GRADED = ["01_arena", "02_first_training", "03_multi_agent", "04_evaluation"]
QUICK = {"seeds": [1], "cap": 30.0, "runs": 1, "notebooks": ["01"], "assignments": ["01_arena"]}
FULL = {"seeds": [1, 2, 3], "cap": 150.0, "runs": 3, "notebooks": [], "assignments": GRADED}


def memory(peak: float) -> str:
    return f"{peak / GB:.2f} GB ({peak / GiB:.2f} GiB)"


def attempt(measure, *args):
    """Run a measurement; its result, or the exception it raised (shown in its rows)."""
    try:
        return measure(*args)
    except Exception as error:  # noqa: BLE001 - one failed measurement must not end the run
        traceback.print_exc()
        return error


def row(what: str, goal: str, how: str, figure, found, *args) -> list[str]:
    """A table row; ``figure(found, *args)`` gives (the figure now, whether the goal is met or
    None) from ``found``, a measurement's result or the exception it raised (then: failed)."""
    try:
        if isinstance(found, Exception):
            raise found
        now, met = figure(found, *args)
    except Exception as error:  # noqa: BLE001
        text = str(error).strip().splitlines()
        now, met = f"failed: {type(error).__name__}: {text[0][:200] if text else ''}", None
    verdict = {True: " (met)", False: " (**not met**)", None: ""}[met]
    return [what, now, goal + verdict, f"`{how}`"]


# Rows 1-3: training until the target, bench/time_to_reward.py's children.

def medians(runs: dict, name: str, cap: float) -> tuple[float, str]:
    """(median seconds to the target or inf, the figure as text) for one config's runs."""
    rows = [r for r, _ in runs[name]]
    if errors := [r["error"] for r in rows if "error" in r]:
        raise RuntimeError(errors[0])
    times = [seconds_to_target(r) for r in rows]
    median = statistics.median(times)
    if median == INF:
        returns = ", ".join(f"{r['return']:.1f}" for r in rows)
        return median, f"not reached in {cap:.0f} s (returns {returns})"
    each = ", ".join(f"{t:.1f}" if t < INF else f">{cap:.0f}" for t in times)
    return median, f"{median:.1f} s ({each})"


def versus_reference(runs: dict, cap: float):
    course, course_text = medians(runs, "course", cap)
    reference, reference_text = medians(runs, REFERENCE, cap)
    ratio = course / reference
    shown = f"{ratio:.1f}x" if ratio < INF else f"> {cap / reference:.1f}x"
    return f"course {course_text} vs reference {reference_text}: {shown}", ratio <= 2


def versus_default(runs: dict, cap: float):
    course, _ = medians(runs, "course", cap)
    default, default_text = medians(runs, "rllib-default", cap)
    if default < INF:
        return f"{default_text}: course {default / course:.1f}x ahead", default / course >= 10
    # Not reached: the cap over the course's time is a lower bound of the ratio.
    bound = cap / course
    return f"{default_text}: course > {bound:.1f}x ahead", True if bound >= 10 else None


def course_peak(runs: dict):
    medians(runs, "course", INF)  # raises if a run failed
    return memory(max(peak for _, peak in runs["course"])), None


# Row 5: start-up in fresh processes and kernels, measured in children of this script.

# Run with `python -c`: a child of this module would have imported arena_lib already (through
# bench.time_to_reward), and `import arena_lib` would measure nothing.
STARTUP_CHILD = """
import json, time
started = time.perf_counter()
import arena_lib

imported = time.perf_counter() - started
started = time.perf_counter()
arena_lib.start_ray()
ray_started = time.perf_counter() - started
import ray

ray.shutdown()
print(json.dumps({"import arena_lib": imported, "start_ray()": ray_started}))
"""


def first_cell_child(notebook: str) -> None:
    import nbformat
    from nbclient import NotebookClient

    from arena_lib.kernel_client import RepollingKernelManager

    nb = nbformat.read(notebook, as_version=4)
    first = next(cell for cell in nb.cells if cell.cell_type == "code")
    # Stop the cell's Ray while the kernel still runs, as the notebooks' last cells do.
    stop = nbformat.v4.new_code_cell("import sys\nif 'ray' in sys.modules:\n    sys.modules['ray'].shutdown()")
    nb.cells = [first, stop]
    with tempfile.TemporaryDirectory() as work:
        client = NotebookClient(nb, timeout=300, kernel_name="python3", kernel_manager_class=RepollingKernelManager,
                                resources={"metadata": {"path": work}})
        started = time.perf_counter()
        with client.setup_kernel():  # returns once the kernel answers
            kernel = time.perf_counter() - started
            started = time.perf_counter()
            client.execute_cell(first, 0)
            cell = time.perf_counter() - started
            client.execute_cell(stop, 1)
    print(json.dumps({"kernel": kernel, "cell": cell}))


def in_fresh_process(child: list[str], box) -> dict:
    """Run a child of this script, in ``box`` (tests/binder_box.Box) if given."""
    command = ([sys.executable, "-c", STARTUP_CHILD] if child == ["startup"]
               else [sys.executable, "-m", __spec__.name, "--child", *child])
    if box:
        result = box.run(command, timeout=600, env=notebook_env(), cwd=ROOT).result
    else:
        result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=notebook_env(), cwd=ROOT)
    if result.returncode != 0:
        raise RuntimeError((result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1])
    return json.loads(result.stdout.strip().splitlines()[-1])


def startup(notebooks: list[Path], runs: int) -> dict:
    """{(what, cpus): [one dict per run]} for the bare start-up and each notebook's first cell,
    on all cores (cpus None) and in the Binder box (cpus 1), the two in turn."""
    from tests.binder_box import Box

    found, boxes = {}, {None: None, 1: Box()}
    for _ in range(runs):
        for child in [["startup"], *(["first-cell", str(nb)] for nb in notebooks)]:
            for cpus, box in boxes.items():
                key = (child[-1], cpus)
                found.setdefault(key, []).append(attempt(in_fresh_process, child, box))
                print(f"start-up, {'Binder box' if cpus else 'all cores'}, {Path(child[-1]).stem}: {found[key][-1]}",
                      flush=True)
    return found


def startup_figure(found: dict, child: str, key: str, cores: str, goal: float | None = None):
    text, worst = [], 0.0
    for cpus, label in ((None, cores), (1, "Binder box")):
        runs = found[(child, cpus)]
        if errors := [r for r in runs if isinstance(r, Exception)]:
            raise errors[0]
        median = statistics.median(r[key] for r in runs)
        worst = max(worst, median)
        kernel = f" (kernel start {statistics.median(r['kernel'] for r in runs):.1f} s)" if key == "cell" else ""
        text.append(f"{label} {median:.2f} s{kernel}")
    return "; ".join(text), (worst <= goal if goal else None)


# Rows 4 and 6: the Binder box and grading, through notebook_series.py and grading.py.

def binder(notebooks: list[Path]) -> dict:
    from tests.binder_box import Box

    box = Box()
    print(f"Binder box: {box.describe()}, JupyterLab beside the kernel")
    found = {}
    for notebook in notebooks:
        with tempfile.TemporaryDirectory() as work:
            result, peak, working_set, seconds = run_in_binder_box(box, notebook, notebook_env(), work)
        found[notebook] = result, peak, working_set, seconds
        print(f"Binder box {notebook.stem}: {seconds:.0f} s, peak {memory(peak)}, working set {memory(working_set)}, "
              f"exit {result.returncode}", flush=True)
    return found


def binder_figure(found: dict, notebook: Path):
    """The goal counts the working set: page cache the kernel frees under the limit kills nothing."""
    result, peak, working_set, seconds = found[notebook]
    if result.returncode != 0:
        raise RuntimeError((result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1])
    return f"working set {memory(working_set)}, with page cache {memory(peak)}; run {seconds:.0f} s", working_set <= 1.0 * GB


def grading_figure(found: tuple[dict, list]):
    graded, _ = found
    steps = graded["sandbox"]
    if failed := [f"{a}: {outcome}" for a, (_, outcome) in steps.items() if outcome != "ok"]:
        raise RuntimeError("; ".join(failed))
    total = sum(seconds for seconds, _ in steps.values())
    each = ", ".join(f"{assignment[:2]} {seconds:.1f} s" for assignment, (seconds, _) in steps.items())
    return f"{total:.1f} s ({each})", total <= 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: " + " ".join(
        f"--{k} {' '.join(map(str, v)) if isinstance(v, list) else f'{v:g}'}" for k, v in QUICK.items()))
    parser.add_argument("--rows", nargs="+", type=int, choices=range(1, 7), default=list(range(1, 7)))
    parser.add_argument("--seeds", nargs="+", type=int, help=f"rows 1-3 (default {FULL['seeds']})")
    parser.add_argument("--cap", type=float, help=f"rows 1-3: seconds of training before giving up (default {FULL['cap']:g})")
    parser.add_argument("--runs", type=int, help=f"row 5: runs per figure, the median shown (default {FULL['runs']})")
    parser.add_argument("--notebooks", nargs="+", help="rows 4-5: only notebooks whose name contains one (default all)")
    parser.add_argument("--assignments", nargs="+", choices=GRADED, help="row 6 (default 01-04)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return first_cell_child(args.child[1])
    for key, value in (QUICK if args.quick else FULL).items():  # given options win over --quick
        if getattr(args, key) is None:
            setattr(args, key, value)
    rows, cap = set(args.rows), args.cap
    notebooks = [p for p in SOLUTIONS if not args.notebooks or any(n in p.name for n in args.notebooks)]
    if not notebooks:
        parser.error(f"no notebook's name contains any of {args.notebooks}")
    cores = f"{len(os.sched_getaffinity(0))} cores"
    section = report.Section("speed-and-memory-goals", "The course's speed and memory goals")
    me = f"python -m bench.fast_and_light {shlex.join(sys.argv[1:])}".strip()
    ttr = f"python -m bench.time_to_reward --seeds {' '.join(map(str, args.seeds))} --cap {cap:g} --configs"
    table = []

    if rows & {1, 2, 3}:
        configs = ["course", *([REFERENCE] if 1 in rows else []), *(["rllib-default"] if 2 in rows else [])]
        runs = attempt(compare, configs, args.seeds, cap)
        runs_1cpu = attempt(compare, ["course", REFERENCE], args.seeds, cap, None, True) if 1 in rows else None
        what = f"s until agent1+agent2 mean return >= 10, median of seeds {' '.join(map(str, args.seeds))}"
        if 1 in rows:
            table.append(row(f"1 · {what}: course vs PyTorch reference, {cores}", "<= 2x the reference",
                             f"{ttr} course {REFERENCE}", versus_reference, runs, cap))
            table.append(row("1 · same, in the Binder box (1 CPU)", "<= 2x the reference",
                             f"{ttr} course {REFERENCE} --binder", versus_reference, runs_1cpu, cap))
        if 2 in rows:
            table.append(row(f"2 · same, RLlib's default PPO config, {cores}", "course >= 10x ahead",
                             f"{ttr} course rllib-default", versus_default, runs, cap))
        if 3 in rows:
            table.append(row(f"3 · peak PSS of a training process tree (driver + all of Ray), course config, {cores}",
                             "none stated", f"{ttr} course", course_peak, runs))
            if 1 in rows:
                table.append(row("3 · same, in the Binder box: its peak working set", "none stated",
                                 f"{ttr} course --binder", course_peak, runs_1cpu))

    if 4 in rows:
        found = attempt(binder, notebooks)
        for nb in notebooks:
            table.append(row(f"4 · Binder box (2 GiB, 1 CPU, JupyterLab) peak working set, full run: {nb.stem}", "<= 1.0 GB",
                             f"python -m bench.notebook_series --binder {nb.stem}",
                             binder_figure, found, nb))

    if 5 in rows:
        found = attempt(startup, notebooks, args.runs)
        each = f"median of {args.runs} run(s), {cores} and in the Binder box (1 CPU)"
        for key, what in (("import arena_lib", "`import arena_lib` alone"),
                          ("start_ray()", "`start_ray()` alone (after `import arena_lib`; imports Ray)")):
            table.append(row(f"5 · {what}, fresh process, {each}", "part of the first cell's 5 s", me,
                             startup_figure, found, "startup", key, cores))
        for nb in notebooks:
            table.append(row(f"5 · first code cell in a fresh kernel (nbclient), {each}: {nb.stem}", "<= 5 s", me,
                             startup_figure, found, str(nb), "cell", cores, 5.0))

    if 6 in rows:
        graded = attempt(grading.grade, args.assignments, 1, grading.modes(no_unsafe=True))
        table.append(row(f"6 · autograding one student's {' '.join(args.assignments)} in the sandbox, in all", "<= 60 s",
                         f"python -m bench.grading --assignments {' '.join(args.assignments)} --no-unsafe",
                         grading_figure, graded))

    body = (f"Each figure beside its goal, on {cores} ({os.cpu_count()} online); load average "
            f"{os.getloadavg()[0]:.1f} at the end. Seconds are wall-clock; GB = 1e9 bytes, GiB = 2^30 bytes. "
            "Goals for a 16-core machine with a GPU are not measured here.\n\n"
            + report.table(["what", "now", "goal", "measured with"], table))
    print(f"\n## The course's speed and memory goals\n\n{body}")
    section.write(body)


if __name__ == "__main__":
    main()
