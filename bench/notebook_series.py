"""Run every solutions notebook top to bottom with the full training budget (as a
student would): its wall seconds and peak memory, printed and written to
docs/performance.md (a section for each of the plain, --short and --binder runs).

    python -m bench.notebook_series [--short] [--binder [--compare-with REVISION]] [07 ...]

Names given (07, tune, ...) run only the notebooks whose file name contains one.

--short   runs them with the tests' short settings (tests/notebook_tools.py's SHORT_RUN).
--binder  runs each notebook twice, as on Binder, in a box of 2 GiB and 1 CPU (a cgroup,
          where this machine allows it), side by side:
          - with nbclient (as the tests and nbgrader run notebooks), JupyterLab idle
            beside the kernel in the box;
          - as a student runs it: JupyterLab (so its kernel and Ray) in the box, set up as
            Binder sets up a student's (labsettings/student-lab.sh), and Chromium, outside
            the box as on the student's own computer, opening the notebook and choosing
            Run ▸ Run All Cells; timed from that click until the last cell has finished.
          Each cell's seconds come from its execution timing (nbclient's, and JupyterLab's
          "recordTiming" setting); the cells that took over 30 s are listed. The peak is
          the box's (JupyterLab, kernel, all of Ray, page cache), and the working set its
          peak less inactive page cache, which the kernel frees before the limit kills
          anything (Kubernetes, so Binder, watches it). Without --binder, the peak is the
          PSS of the whole process tree (nbconvert, kernel, Ray) on all of this machine's
          cores. The tests run the same box with the short budget (tests/test_binder.py);
          this is the full-budget figure.
--compare-with REVISION  (with --binder) runs each notebook as it was at that git revision
          just before it, with this checkout's arena_lib: a change to a notebook, measured
          side by side in one run (its own section of docs/performance.md).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from arena_lib.process_memory import run_measured
from bench import ROOT, report

LONG_CELL = 30.0  # s: a cell that takes longer says so in the markdown before it
LAB_TIMEOUT = 1500  # s: a notebook that has not finished by then is reported as such
# What a student's JupyterLab records besides its defaults: each cell's execution timing, in its
# metadata (as nbclient records it), read back from the saved notebook.
TIMING_SETTINGS = {"@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"recordTiming": True}}


def notebook_env() -> dict:
    """This environment with the venv's bin first."""
    return dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


def as_run(notebook: Path, short: bool, work: str) -> Path:
    """The notebook to run: itself, or (``short``) a copy in ``work`` with the short settings."""
    if not short:
        return notebook
    import nbformat

    from tests.notebook_tools import short_run

    copy = Path(work) / f"short-{notebook.name}"
    nbformat.write(short_run(notebook), copy)
    return copy


def run_plain(notebook: Path, env: dict, work: str):
    # The grader's kernel client: it reads each reply when it comes (arena_lib/kernel_client.py).
    command = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
               "--ExecutePreprocessor.timeout=600",
               "--ExecutePreprocessor.kernel_manager_class=arena_lib.kernel_client.RepollingKernelManager",
               "--output-dir", work, str(notebook)]
    return run_measured(command, timeout=900, env=env, cwd=work)


@dataclass
class Run:
    """One notebook's run in the box."""

    seconds: float  # nbclient: the whole command (JupyterLab, kernel, cells); JupyterLab: Run All to the last cell
    peak: int
    working_set: int
    problem: str  # "" when every cell ran without an error
    cells: dict = field(default_factory=dict)  # cell index: seconds, from the cells' execution timing
    first_lines: dict = field(default_factory=dict)  # cell index: its first line

    @property
    def cell_seconds(self) -> float:
        return sum(self.cells.values())


def _timestamp(text: str) -> float:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def cell_timings(nb) -> tuple[dict, dict, float | None]:
    """Each code cell's seconds (execute_input to execute_reply) and first line, and the end of
    the last (a Unix time), from the execution timing nbclient and JupyterLab record."""
    seconds, lines, last = {}, {}, None
    for index, cell in enumerate(nb.cells):
        timing = cell.metadata.get("execution", {})
        if cell.cell_type != "code" or "shell.execute_reply" not in timing:
            continue
        started = timing.get("iopub.execute_input") or timing.get("iopub.status.busy")
        ended = _timestamp(timing["shell.execute_reply"])
        seconds[index] = ended - _timestamp(started)
        lines[index] = next((line for line in cell.source.splitlines() if line.strip()), "")
        last = ended if last is None else max(last, ended)
    return seconds, lines, last


