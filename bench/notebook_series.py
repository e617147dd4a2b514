"""Run every solutions notebook top to bottom with the full training budget (as a
student would) and print its wall seconds and the peak PSS of the whole process
tree (nbconvert, the kernel and every Ray process).

    python bench/notebook_series.py [--grading]

--grading sets NBGRADER_EXECUTION=autograde, the small budgets used while grading.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from process_tree import run_measured  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grading", action="store_true", help="use the grading budgets")
    args = parser.parse_args()
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("NBGRADER_EXECUTION", None)
    if args.grading:
        env["NBGRADER_EXECUTION"] = "autograde"
    total = 0.0
    print(f"{'notebook':<32} {'seconds':>8} {'peak PSS':>9}  result")
    for notebook in sorted(ROOT.glob("solutions/*/*.ipynb")):
        with tempfile.TemporaryDirectory() as work:
            command = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                       "--ExecutePreprocessor.timeout=600", "--output-dir", work, str(notebook)]
            result, peak, seconds = run_measured(command, timeout=900, env=env, cwd=work)
        total += seconds
        verdict = "ok" if result.returncode == 0 else f"FAILED: {result.stderr.strip().splitlines()[-1:]}"
        print(f"{notebook.name:<32} {seconds:>8.1f} {peak / 2**30:>7.2f}GB  {verdict}", flush=True)
    print(f"{'whole series':<32} {total:>8.1f}")


if __name__ == "__main__":
    main()
