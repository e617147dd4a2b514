"""start_ray() starts a Ray without the processes a notebook does not use, that Ray still
runs tasks and actors, and PyTorch keeps to one thread; a plain ray.init() still starts
them (the canary for arena_lib/ray_setup.py's UNUSED_RAY_PROCESSES and LOG_MONITOR)."""

import json
import os
import subprocess
import sys

import pytest

# Each of Ray's Python processes, by a piece of its command line.
RAY_PROCESSES = {
    "autoscaler monitor": "autoscaler/_private/monitor.py",
    "dashboard head": "dashboard/dashboard.py",
    "log monitor": "_private/log_monitor.py",
    "dashboard agent": "ray::DashboardAgent",
    "runtime env agent": "ray::RuntimeEnvAgent",
}

STARTED = """
import json, sys, psutil, ray
from arena_lib import start_ray

cpus = int(sys.argv[1])
if sys.argv[2] == "start_ray":
    start_ray(num_cpus=cpus)
else:
    ray.init(address="local", num_cpus=cpus, include_dashboard=False)
processes = [" ".join(p.cmdline()) for p in psutil.Process().children(recursive=True)]


@ray.remote
def square(x):
    return x * x


@ray.remote
class Counter:
    def __init__(self):
        self.count = 0

    def add(self):
        self.count += 1
        return self.count


counter = Counter.remote()
ray.get(counter.add.remote())
works = ray.get(square.remote(7)) == 49 and ray.get(counter.add.remote()) == 2
import torch  # after start_ray(), as in the notebooks that import RLlib later

print(json.dumps({"processes": processes, "works": works, "torch_threads": torch.get_num_threads(),
                  "connect_retry_ms": ray._config.raylet_client_connect_timeout_milliseconds()}))
ray.shutdown()
"""


def started(how: str, cpus: int) -> dict:
    """Which of RAY_PROCESSES a fresh process's Ray started, and whether it ran a task and an actor."""
    env = {**os.environ, "RAY_ADDRESS": ""}
    run = subprocess.run([sys.executable, "-c", STARTED, str(cpus), how], env=env, capture_output=True, text=True,
                         timeout=180)
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout.strip().splitlines()[-1])
    found["started"] = {name for name, piece in RAY_PROCESSES.items()
                        if any(piece in command for command in found["processes"])}
    return found


@pytest.mark.slow
@pytest.mark.parametrize("cpus", [1, 2])
def test_start_ray_leaves_out_the_processes_a_notebook_does_not_use(cpus):
    found = started("start_ray", cpus)
    assert found["works"], "a task or an actor did not run"
    # The raylet needs both agents: it waits for their ports before it registers.
    expected = {"dashboard agent", "runtime env agent"} | ({"log monitor"} if cpus >= 2 else set())
    assert found["started"] == expected, found["processes"]
    assert found["connect_retry_ms"] == 100, "RAY_SYSTEM_CONFIG did not reach Ray"
    assert found["torch_threads"] == 1, "the course's small networks learn fastest on one PyTorch thread"


@pytest.mark.slow
def test_a_plain_ray_init_still_starts_them():
    """The canary: if this fails, Ray no longer starts these processes by itself (or has a
    switch for them), and start_ray()'s leaner_ray_init can go."""
    found = started("ray.init", 1)
    assert found["works"]
    assert {"autoscaler monitor", "dashboard head", "log monitor"} <= found["started"], found["processes"]
    assert found["connect_retry_ms"] == 1000, "Ray's default changed: is RAY_SYSTEM_CONFIG's retry still needed?"


def test_ray_is_leaner_only_while_it_starts():
    from ray._private import utils
    from ray._private.node import Node

    from arena_lib.ray_setup import UNUSED_RAY_PROCESSES, leaner_ray_init

    before = {name: vars(Node)[name] for name in UNUSED_RAY_PROCESSES}
    asked = utils.get_dashboard_dependency_error
    with leaner_ray_init(UNUSED_RAY_PROCESSES | {"start_something_ray_never_had"}):
        assert all(vars(Node)[name] is not before[name] for name in UNUSED_RAY_PROCESSES)
        assert not hasattr(Node, "start_something_ray_never_had")
        assert isinstance(utils.get_dashboard_dependency_error(), ImportError)
    assert {name: vars(Node)[name] for name in UNUSED_RAY_PROCESSES} == before
    assert utils.get_dashboard_dependency_error is asked