def problems_in(nb) -> str:
    from tests.notebook_tools import errors_and_stderr

    errors, _ = errors_and_stderr(nb)
    not_run = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.get("execution_count") is None]
    if errors:
        return f"error in cell {errors[0][0]}: {errors[0][1]}: {str(errors[0][2])[:200]}"
    if not_run:
        return f"cells that did not run: {not_run}"
    return ""


def run_in_binder_box(box, notebook: Path, env: dict, work: str):
    """nbclient runs the notebook, JupyterLab idle beside it, all in the box; the executed notebook
    is written to ``work``. (result, peak, working set, seconds of the whole command)."""
    command = [sys.executable, "-m", "tests.run_with_jupyterlab", str(notebook),
               str(Path(work) / notebook.name)]
    started = time.perf_counter()
    run = box.run(command, timeout=LAB_TIMEOUT, cwd=ROOT, env=env)
    return run.result, run.peak_bytes, run.working_set_bytes, time.perf_counter() - started


def run_with_nbclient(box, notebook: Path, env: dict, work: str) -> Run:
    """``run_in_binder_box``, with each cell's seconds."""
    from tests.notebook_tools import read

    folder = Path(work) / "nbclient"
    folder.mkdir()
    result, peak, working_set, seconds = run_in_binder_box(box, notebook, env, str(folder))
    output = folder / notebook.name
    nb = read(output) if output.exists() else None
    timings, lines, _ = cell_timings(nb) if nb else ({}, {}, None)
    problem = "" if result.returncode == 0 else f"FAILED: {result.stderr.strip().splitlines()[-1:]}"
    return Run(seconds, peak, working_set, problem or (problems_in(nb) if nb else "no output"), timings, lines)


class _BoxedServer:
    """What tests.jupyterlab_server.wait_until_up needs of a process, for a server that runs in
    the box in another thread."""

    def __init__(self, future):
        self.future = future
        self.returncode = None

    def poll(self):
        if self.future.done():
            self.returncode = getattr(self.future.result(), "result", None)
            self.returncode = getattr(self.returncode, "returncode", 1)
            return self.returncode
        return None


def run_in_jupyterlab(box, notebook: Path, env: dict, work: str, python: Path, playwright) -> Run:
    """JupyterLab (set up as a student's, from ``python``'s environment) in the box; Chromium,
    outside it, opens the notebook and chooses Run ▸ Run All Cells. Timed from that click until
    the last cell has finished."""
    import urllib.error

    from tests import browser as lab_browser
    from tests.jupyterlab_server import free_port, lab_command, path_first, wait_until_up
    from tests.notebook_tools import read

    folder = Path(work) / "jupyterlab"
    root = folder / "root"
    root.mkdir(parents=True)
    shutil.copy(notebook, root / notebook.name)
    port, token = free_port(), secrets.token_hex(16)
    lab = {"url": f"http://127.0.0.1:{port}", "token": token, "root": root}
    command = [*lab_command(root, port, token, python), "--ServerApp.log_level=WARN"]
    server_env = path_first({**env, **lab_browser.lab_settings_env(folder, TIMING_SETTINGS)}, python)
    problem, seconds, nb = "", float("nan"), None
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(box.run, command, timeout=LAB_TIMEOUT + 300, cwd=root, env=server_env)
        try:
            wait_until_up(_BoxedServer(future), lab["url"], token, timeout=180)
            browser = lab_browser.launch(playwright)
            try:
                page = browser.new_page(viewport=lab_browser.VIEWPORT)
                panel = lab_browser.open_notebook(page, lab, root / notebook.name)
                code = lab_browser.code_cells(root / notebook.name)
                clicked = time.time()
                lab_browser.choose_run_item(page, panel, "Run All Cells", first_cell=code[0])
                lab_browser.wait_until_run_finished(page, panel, LAB_TIMEOUT, "Run All")
                seen = time.time()
                shown = lab_browser.stderr_outputs(lab_browser.cells(panel))
                lab_browser.save_notebook(page, panel)
                nb = read(root / notebook.name)
                timings, lines, last = cell_timings(nb)
                # The last cell's end as the kernel recorded it; what the page saw, polling, if none.
                seconds = (last if last is not None else seen) - clicked
                problem = problems_in(nb) or (f"stderr in cell {shown[0][0]}: {shown[0][1][:200]}" if shown else "")
            except lab_browser.LabTimeout as error:
                problem, timings, lines = f"FAILED: {error}", {}, {}
            finally:
                browser.close()
        finally:
            try:
                lab_browser.lab_request(lab, "/api/shutdown", method="POST")
            except (OSError, urllib.error.URLError):
                pass  # not up, or gone already: box.run ends it at its timeout
            run = future.result()
    return Run(seconds, run.peak_bytes, run.working_set_bytes, problem, timings, lines)


