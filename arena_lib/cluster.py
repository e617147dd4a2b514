"""Ray clusters for the course: where things run, and a small cluster on one machine."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile

from arena_lib.ray_setup import object_store_directory

NODE_OBJECT_STORE_BYTES = 80 * 1024**2  # Ray's minimum is 75 MiB; the arena's batches are tiny


def cluster_nodes() -> list[dict]:
    """The cluster's live nodes: node id, address, CPUs, and whether it is the head."""
    import ray

    return [
        {"node_id": node["NodeID"], "address": node["NodeManagerAddress"],
         "cpus": node["Resources"].get("CPU", 0), "head": "node:__internal_head__" in node["Resources"]}
        for node in ray.nodes() if node["Alive"]
    ]


def env_runner_nodes(algo) -> list[str]:
    """The node id of each of the algorithm's remote EnvRunners (in their order);
    empty when it samples in its own process (``num_env_runners=0``)."""
    import ray

    return algo.env_runner_group.foreach_env_runner(
        lambda runner: ray.get_runtime_context().get_node_id(), local_env_runner=False
    )


class LocalCluster:
    """A Ray cluster of ``nodes`` nodes on this machine, to try cluster code without one.

    Each node is a real Ray node (its own raylet, object store and ``cpus_per_node``
    CPUs), started by Ray's own test helper ``ray.cluster_utils.Cluster``, as
    ``ray start --head`` and ``ray start --address=...`` would on separate machines.
    Its files live in a temp folder of its own: the head, like ``ray start --head``,
    records its address for "the latest cluster on this machine", and elsewhere on the
    machine a plain ``ray.init()`` would then try to join it instead of starting its own.
    ``loopback=True`` keeps every node on 127.0.0.1 (then a driver must set
    ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` before importing Ray, so that it uses
    loopback too). ``shutdown()`` stops this cluster's processes and nothing else.
    """

    def __init__(self, nodes: int = 2, cpus_per_node: int = 1, loopback: bool = False):
        from ray.cluster_utils import Cluster

        self.folder = tempfile.mkdtemp(prefix="arena-")  # short: Ray's socket paths must fit 107 characters
        node = {"num_cpus": cpus_per_node, "object_store_memory": NODE_OBJECT_STORE_BYTES,
                "plasma_directory": object_store_directory(NODE_OBJECT_STORE_BYTES)}
        if loopback:
            node["node_ip_address"] = "127.0.0.1"
        with self._own_folder():
            # No autoscaler monitor (``no_monitor``): it would start and stop nodes, and this
            # cluster's nodes are fixed; it is one process of about 50 MB less (Binder has 2 GB).
            # The log monitor stays: it forwards the workers' prints and errors to the driver.
            self.cluster = Cluster(initialize_head=True,
                                   head_node_args={**node, "include_dashboard": False, "no_monitor": True})
            try:
                self.workers = [self.cluster.add_node(**node) for _ in range(nodes - 1)]
                self.cluster.wait_for_nodes()
            except BaseException:
                self.cluster.shutdown()
                raise
        self.address = self.cluster.address
        self.head_node_id = self.cluster.head_node.node_id
        self.worker_node_ids = [worker.node_id for worker in self.workers]

    def shutdown(self) -> None:
        with self._own_folder():
            self.cluster.shutdown()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()

    @contextlib.contextmanager
    def _own_folder(self):
        """Ray's temp folder (by default /tmp/ray, shared by every Ray here) set to ours."""
        before = os.environ.get("RAY_TMPDIR")
        os.environ["RAY_TMPDIR"] = self.folder
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("RAY_TMPDIR", None)
            else:
                os.environ["RAY_TMPDIR"] = before
