"""Starting Ray for the course: small, explicit, quiet, and only once."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import shutil
import sys
import tempfile
import warnings

from arena_lib import cgroups

# Ray's object store must be at least 75 MiB; the arena's batches are tiny, and a
# Binder container has about 2 GB for JupyterLab, the kernel and all of Ray.
OBJECT_STORE_BYTES = 100 * 1024**2


RAY_SYSTEM_CONFIG = {
    # Ray starts one idle worker process per CPU when a driver connects, for tasks to come:
    # about 50 MB each, of Binder's 2 GB, where the course samples in the kernel and runs no
    # task. Actors (EnvRunners, Tune's trials) start their own worker when there is none idle.
    "prestart_worker_first_driver": False,
    # The raylet connects to the object store it has just started in a thread of its own;
    # when the store is not listening yet (most starts on one CPU), the raylet sleeps this
    # long before it tries again: 1000 ms by default, a second of nothing in the first cell.
    # Retry every 100 ms, ten times as often, so it still gives up after 10 s. (Internal
    # settings: an unknown one would stop Ray from starting, so the tests catch a rename.)
    "raylet_client_connect_timeout_milliseconds": 100,
    "raylet_client_num_connect_attempts": 100,
}

# Processes ray.init() starts for every Ray of its own that a notebook's Ray does without.
# Each one is a Python process that imports Ray (about half a second of CPU and 50 MB) while
# the raylet starts, so on Binder's one CPU they add seconds to the first cell; ray.init()
# has no switch for them. start_ray() skips these methods of Ray's Node while ray.init()
# runs (leaner_ray_init); tests/test_ray_setup.py checks that they stay away, and fails once
# a plain ray.init() no longer starts them, so that this can go.
UNUSED_RAY_PROCESSES = {
    # The autoscaler's monitor: a Ray on one machine never adds or removes nodes.
    "start_monitor",
    # The dashboard's head process. With include_dashboard=False it serves usage
    # statistics only, which ray.init() turns off; yet ray.init() waits for it to be up
    # before it starts the raylet.
    "start_api_server",
}
# The log monitor forwards what Ray's worker processes print to the notebook. The course
# samples in the notebook's own process (arena_lib.training.default_sampling), and with one
# CPU (Binder) there is no room for more, so there is nothing to forward; with more CPUs a
# notebook may add EnvRunners or run Tune's trials, which run the students' RLModules and
# callbacks, and their prints and warnings should show. (Ray keeps every worker's output in
# its session folder too: /tmp/ray/session_latest/logs/worker-*.)
LOG_MONITOR = "start_log_monitor"

# What a second notebook's Ray (raylet, GCS, env runners, learner) adds, measured
# with bench/notebook_series.py; below this much free memory it would not fit.
RAY_NEEDS_BYTES = 1024**3


def _visible_cores() -> int:
    """Cores this process may run on (its affinity); a CPU quota does not hide any of them."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def available_cpus() -> int:
    """CPUs this process may use: the container's CPU quota if it has one, else the machine's."""
    cpus = _visible_cores()
    quota = cgroups.cpu_quota()
    if quota is not None:
        cpus = min(cpus, max(1, math.floor(quota)))
    return max(1, cpus)


def keep_torch_to_one_thread() -> None:
    """Keep PyTorch in this process (the notebook's, which always learns, and samples too
    on one CPU) to one thread.

    The course's networks are small (two layers of 64): an operation on a minibatch takes
    microseconds, less than handing it to other threads, which then also compete for the
    cores with the EnvRunner processes (Ray gives each of those one thread) and with
    JupyterLab. PyTorch starts a thread per core it sees, and a container's CPU quota
    (Binder's one CPU) hides no core from it. With more threads, an iteration took several
    times as long (``python -m bench.time_to_reward --configs course course:torch_threads=2``).
    """
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(1)
    else:  # read when PyTorch loads; Ray has started its processes already, so they keep theirs
        os.environ.setdefault("OMP_NUM_THREADS", "1")


def available_memory_bytes() -> int:
    """Memory this process may still use: the smaller of the machine's free memory
    and what its container's limit leaves (Binder's limit is 2 GB)."""
    import psutil

    free = psutil.virtual_memory().available
    limit, used = cgroups.memory_limit_and_use()
    return free if limit is None else max(0, min(free, limit - used))


def object_store_directory(object_store_bytes: int) -> str | None:
    """Where Ray keeps its object store: /dev/shm (Ray's default, None) if it has room,
    else the temp folder. Docker's and Binder's /dev/shm is often only 64 MB; Ray
    would then fall back by itself, with a long warning about performance that does
    not matter for the arena's tiny batches."""
    try:
        room = shutil.disk_usage("/dev/shm").free
    except OSError:
        return None  # no /dev/shm (macOS): Ray picks its own folder
    return None if room >= object_store_bytes * 1.1 else tempfile.gettempdir()


class NoRoomForRay(RuntimeError):
    """Another Ray already runs here and a second one would not fit in memory."""


def other_local_rays() -> list:
    """This user's running Ray clusters on this machine (their GCS processes), after
    giving one that is shutting down (a just-restarted kernel's) a few seconds."""
    import psutil

    uid = os.getuid()
    found = []
    for process in psutil.process_iter(["name", "uids"]):
        if process.info["name"] == "gcs_server" and process.info["uids"] and process.info["uids"].real == uid:
            found.append(process)
    _, alive = psutil.wait_procs(found, timeout=5)
    return alive


