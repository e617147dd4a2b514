"""nbgrader's Execute step, run in the grading sandbox, within limits the grader keeps.

- **Sockets.** The kernel has no network, so Jupyter talks to it over Unix sockets (``ipc``),
  made by the kernel in its own in-memory socket folder (``arena_grading.sandbox``); here,
  in the host's temporary folder, there is only a folder of the grader's with the
  connection file and a link to them. Nothing the kernel writes lands on the host's disk.
- **Output.** Each cell may keep ``output_bytes_per_cell`` bytes of output and the notebook
  ``output_bytes_per_notebook``; past that, output is dropped as it arrives, with a note in
  the cell. A single message larger than ``message_bytes_limit`` is never read: the
  connection drops it, and the kernel is stopped (:class:`OutputFlood`).
- **Time.** A cell may run ``timeout`` seconds (nbgrader's own limit), the whole notebook
  ``notebook_timeout`` seconds, or, by default, ``notebook_time_factor`` times what the
  reference solution took to grade (at least ``notebook_time_min``); past it the kernel is
  stopped (:class:`OutOfTime`).
- **Hidden tests.** Each test cell runs as two executions, its visible self-check and then
  its hidden tests, merged back after; a separator output marks where the hidden tests'
  outputs start, so that the judge reads reports only from them and feedback never shows them.

A kernel stopped for output or time leaves no autograded notebook: nbgrader lists the
student as not graded, and the reason is recorded in ``<notebook>.stopped.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from time import monotonic

import nbformat
import zmq
from nbclient.util import run_sync
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Integer, Type, Unicode

from arena_grading import KERNEL_NAME, outcomes
from arena_grading.sandbox import (
    REPORT_VARIABLE,
    SOCKETS,
    STDERR_VARIABLE,
    Limits,
    parse_size,
    sweep_stale_folders,
)
from arena_lib.kernel_client import RepollingKernelClient

KERNEL_FOLDER_PREFIX = "arena-kernel-"
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
# Marks, in a test cell's outputs, where the hidden tests' own outputs begin.
HIDDEN_OUTPUTS_MIME = "application/vnd.arena-hidden-tests-ran+json"
# Messages whose size counts against the output caps (status and input echoes do not).
COUNTED = {"stream", "display_data", "update_display_data", "execute_result", "error", "comm_open", "comm_msg"}
ERROR_FIELD_BYTES = 10_000  # an error's message and each traceback line, at most


class KernelStopped(Exception):
    """The grader stopped a student's kernel; nbgrader then does not grade the notebook."""


class OutputFlood(KernelStopped):
    pass


class OutOfTime(KernelStopped):
    pass


class CappedKernelClient(RepollingKernelClient):
    """The repolling client whose sockets refuse any message larger than ``max_message_bytes``
    before it is read into memory (ZeroMQ's MAXMSGSIZE, which drops the connection)."""

    max_message_bytes = Integer(32 * 1024**2).tag(config=True)

    def _context_default(self):
        context = super()._context_default()
        context.setsockopt(zmq.MAXMSGSIZE, self.max_message_bytes)  # for every socket it makes
        return context


