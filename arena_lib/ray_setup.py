"""Starting Ray for the course: small, explicit, quiet, and only once."""

from __future__ import annotations

import logging
import math
import os
import re
import warnings
from pathlib import Path

# Ray's object store must be at least 75 MiB; the arena's batches are tiny, and a
# Binder container has about 2 GB for JupyterLab, the kernel and all of Ray.
OBJECT_STORE_BYTES = 100 * 1024**2


def available_cpus() -> int:
    """CPUs this process may use: the container's CPU quota if it has one, else the machine's."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota is not None:
        cpus = min(cpus, max(1, math.floor(quota)))
    return max(1, cpus)


def _cgroup_cpu_quota() -> float | None:
    v2 = Path("/sys/fs/cgroup/cpu.max")  # "max 100000" or "200000 100000"
    v1_quota = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
    v1_period = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us")
    try:
        if v2.exists():
            quota, period = v2.read_text().split()[:2]
            return None if quota == "max" else int(quota) / int(period)
        if v1_quota.exists() and v1_period.exists():
            quota = int(v1_quota.read_text())
            return None if quota <= 0 else quota / int(v1_period.read_text())
    except (OSError, ValueError):
        return None
    return None


def quiet_rllib_logs() -> None:
    """Hide RLlib's and Ray's start-up chatter in this process; errors still show."""
    for name in ("ray", "ray.rllib", "ray.tune", "ray.train"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"ray\..*")


def hide_worker_deprecation_notices() -> None:
    """Drop RLlib's internal deprecation notices (e.g. about ``RLModuleConfig``) that
    Ray forwards from its workers: students cannot act on them.

    Ray's public switch, RAY_DEDUP_LOGS_SKIP_REGEX, is read when ``ray`` is first
    imported, which a notebook may already have done; so set the same filter on
    the log deduplicators directly. (A runtime_env setup hook would do it in the
    workers, but measured here it doubles the time of a training iteration.)
    """
    try:
        from ray._private import ray_logging
    except ImportError:  # a future Ray moved it: the notices show, nothing breaks
        return
    for deduplicator in (ray_logging.stdout_deduplicator, ray_logging.stderr_deduplicator):
        deduplicator.skip_re = re.compile(r"DeprecationWarning")


def start_ray(num_cpus: int | None = None, object_store_bytes: int = OBJECT_STORE_BYTES) -> dict:
    """Start Ray for this notebook (or connect to a cluster) and return its resources.

    Calling it again does nothing (no "called ray.init twice" error). If the
    environment variable ``RAY_ADDRESS`` is set, it connects to that running
    cluster instead of starting one on this machine.
    """
    import ray

    quiet_rllib_logs()
    if not ray.is_initialized():
        hide_worker_deprecation_notices()
        if os.environ.get("RAY_ADDRESS"):
            ray.init(address=os.environ["RAY_ADDRESS"], logging_level=logging.ERROR)
        else:
            ray.init(
                num_cpus=num_cpus or available_cpus(),
                object_store_memory=object_store_bytes,
                include_dashboard=False,
                logging_level=logging.ERROR,
            )
    return ray.cluster_resources()