def check_room_for_ray() -> None:
    """Refuse, with what to do, to start a second Ray that would not fit in memory."""
    if available_memory_bytes() >= RAY_NEEDS_BYTES:
        return  # room enough: no need to look for other Rays
    others = other_local_rays()  # waits for one that is shutting down, so measure after it
    free = available_memory_bytes()
    if others and free < RAY_NEEDS_BYTES:
        raise NoRoomForRay(
            f"Another Ray is already running on this machine (process {others[0].pid}), most likely "
            f"started by another open notebook, and only {free / 1e9:.1f} GB of memory is left: not "
            f"enough for a second one (about {RAY_NEEDS_BYTES / 1e9:.1f} GB). Shut down the other "
            "notebook's kernel (in that notebook: Kernel > Shut Down Kernel, or the 'Running "
            "Terminals and Kernels' tab on the left), then run this cell again. If you started "
            "that Ray yourself with `ray start`, set RAY_ADDRESS=auto to use it instead."
        )


def quiet_rllib_logs() -> None:
    """Hide RLlib's and Ray's start-up chatter in this process; errors still show."""
    for name in ("ray", "ray.rllib", "ray.tune", "ray.train"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"ray\..*")
    # Each algorithm that samples in this process registers RLlib's env wrapper with
    # gymnasium again (a second one: a restored checkpoint, notebook 5's comparison).
    warnings.filterwarnings("ignore", message=r".*Overriding environment rllib-", category=UserWarning)


def hide_worker_deprecation_notices() -> None:
    """Drop RLlib's internal deprecation notices (e.g. about ``RLModuleConfig``) that
    Ray forwards from its workers: students cannot act on them.

    Ray's public switch, RAY_DEDUP_LOGS_SKIP_REGEX, is read when ``ray`` is first
    imported, which a notebook may already have done; so set the same filter on
    the log deduplicators directly. (A runtime_env setup hook would do it in the
    workers, but measured here it doubles the time of a training iteration.)
    """
    skip_forwarded_lines(re.compile(r"DeprecationWarning"))


def skip_forwarded_lines(pattern: re.Pattern) -> None:
    """Drop the lines matching ``pattern`` that Ray forwards from its workers to this process
    (one pattern for all: set the widest one needed)."""
    try:
        from ray._private import ray_logging
    except ImportError:  # a future Ray moved it: the lines show, nothing breaks
        return
    for deduplicator in (ray_logging.stdout_deduplicator, ray_logging.stderr_deduplicator):
        deduplicator.skip_re = pattern


def _do_nothing(*args, **kwargs) -> None:
    return None


@contextlib.contextmanager
def leaner_ray_init(left_out):
    """While in it, ray.init() does not start the processes that these methods of Ray's Node
    (names such as "start_monitor") start. A name Ray no longer has is ignored: then that
    process starts."""
    from ray._private.node import Node

    saved = [(Node, name, vars(Node)[name], _do_nothing) for name in left_out if name in vars(Node)]
    try:
        for owner, name, _, replacement in saved:
            setattr(owner, name, replacement)
        yield
    finally:
        for owner, name, original, _ in saved:
            setattr(owner, name, original)


def start_ray(num_cpus: int | None = None, object_store_bytes: int = OBJECT_STORE_BYTES) -> dict:
    """Start Ray for this notebook (or connect to a cluster) and return its resources.

    Calling it again does nothing (no "called ray.init twice" error). If the
    environment variable ``RAY_ADDRESS`` is set, it connects to that running
    cluster instead of starting one on this machine. If another notebook's Ray
    already runs here and a second one would not fit in memory (as on Binder's
    2 GB), it raises :class:`NoRoomForRay`, which says what to do. It keeps PyTorch
    in this process to one thread (see :func:`keep_torch_to_one_thread`). A Ray of
    its own starts without the processes a notebook does not use (see
    ``UNUSED_RAY_PROCESSES``), so that the first cell is quick on Binder's one CPU.
    """
    import ray

    quiet_rllib_logs()
    if not ray.is_initialized():
        hide_worker_deprecation_notices()
        if os.environ.get("RAY_ADDRESS"):
            ray.init(address=os.environ["RAY_ADDRESS"], logging_level=logging.ERROR)
        else:
            check_room_for_ray()
            num_cpus = num_cpus or available_cpus()
            forward_worker_output = num_cpus >= 2  # see LOG_MONITOR
            left_out = UNUSED_RAY_PROCESSES | (set() if forward_worker_output else {LOG_MONITOR})
            with leaner_ray_init(left_out):
                ray.init(
                    # A Ray of this notebook's own, even where `ray start` runs one on this machine
                    # (ray.init() would join that one, and then refuse num_cpus).
                    address="local",
                    num_cpus=num_cpus,
                    object_store_memory=object_store_bytes,
                    _plasma_directory=object_store_directory(object_store_bytes),
                    include_dashboard=False,
                    log_to_driver=forward_worker_output,
                    logging_level=logging.ERROR,
                    _system_config=RAY_SYSTEM_CONFIG,
                )
    keep_torch_to_one_thread()
    return ray.cluster_resources()
