"""nbgrader's Execute step, run in the grading sandbox.

The kernel has no network, so Jupyter talks to it over Unix sockets (``ipc``),
in a folder made for this one kernel: another kernel graded at the same time
cannot reach its sockets or read its connection file.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from nbclient.util import run_sync
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, Unicode

from arena_grading import KERNEL_NAME, outcomes
from arena_grading.kernel_client import RepollingKernelClient
from arena_grading.sandbox import REPORT_VARIABLE, Limits, parse_size, sweep_stale_folders

KERNEL_FOLDER_PREFIX = "arena-kernel-"


class SandboxedExecute(Execute):
    sandbox = Bool(True, help="Run student kernels in the grading sandbox. Turning this off is unsafe: "
                              "student code can then read solutions and write the gradebook.").tag(config=True)
    memory_limit = Unicode("2G", help="Memory limit of one student's kernel and everything it starts.").tag(config=True)
    process_limit = Integer(512, help="Processes and threads one student's kernel may run at once.").tag(config=True)
    shm_size = Unicode("512M", help="Size of the kernel's private /dev/shm (Ray's object store).").tag(config=True)

    def create_kernel_manager(self):
        self.kernel_name = KERNEL_NAME if self.sandbox else "python3"
        km = super().create_kernel_manager()
        # Read each reply when it comes, not at the cell's timeout (arena_grading/kernel_client.py).
        km.client_factory = RepollingKernelClient
        if not self.sandbox:
            return km
        sweep_stale_folders(KERNEL_FOLDER_PREFIX)  # of nbgraders that were killed outright
        self._kernel_folder = tempfile.mkdtemp(prefix=f"{KERNEL_FOLDER_PREFIX}{os.getpid()}-")
        km.transport = "ipc"
        km.connection_file = os.path.join(self._kernel_folder, "kernel.json")
        km.ip = os.path.join(self._kernel_folder, "kernel-ipc")
        return km

    async def async_start_new_kernel(self, **kwargs):
        if self.sandbox:
            limits = Limits(parse_size(self.memory_limit), self.process_limit, parse_size(self.shm_size))
            kwargs["env"] = {**os.environ, **limits.as_environment()}
            if self._kernel_report:  # the sandbox writes how the kernel ended there
                kwargs["env"][REPORT_VARIABLE] = str(self._kernel_report)
        return await super().async_start_new_kernel(**kwargs)

    # nbclient binds its blocking start_new_kernel to its own async one: bind it to this one.
    start_new_kernel = run_sync(async_start_new_kernel)

    def preprocess(self, nb, resources=None, km=None):
        self._kernel_folder = None
        self._kernel_report = outcomes.record_path(self.config, resources, "kernel.json")
        try:
            return super().preprocess(nb, resources, km)
        finally:
            if self._kernel_folder:
                shutil.rmtree(self._kernel_folder, ignore_errors=True)
