"""The first cell's Ray: seconds of start_ray() beside a bare ray.init(), on all cores and in
a box of Binder's size, with what each of start_ray()'s start-up choices saves, and the
processes and memory of the Ray that each one starts.

    python -m bench.startup [--runs 5] [--only all-cores binder]

Each start runs in a fresh process (a fresh Ray), the variants in turn, run after run (so
that a change in the machine's load falls on every variant alike); the median is shown.
The timed part is the call alone, `import ray` included (a notebook's first cell pays
it there), after `import arena_lib`; ray.shutdown() follows, untimed. Variants:

  ray.init()                  Ray's defaults
  ray.init(course's args)     start_ray()'s arguments to ray.init(), none of its other choices
  start_ray()                 the course's
  start_ray(), all processes  without ray_setup.UNUSED_RAY_PROCESSES and LOG_MONITOR left out
  start_ray(), 1-s retry      without RAY_SYSTEM_CONFIG's faster retry of the raylet's object store

Writes docs/performance.md's section; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from bench import ROOT, report

VARIANTS = {
    "ray.init()": "ray.init() with Ray's defaults",
    "ray.init(course's args)": "ray.init() with start_ray()'s arguments, without its other choices",
    "start_ray()": "start_ray(): the course's",
    "start_ray(), all processes": "start_ray() leaving out no Ray process",
    "start_ray(), 1-s retry": "start_ray() with the raylet's default 1-s retry of its object store",
}
PLACES = {"all-cores": "all cores", "binder": "the Binder box"}


def child(variant: str) -> None:
    """Start Ray as ``variant`` says, print the seconds, Ray's processes and their PSS as JSON."""
    import logging

    import psutil

    import arena_lib
    from arena_lib import ray_setup
    from arena_lib.process_memory import tree_pss_bytes

    if variant == "start_ray(), all processes":
        ray_setup.UNUSED_RAY_PROCESSES, ray_setup.LOG_MONITOR = set(), "(none)"
    if variant == "start_ray(), 1-s retry":
        ray_setup.RAY_SYSTEM_CONFIG = {"prestart_worker_first_driver": False}
    cpus = ray_setup.available_cpus()
    started = time.perf_counter()
    import ray

    if variant == "ray.init()":
        ray.init()
    elif variant == "ray.init(course's args)":
        ray.init(address="local", num_cpus=cpus, object_store_memory=ray_setup.OBJECT_STORE_BYTES,
                 _plasma_directory=ray_setup.object_store_directory(ray_setup.OBJECT_STORE_BYTES),
                 include_dashboard=False, logging_level=logging.ERROR)
    else:
        arena_lib.start_ray()
    seconds = time.perf_counter() - started
    me = psutil.Process()
    ray_processes = me.children(recursive=True)
    memory = tree_pss_bytes(me) - me.memory_full_info().pss
    ray.shutdown()
    print(json.dumps({"seconds": seconds, "processes": len(ray_processes), "pss": memory}))


def run(variant: str, box) -> dict:
    command = [sys.executable, "-m", __spec__.name, "--child", variant]
    env = {**os.environ, "RAY_ADDRESS": ""}
    if box:
        result = box.run(command, timeout=300, cwd=ROOT, env=env).result
    else:
        result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    if result.returncode != 0:
        raise RuntimeError((result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1])
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", nargs="+", choices=list(PLACES), default=list(PLACES))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child)

    from tests.binder_box import Box

    section = report.Section("startup", "The first cell's Ray: start_ray() beside ray.init()")
    boxes = {"all-cores": None, "binder": Box()}
    found = {(place, variant): [] for place in args.only for variant in VARIANTS}
    for number in range(1, args.runs + 1):
        for place in args.only:
            for variant in VARIANTS:
                try:
                    found[place, variant].append(run(variant, boxes[place]))
                except Exception as error:  # noqa: BLE001 - one failed start must not end the run
                    found[place, variant].append({"error": str(error)})
                print(f"run {number}, {PLACES[place]}, {variant}: {found[place, variant][-1]}", flush=True)

    rows = []
    for place in args.only:
        for variant, what in VARIANTS.items():
            runs = found[place, variant]
            if errors := [r["error"] for r in runs if "error" in r]:
                rows.append([PLACES[place], what, f"failed: {errors[0][:200]}", "", ""])
                continue
            seconds = sorted(r["seconds"] for r in runs)
            rows.append([PLACES[place], what,
                         f"{statistics.median(seconds):.2f} ({', '.join(f'{s:.2f}' for s in seconds)})",
                         f"{statistics.median(r['processes'] for r in runs):g}",
                         f"{statistics.median(r['pss'] for r in runs) / 2**20:.0f} MiB"])
    body = (f"Seconds of the call in a fresh process (`import ray` included), median of {args.runs} runs (each "
            "run's figures sorted in brackets), the variants in turn; Ray's processes and their PSS right after "
            f"the start. The Binder box: {boxes['binder'].describe()}. Load average "
            f"{os.getloadavg()[0]:.1f} at the end.\n\n"
            + report.table(["where", "start", "seconds", "Ray's processes", "their PSS"], rows))
    print(f"\n{body}")
    section.write(body)


if __name__ == "__main__":
    main()