def gib(value: int) -> str:
    return f"{value / 2**30:.2f} GiB"


def side_by_side(notebooks: list[Path], compare_with: str | None, work: Path):
    """(label, notebook) to run: each notebook, after its version at the git revision
    ``compare_with`` if given (run with this checkout's arena_lib and environment)."""
    import subprocess

    for notebook in notebooks:
        if compare_with:
            relative = notebook.relative_to(ROOT).as_posix()
            old = work / "compared" / compare_with / notebook.parent.name / notebook.name
            old.parent.mkdir(parents=True, exist_ok=True)
            old.write_bytes(subprocess.run(["git", "show", f"{compare_with}:{relative}"], cwd=ROOT,
                                           capture_output=True, check=True).stdout)
            yield f"{notebook.name} at {compare_with}", old
        yield notebook.name, notebook


def binder_series(notebooks: list[Path], env: dict, args, section) -> None:
    from playwright.sync_api import sync_playwright

    from tests.binder_box import Box
    from tests.jupyterlab_server import student_environment

    box = Box()
    budget = "the tests' short settings" if args.short else "the full training budget"
    print(f"in {box.describe()}; each notebook with nbclient, then in JupyterLab driven by Chromium")
    rows, long_cells, details = [], [], {}
    totals = {"nbclient": 0.0, "jupyterlab": 0.0}
    with tempfile.TemporaryDirectory() as work, sync_playwright() as playwright:
        python = student_environment(Path(work) / "student-env")
        print(f"{'notebook':<32} {'nbclient':>9} {'cells':>7} {'JupyterLab':>10} {'peak':>9} {'working set':>11}  result")
        for label, notebook in side_by_side(notebooks, args.compare_with, Path(work)):
            with tempfile.TemporaryDirectory() as one:
                path = as_run(notebook, args.short, one)
                plain = run_with_nbclient(box, path, env, one)
                lab = run_in_jupyterlab(box, path, env, one, python, playwright)
            totals["nbclient"] += plain.seconds
            totals["jupyterlab"] += lab.seconds
            verdict = "; ".join(f"{way}: {run.problem}" for way, run in (("nbclient", plain), ("JupyterLab", lab))
                                if run.problem) or "ok"
            print(f"{label:<32} {plain.seconds:>9.1f} {plain.cell_seconds:>7.1f} {lab.seconds:>10.1f} "
                  f"{gib(lab.peak):>9} {gib(lab.working_set):>11}  {verdict}", flush=True)
            rows.append([label, f"{plain.seconds:.1f}", f"{plain.cell_seconds:.1f}", f"{lab.seconds:.1f}",
                         f"{lab.cell_seconds:.1f}", f"{gib(plain.peak)}, {gib(plain.working_set)}",
                         f"{gib(lab.peak)}, {gib(lab.working_set)}", verdict])
            for index, lab_seconds in sorted(lab.cells.items()):
                if lab_seconds > LONG_CELL or plain.cells.get(index, 0.0) > LONG_CELL:
                    long_cells.append([label, str(index), f"`{lab.first_lines[index][:60]}`",
                                       f"{plain.cells.get(index, float('nan')):.1f}", f"{lab_seconds:.1f}"])
            details[label] = {"nbclient": plain.cells, "jupyterlab": lab.cells, "lines": lab.first_lines}
    if not args.only and not args.compare_with:
        rows.append(["whole series", f"{totals['nbclient']:.1f}", "", f"{totals['jupyterlab']:.1f}", "", "", "", ""])
    # Every cell's seconds, for whoever wants more than the table (reports/ is not in git).
    out = ROOT / "reports" / ("notebook_series_short.json" if args.short else "notebook_series.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(details, indent=1))
    print(f"every cell's seconds: {out.relative_to(ROOT)}")
    header = ["notebook", "nbclient: seconds", "nbclient: cells", "JupyterLab: Run All to the last cell",
              "JupyterLab: cells", "nbclient: peak, working set", "JupyterLab: peak, working set", "result"]
    which = f" Only the notebooks named {', '.join(args.only)} in this run." if args.only else ""
    if args.compare_with:
        named = f" ({args.compare_with_name})" if getattr(args, "compare_with_name", None) else ""
        which += (f" Each notebook ran first as it was at `{args.compare_with}`{named} (with this checkout's arena_lib and "
                  "environment), then as it is.")
    long_table = (report.table(["notebook", "cell", "its first line", "nbclient: seconds", "JupyterLab: seconds"],
                               long_cells) if long_cells else "None.")
    section.write(
        f"Top to bottom with {budget}, in {box.describe()}, each notebook twice, one after the other:\n\n"
        "- **nbclient**: as the tests and nbgrader run a notebook, JupyterLab idle beside the kernel in the box. "
        "Seconds: the whole command (JupyterLab's and the kernel's start included); cells: the sum of the cells' "
        "execution times.\n"
        "- **JupyterLab**: as a student runs it: a JupyterLab set up as Binder sets up a student's "
        "(labsettings/student-lab.sh) in the box, with its kernel and Ray; Chromium, outside the box as on the "
        "student's computer, opens the notebook, waits for its kernel, then chooses Run ▸ Run All Cells. Seconds: "
        "from that click until the last cell has finished; cells: the sum of the cells' execution times "
        "(JupyterLab's recordTiming).\n\n"
        "Peak: the box's (JupyterLab, kernel, all of Ray, page cache); working set: the peak less inactive page "
        f"cache, which the kernel frees before the limit kills anything.{which}\n\n"
        + report.table(header, rows)
        + f"\n\nCells that took over {LONG_CELL:.0f} s in either run (cell: its index in the notebook, from 0); "
        "each says so in the markdown before it:\n\n" + long_table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="with the tests' short settings")
    parser.add_argument("--binder", action="store_true",
                        help="in Binder's limits: with nbclient and in JupyterLab driven by Chromium, side by side")
    parser.add_argument("--compare-with", metavar="REVISION",
                        help="with --binder: run each notebook as it was at this git revision too, just before it")
    parser.add_argument("only", nargs="*", help="only the notebooks whose file name contains one of these")
    args = parser.parse_args()
    notebooks = [p for p in sorted(ROOT.glob("solutions/*/*.ipynb")) if not args.only or any(o in p.name for o in args.only)]
    if not notebooks:
        parser.error(f"no notebook's name contains any of {args.only}; the notebooks: "
                     + ", ".join(p.name for p in sorted(ROOT.glob("solutions/*/*.ipynb"))))
    env = notebook_env()
    budget = "the tests' short settings" if args.short else "the full training budget"
    # One section per kind of run: a --binder run does not replace the plain run's figures.
    if args.compare_with and not args.binder:
        parser.error("--compare-with needs --binder")
    if args.compare_with:  # a branch moves on: the report names the commit run
        import subprocess

        commit = subprocess.run(["git", "rev-parse", "--short=10", f"{args.compare_with}^{{commit}}"], cwd=ROOT,
                                capture_output=True, text=True)
        if commit.returncode != 0:
            parser.error(f"--compare-with {args.compare_with}: {commit.stderr.strip()}")
        given, args.compare_with = args.compare_with, commit.stdout.strip()
        if given != args.compare_with:
            args.compare_with_name = given
    name = ("notebook-series" + ("-short" if args.short else "") + ("-binder" if args.binder else "")
            + ("-compared" if args.compare_with else ""))
    title = f"Each notebook's run with {budget}" + (", in the Binder box: nbclient and JupyterLab in Chromium"
                                                     if args.binder else "")
    if args.compare_with:
        title += f", beside the notebooks as they were at {getattr(args, 'compare_with_name', args.compare_with)}"
    section = report.Section(name, title)
    if args.binder:
        binder_series(notebooks, env, args, section)
        return
    where = "on all of this machine's cores; peak: the PSS of the whole process tree (nbconvert, kernel, Ray)"
    print(where)
    total, rows = 0.0, []
    print(f"{'notebook':<32} {'seconds':>8} {'peak':>8}  result")
    for notebook in notebooks:
        with tempfile.TemporaryDirectory() as work:
            result, peak, seconds = run_plain(as_run(notebook, args.short, work), env, work)
        total += seconds
        verdict = "ok" if result.returncode == 0 else f"FAILED: {result.stderr.strip().splitlines()[-1:]}"
        print(f"{notebook.name:<32} {seconds:>8.1f} {peak / 2**30:>5.2f}GiB  {verdict}", flush=True)
        rows.append([notebook.name, f"{seconds:.1f}", gib(peak), verdict])
    if not args.only:
        print(f"{'whole series':<32} {total:>8.1f}")
        rows.append(["whole series", f"{total:.1f}", "", ""])
    which = f" Only the notebooks named {', '.join(args.only)} in this run." if args.only else ""
    section.write(f"Top to bottom with {budget}, {where}.{which}\n\n"
                  + report.table(["notebook", "seconds", "peak", "result"], rows))


if __name__ == "__main__":
    main()