def content_bytes(value) -> int:
    """About how many bytes a message's content holds (its strings and buffers)."""
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        return len(value)
    if isinstance(value, dict):
        return sum(len(str(key)) + content_bytes(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return sum(content_bytes(item) for item in value)
    return 8


def shortened(text: str, limit: int = ERROR_FIELD_BYTES) -> str:
    return text if len(text) <= limit else text[:limit] + f" [... {len(text) - limit} more characters]"


class SandboxedExecute(Execute):
    sandbox = Bool(True, help="Run student kernels in the grading sandbox. Turning this off is unsafe: "
                              "student code can then read solutions and write the gradebook.").tag(config=True)
    memory_limit = Unicode("2G", help="Memory limit of one student's kernel and everything it starts, its "
                                      "in-memory files included.").tag(config=True)
    process_limit = Integer(512, help="Processes and threads one student's kernel may run at once.").tag(config=True)
    shm_size = Unicode("512M", help="Size of the kernel's private /dev/shm (Ray's object store).").tag(config=True)
    tmp_size = Unicode("256M", help="Size of the kernel's private /tmp, the only place it can write files.").tag(
        config=True)
    output_bytes_per_cell = Integer(1_000_000, help="Output one cell may keep, in bytes; past it the rest is "
                                                    "dropped, with a note.").tag(config=True)
    output_bytes_per_notebook = Integer(8_000_000, help="Output the whole notebook may keep, in bytes; past it "
                                                        "the rest is dropped, with a note.").tag(config=True)
    message_bytes_limit = Integer(32 * 1024**2, help="The largest single message read from a kernel; a kernel "
                                                     "that sends a larger one is stopped.").tag(config=True)
    notebook_timeout = Integer(0, help="Seconds a whole notebook may run; past it the kernel is stopped and the "
                                       "student is not graded. 0: notebook_time_factor times the reference "
                                       "solution's grading time, at least notebook_time_min.").tag(config=True)
    notebook_time_factor = Float(4.0, help="A notebook's time budget in multiples of the reference solution's "
                                           "grading time (see notebook_timeout).").tag(config=True)
    notebook_time_min = Integer(120, help="The least time budget of a notebook, in seconds (see "
                                          "notebook_timeout).").tag(config=True)
    kernel_client_class = Type(CappedKernelClient, help="The client that reads the kernel's messages.").tag(
        config=True)

    # -- the kernel, its sockets and its limits ---------------------------------------

    def create_kernel_manager(self):
        self.kernel_name = KERNEL_NAME if self.sandbox else "python3"
        km = super().create_kernel_manager()
        # Read each reply when it comes, not at the cell's timeout (arena_lib/kernel_client.py),
        # and never a message over the limit.
        km.client_factory = self.kernel_client_class
        self.config.CappedKernelClient.max_message_bytes = self.message_bytes_limit
        if not self.sandbox:
            return km
        sweep_stale_folders(KERNEL_FOLDER_PREFIX)  # of nbgraders that were killed outright
        self._kernel_folder = tempfile.mkdtemp(prefix=f"{KERNEL_FOLDER_PREFIX}{os.getpid()}-")
        km.transport = "ipc"
        km.connection_file = os.path.join(self._kernel_folder, "kernel.json")
        km.ip = os.path.join(self._kernel_folder, SOCKETS, "kernel")
        return km

    async def async_start_new_kernel(self, **kwargs):
        if self.sandbox:
            limits = Limits(parse_size(self.memory_limit), self.process_limit, parse_size(self.shm_size),
                            parse_size(self.tmp_size))
            kwargs["env"] = {**os.environ, **limits.as_environment()}
            for variable, path in ((REPORT_VARIABLE, self._kernel_report), (STDERR_VARIABLE, self._kernel_stderr)):
                if path:  # the sandbox writes how the kernel ended, and its stderr, there
                    kwargs["env"][variable] = str(path)
        return await super().async_start_new_kernel(**kwargs)

    # nbclient binds each blocking method to its own async one: bind them to these.
    start_new_kernel = run_sync(async_start_new_kernel)

    async def async_start_new_kernel_client(self):
        client = await super().async_start_new_kernel_client()
        # Dropped connections (a message over the limit) show up here (read without asyncio).
        self._monitors = [zmq.Socket.shadow(channel.socket.get_monitor_socket(zmq.EVENT_DISCONNECTED).underlying)
                          for channel in (client.iopub_channel, client.shell_channel)]
        return client

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    def _connection_dropped(self) -> bool:
        return any(monitor.poll(0) for monitor in self._monitors)

    # -- time -------------------------------------------------------------------------

    def _time_budget(self, resources) -> float | None:
        if self.notebook_timeout:
            return float(self.notebook_timeout)
        info = (resources or {}).get("nbgrader") or {}
        if not info.get("student"):
            return None  # the reference itself
        from arena_grading.judge import reference_seconds

        seconds = reference_seconds(self.config, info["assignment"], info["notebook"])
        return max(float(self.notebook_time_min), self.notebook_time_factor * seconds) if seconds else None

    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        if self._deadline is None:
            return timeout
        left = self._deadline - monotonic()
        if left <= 0:
            self._stop(OutOfTime(f"it ran past its time budget of {self._budget:.0f} s for the whole notebook "
                                 "(c.SandboxedExecute.notebook_timeout), so its kernel was stopped"))
        return max(1, min(timeout, left)) if timeout else max(1, left)

    def _stop(self, reason: KernelStopped):
        if self._stopped_record:
            self._stopped_record.write_text(json.dumps({"stopped": str(reason)}))
        raise reason

    # -- output -----------------------------------------------------------------------

    def process_message(self, msg, cell, cell_index):
        kind = msg["msg_type"]
        if kind == "error":  # always kept (it decides the grade), but not at any length
            content = msg["content"]
            content["evalue"] = shortened(str(content.get("evalue", "")))
            content["traceback"] = [shortened(str(line)) for line in content.get("traceback", [])[:100]]
        elif kind in COUNTED:
            if cell_index != self._capped_cell:
                self._capped_cell, self._cell_bytes, self._noted = cell_index, 0, False
            size = content_bytes(msg["content"]) + content_bytes(msg.get("buffers") or [])
            self._cell_bytes += size
            self._notebook_bytes += size
            if self._cell_bytes > self.output_bytes_per_cell or self._notebook_bytes > self.output_bytes_per_notebook:
                if not self._noted:
                    self._noted = True
                    cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=(
                        f"\n[The grader kept no more of this output: a cell keeps at most "
                        f"{self.output_bytes_per_cell:,} bytes and a notebook {self.output_bytes_per_notebook:,} "
                        "(c.SandboxedExecute.output_bytes_per_cell, output_bytes_per_notebook).]\n")))
                return None
        return super().process_message(msg, cell, cell_index)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        visible = self._hidden_parts.get(id(cell))
        if visible is not None and any(o.output_type == "error" for o in visible.get("outputs", [])):
            return cell  # the self-check failed: the hidden tests do not run, as in one cell
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        finally:
            # A dropped connection to a kernel that still runs: it sent a message over the limit.
            # (A kernel that died drops its connections too; nbclient says that one died.)
            if self._monitors and self._connection_dropped() and await self.km.is_alive():
                self._stop(OutputFlood(f"it sent a single output message larger than {self.message_bytes_limit:,} "
                                       "bytes (c.SandboxedExecute.message_bytes_limit), so its kernel was stopped"))

    execute_cell = run_sync(async_execute_cell)  # as start_new_kernel: bound to this one

    # -- the notebook -----------------------------------------------------------------

    def preprocess(self, nb, resources=None, km=None):
        self._kernel_folder = None
        self._monitors = []
        self._capped_cell, self._cell_bytes, self._notebook_bytes, self._noted = None, 0, 0, False
        self._kernel_report = outcomes.record_path(self.config, resources, "kernel.json")
        self._kernel_stderr = (resources or {}).get("arena_kernel_stderr") or outcomes.record_path(
            self.config, resources, "kernel-stderr.txt")
        self._stopped_record = outcomes.record_path(self.config, resources, "stopped.json")
        self._budget = self._time_budget(resources)
        self._deadline = None if self._budget is None else monotonic() + self._budget
        hidden = split_hidden_tests(nb)
        self._hidden_parts = {id(hidden_cell): cell for cell, hidden_cell, _ in hidden}
        try:
            return super().preprocess(nb, resources, km)
        finally:
            merge_hidden_tests(nb, hidden)
            for monitor in self._monitors:
                monitor.close(linger=0)
            if self._kernel_folder:
                shutil.rmtree(self._kernel_folder, ignore_errors=True)


