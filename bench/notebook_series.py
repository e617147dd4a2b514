"""Run every solutions notebook top to bottom with the full training budget (as a
student would): its wall seconds and peak memory, printed and written to
docs/performance.md (a section for each of the plain, --short and --binder runs).

    python -m bench.notebook_series [--short] [--binder] [07 ...]

Names given (07, tune, ...) run only the notebooks whose file name contains one.

--short   runs them with the tests' short settings (tests/notebook_tools.py's SHORT_RUN).
--binder  runs each notebook as on Binder: in a box of 2 GiB and 1 CPU (a cgroup,
          where this machine allows it) with JupyterLab running beside the kernel;
          the peak is the box's (JupyterLab, kernel, all of Ray, page cache), and the
          working set its peak less inactive page cache, which the kernel frees before
          the limit kills anything (Kubernetes, so Binder, watches it). Without it, the
          peak is the PSS of the whole process tree (nbconvert, kernel, Ray) on all
          of this machine's cores. The tests run the same box with the short
          budget (tests/test_binder.py); this is the full-budget figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from arena_lib.process_memory import run_measured
from bench import ROOT, report


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


def run_in_binder_box(box, notebook: Path, env: dict, work: str):
    command = [sys.executable, "-m", "tests.run_with_jupyterlab", str(notebook),
               str(Path(work) / notebook.name)]
    started = time.perf_counter()
    run = box.run(command, timeout=1200, cwd=ROOT, env=env)
    return run.result, run.peak_bytes, run.working_set_bytes, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="with the tests' short settings")
    parser.add_argument("--binder", action="store_true", help="in Binder's limits, with JupyterLab")
    parser.add_argument("only", nargs="*", help="only the notebooks whose file name contains one of these")
    args = parser.parse_args()
    notebooks = [p for p in sorted(ROOT.glob("solutions/*/*.ipynb")) if not args.only or any(o in p.name for o in args.only)]
    if not notebooks:
        parser.error(f"no notebook's name contains any of {args.only}; the notebooks: "
                     + ", ".join(p.name for p in sorted(ROOT.glob("solutions/*/*.ipynb"))))
    env = notebook_env()
    budget = "the tests' short settings" if args.short else "the full training budget"
    # One section per kind of run: a --binder run does not replace the plain run's figures.
    name = "notebook-series" + ("-short" if args.short else "") + ("-binder" if args.binder else "")
    section = report.Section(name, f"Each notebook's run with {budget}" + (", in the Binder box" if args.binder else ""))
    box = None
    if args.binder:
        from tests.binder_box import Box

        box = Box()
        where = f"in {box.describe()}, JupyterLab beside the kernel"
    else:
        where = "on all of this machine's cores; peak: the PSS of the whole process tree (nbconvert, kernel, Ray)"
    print(where)
    total, rows = 0.0, []
    # In the box, "peak" counts page cache too; "working set" leaves out the inactive part,
    # which the kernel frees before the limit kills anything (what Binder's Kubernetes watches).
    print(f"{'notebook':<32} {'seconds':>8} {'peak':>8}" + (f" {'working set':>11}" if box else "") + "  result")
    for notebook in notebooks:
        with tempfile.TemporaryDirectory() as work:
            if box:
                result, peak, working_set, seconds = run_in_binder_box(box, as_run(notebook, args.short, work), env, work)
            else:
                result, peak, seconds = run_plain(as_run(notebook, args.short, work), env, work)
        total += seconds
        verdict = "ok" if result.returncode == 0 else f"FAILED: {result.stderr.strip().splitlines()[-1:]}"
        extra = f" {working_set / 2**30:>8.2f}GiB" if box else ""
        print(f"{notebook.name:<32} {seconds:>8.1f} {peak / 2**30:>5.2f}GiB{extra}  {verdict}", flush=True)
        rows.append([notebook.name, f"{seconds:.1f}", f"{peak / 2**30:.2f} GiB",
                     *([f"{working_set / 2**30:.2f} GiB"] if box else []), verdict])
    if not args.only:
        print(f"{'whole series':<32} {total:>8.1f}")
        rows.append(["whole series", f"{total:.1f}", "", *([""] if box else []), ""])
    header = ["notebook", "seconds", "peak", *(["working set"] if box else []), "result"]
    explained = (" Peak: the box's (JupyterLab, kernel, all of Ray, page cache); working set: the peak less "
                 "inactive page cache, which the kernel frees before the limit kills anything." if box else "")
    which = f" Only the notebooks named {', '.join(args.only)} in this run." if args.only else ""
    section.write(f"Top to bottom with {budget}, {where}.{explained}{which}\n\n" + report.table(header, rows))


if __name__ == "__main__":
    main()
