"""A real two-node Ray cluster on this machine: notebook 3's training joins it through
start_ray() and RAY_ADDRESS, and its two EnvRunners run one on each node.

The nodes are Ray's own (arena_lib.cluster.LocalCluster over ray.cluster_utils.Cluster:
a head and a worker node, each a real raylet with its own object store and one CPU), on
loopback, with their files in a temp folder of their own; they are stopped by the
cluster object, never by `ray stop` (which would stop every Ray of this user here).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import psutil
import pytest

from tests.notebook_tools import tool_env

pytestmark = pytest.mark.slow

TARGET = 10.0
MAX_ITERATIONS = 60

# Notebook 3's training, as a student runs it against a cluster: RAY_ADDRESS is set,
# start_ray() connects, arena_ppo_config asks for two EnvRunners.
TRAINING = f"""
import json, time
import ray
from arena_lib import start_ray
from arena_lib.cluster import env_runner_nodes
from arena_lib.training import arena_ppo_config, train

start_ray()
started = time.perf_counter()
algo = arena_ppo_config(seed=1, num_env_runners=2).build_algo()
built = time.perf_counter() - started
nodes = env_runner_nodes(algo)
history = train(algo, target_return={TARGET}, max_iterations={MAX_ITERATIONS}, progress=False)
print(json.dumps({{"env_runner_nodes": nodes, "driver_node": ray.get_runtime_context().get_node_id(),
                  "build_seconds": built, "train_seconds": history.seconds[-1], "return": history.last_return,
                  "iterations": len(history.iterations)}}))
algo.stop()
ray.shutdown()
"""


def cluster_processes(temp_dir: str, since: float) -> list[psutil.Process]:
    """Processes of this cluster: this test's descendants started since the cluster (nodes,
    their workers, the training) and anything that names the cluster's temp folder (Ray's
    daemons carry it in their command line)."""
    found = {p.pid: p for p in psutil.Process().children(recursive=True) if p.create_time() >= since - 1}
    for process in psutil.process_iter(["cmdline"]):
        if temp_dir in " ".join(process.info["cmdline"] or []):
            found.setdefault(process.pid, process)
    return list(found.values())


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def still_running(processes: list[psutil.Process], seconds: float = 20) -> list[str]:
    """The processes still running after up to ``seconds`` (Ray's workers end shortly after their raylet)."""
    deadline = time.monotonic() + seconds
    while (running := [p for p in processes if alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.5)
    return [f"{p.pid} {' '.join(p.cmdline())[:80]}" for p in running if alive(p)]


def test_training_on_a_two_node_cluster_uses_both_nodes(tmp_path):
    from arena_lib.cluster import LocalCluster

    since, started = time.time(), time.perf_counter()
    cluster = LocalCluster(nodes=2, cpus_per_node=1, loopback=True)
    processes = []
    try:
        up = time.perf_counter() - started
        head, (worker,) = cluster.head_node_id, cluster.worker_node_ids
        # On loopback the driver must use loopback too (see LocalCluster).
        env = tool_env(RAY_ADDRESS=cluster.address, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")
        run = subprocess.run([sys.executable, "-c", TRAINING], env=env, cwd=tmp_path, capture_output=True,
                             text=True, timeout=300)
        processes = cluster_processes(cluster.folder, since)
    finally:
        processes = processes or cluster_processes(cluster.folder, since)
        cluster.shutdown()
    left = still_running(processes)

    assert run.returncode == 0, run.stderr[-3000:]
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    names = {head: "head", worker: "worker"}
    print(f"\ntwo nodes up in {up:.1f} s: head {head[:8]}, worker {worker[:8]}; driver on "
          f"{names.get(figures['driver_node'], figures['driver_node'][:8])}; EnvRunners on "
          f"{[names.get(n, n[:8]) for n in figures['env_runner_nodes']]}; algorithm built in "
          f"{figures['build_seconds']:.1f} s; return {figures['return']:.1f} after {figures['iterations']} "
          f"iterations, {figures['train_seconds']:.1f} s of training")
    assert sorted(figures["env_runner_nodes"]) == sorted([head, worker]), "the EnvRunners did not use both nodes"
    assert figures["return"] >= TARGET, f"training did not reach {TARGET} in {MAX_ITERATIONS} iterations"
    assert not left, f"Ray processes of the test's cluster still running: {left}"
    assert not os.path.exists(cluster.folder), "the cluster's temp folder is left behind"