def split_hidden_tests(nb) -> list[tuple]:
    """Run each test cell's hidden tests as an execution of their own: a cell is inserted
    after the test cell with them, and the test cell keeps its visible part for now."""
    pairs = []
    for cell in list(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution") or HIDDEN_BEGIN not in cell.source:
            continue
        visible, _, rest = cell.source.partition(HIDDEN_BEGIN)
        hidden_cell = nbformat.v4.new_code_cell(rest.replace(HIDDEN_END, ""))
        hidden_cell.id = f"{cell.get('id', 'cell')}-hidden"
        pairs.append((cell, hidden_cell, cell.source))
        cell.source = visible
        nb.cells.insert(nb.cells.index(cell) + 1, hidden_cell)
    return pairs


def merge_hidden_tests(nb, pairs: list[tuple]) -> None:
    """Put each test cell back together: its visible outputs, the separator, the hidden tests' outputs."""
    for cell, hidden_cell, source in pairs:
        cell.source = source
        separator = nbformat.v4.new_output("display_data", data={
            HIDDEN_OUTPUTS_MIME: {}, "text/plain": "(the hidden tests ran here; their outputs are not shown)"})
        # Only the grader puts a separator: one the student's code displayed is dropped.
        kept = [o for o in cell.get("outputs", []) if HIDDEN_OUTPUTS_MIME not in o.get("data", {})]
        hidden = [o for o in hidden_cell.get("outputs", []) if HIDDEN_OUTPUTS_MIME not in o.get("data", {})]
        cell.outputs = kept + [separator] + hidden
        if hidden_cell in nb.cells:
            nb.cells.remove(hidden_cell)


def hidden_outputs_start(cell) -> int | None:
    """Where a test cell's hidden tests' outputs begin (the separator's index), if it has one."""
    for index, output in enumerate(cell.get("outputs", [])):
        if HIDDEN_OUTPUTS_MIME in output.get("data", {}):
            return index
    return None
