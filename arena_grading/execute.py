"""nbgrader's Execute step, run as a graded run (``arena_grading.cells``), in the grading sandbox.

``nbgrader autograde`` uses :class:`SandboxedExecute` (``nbgrader_config.py``). What it runs is
built from the instructor's source notebook: the student's exercise cells, the test cells'
visible self-checks, then every test cell's hidden tests, last (those of a cell whose self-check
failed do not run: the cell has no points to win). Nothing else of the student's notebook runs. Its kernel gets the grading build of arena_lib (``arena_grading.library``), in
which the course code that computes the assignment's answers raises ``WriteYourOwn``.

Of the hidden tests' execution nothing is kept in the notebook: their reports (the student's
answers on the hidden cases) go to the judge through ``resources["arena_hidden"]``, with the
name of any error they stopped with; every other output (prints, displays, display updates,
widget messages) is dropped as it arrives. So whatever a student's code does while or after the
hidden tests run, nothing of them reaches the autograded notebook, feedback or any page.

Limits, each enforced here, in nbgrader's process:

- **Output.** A cell keeps ``output_bytes_per_cell`` bytes of output and the notebook
  ``output_bytes_per_notebook``; the rest is dropped as it arrives, with a note. Errors count
  too: an execution keeps its first error (its message and traceback lines shortened), and
  drops later ones with a note. A single message larger than ``message_bytes_limit`` is never
  read: the connection drops it, and the kernel is stopped (:class:`OutputFlood`).
- **Time.** A cell may run ``timeout`` seconds (nbgrader's own limit), the whole notebook
  ``notebook_timeout`` seconds, or, by default, ``notebook_time_factor`` times what the
  reference solution took to grade (at least ``notebook_time_min``); past it the kernel is
  stopped (:class:`OutOfTime`).

A kernel stopped for output or time leaves no autograded notebook: nbgrader lists the
student as not graded, and the reason is recorded in ``<notebook>.stopped.json``.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import shutil
import tempfile
from pathlib import Path
from time import monotonic

import nbformat
import zmq
from nbclient.util import run_sync
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Integer, Type, Unicode

from arena_grading import KERNEL_NAME, library, outcomes
from arena_grading.cells import (
    EXERCISE,
    HIDDEN_TESTS,
    SELF_CHECK,
    cells_by_grade_id,
    grade_id,
    graded_run,
    is_test_cell,
)
from arena_grading.sandbox import (
    LIBRARY_VARIABLE,
    REPORT_VARIABLE,
    SOCKETS,
    STDERR_VARIABLE,
    Limits,
    parse_size,
    sweep_stale_folders,
)
from arena_lib.answers import ANSWERS_MIME
from arena_lib.kernel_client import RepollingKernelClient

KERNEL_FOLDER_PREFIX = "arena-kernel-"
# Messages whose size counts against the output caps (status and input echoes do not).
COUNTED = {"stream", "display_data", "update_display_data", "execute_result", "error", "comm_open", "comm_msg"}
# Everything a kernel can send that ends up in a notebook, or in a widget's state.
OUTPUTS = COUNTED | {"clear_output", "comm_close"}
ERROR_FIELD_BYTES = 10_000  # an error's message and each traceback line, at most
ERROR_LINES = 100  # traceback lines of an error, at most
REPORT_BYTES = 1_000_000  # all the reports of one test cell's hidden tests, at most
REPORTS_PER_CELL = 20
# The names of the judge's own messages in a test cell (arena_grading.judge): an error the
# student's code raises under one of them is renamed, so that none of its outputs looks like the judge's.
JUDGE_NAMES = ("WrongAnswer", "NoAnswer")


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


def error_name(value) -> str:
    """An error's name as the grader repeats it: a Python identifier (dots allowed), at most 60
    characters; anything else a student's code made up becomes "an error"."""
    text = str(value)
    return text if text and len(text) <= 60 and all(p.isidentifier() for p in text.split(".")) else "an error"


def source_notebook(config, assignment: str, notebook: str):
    """The instructor's notebook (with solutions and hidden tests) of a submission."""
    from nbgrader.coursedir import CourseDirectory

    coursedir = CourseDirectory(config=config)
    folder = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
    return nbformat.read(folder / f"{notebook}.ipynb", as_version=4)


class SandboxedExecute(Execute):
    sandbox = Bool(True, help="Run student kernels in the grading sandbox. Turning this off is unsafe: "
                              "student code can then read solutions and write the gradebook.").tag(config=True)
    memory_limit = Unicode("2G", help="Memory limit of one student's kernel and everything it starts, its "
                                      "in-memory files included.").tag(config=True)
    process_limit = Integer(512, help="Processes and threads one student's kernel may run at once.").tag(config=True)
    shm_size = Unicode("512M", help="Size of the kernel's private /dev/shm (Ray's object store).").tag(config=True)
    tmp_size = Unicode("256M", help="Size of the kernel's private /tmp, the only place it can write files.").tag(
        config=True)
    output_bytes_per_cell = Integer(1_000_000, help="Output one cell may keep, in bytes, its errors included; "
                                                    "past it the rest is dropped, with a note.").tag(config=True)
    output_bytes_per_notebook = Integer(8_000_000, help="Output the whole notebook may keep, in bytes; past it "
                                                        "the rest is dropped, with a note.").tag(config=True)
    message_bytes_limit = Integer(32 * 1024**2, help="The largest single message read from a kernel; a kernel "
                                                     "that sends a larger one is stopped.").tag(config=True)
    output_bytes_interrupt = Integer(10_000_000, help="Output a cell may send before the grader interrupts it (what "
                                                     "is past output_bytes_per_cell is dropped anyway; reading it "
                                                     "would only take time).").tag(config=True)
    notebook_timeout = Integer(0, help="Seconds a whole notebook may run; past it the kernel is stopped and the "
                                       "student is not graded. 0: notebook_time_factor times the reference "
                                       "solution's grading time, at least notebook_time_min.").tag(config=True)
    notebook_time_factor = Float(4.0, help="A notebook's time budget in multiples of the reference solution's "
                                           "grading time (see notebook_timeout).").tag(config=True)
    notebook_time_min = Integer(120, help="The least time budget of a notebook, in seconds (see "
                                          "notebook_timeout).").tag(config=True)
    kernel_client_class = Type(CappedKernelClient, help="The client that reads the kernel's messages.").tag(
        config=True)
    # Widgets' states would keep what a student's code sent them; feedback cannot show them anyway.
    store_widget_state = Bool(False).tag(config=True)
    _assignment = None  # set by preprocess; without one, the grading build withholds nothing

    # -- the kernel, its library, its sockets and its limits ----------------------------

    def create_kernel_manager(self):
        self.kernel_name = KERNEL_NAME if self.sandbox else "python3"
        km = super().create_kernel_manager()
        # Read each reply when it comes, not at the cell's timeout (arena_lib/kernel_client.py),
        # and never a message over the limit.
        km.client_factory = self.kernel_client_class
        self.config.CappedKernelClient.max_message_bytes = self.message_bytes_limit
        sweep_stale_folders(KERNEL_FOLDER_PREFIX)  # of nbgraders that were killed outright
        self._library_folder = tempfile.mkdtemp(prefix=f"{KERNEL_FOLDER_PREFIX}{os.getpid()}-library-")
        os.chmod(self._library_folder, 0o755)
        self._library = library.build(self._assignment, Path(self._library_folder))
        if not self.sandbox:
            return km
        self._kernel_folder = tempfile.mkdtemp(prefix=f"{KERNEL_FOLDER_PREFIX}{os.getpid()}-")
        km.transport = "ipc"
        km.connection_file = os.path.join(self._kernel_folder, "kernel.json")
        km.ip = os.path.join(self._kernel_folder, SOCKETS, "kernel")
        return km

    async def async_start_new_kernel(self, **kwargs):
        kwargs["env"] = dict(kwargs.get("env") or os.environ)
        if self.sandbox:
            limits = Limits(parse_size(self.memory_limit), self.process_limit, parse_size(self.shm_size),
                            parse_size(self.tmp_size))
            kwargs["env"].update(limits.as_environment())
            kwargs["env"][LIBRARY_VARIABLE] = str(self._library)  # the sandbox mounts it where arena_lib is
            for variable, path in ((REPORT_VARIABLE, self._kernel_report), (STDERR_VARIABLE, self._kernel_stderr)):
                if path:  # the sandbox writes how the kernel ended, and its stderr, there
                    kwargs["env"][variable] = str(path)
        else:  # without the sandbox the build comes first on the path, which code can change
            kwargs["env"]["PYTHONPATH"] = str(self._library.parent)
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
        from nbgrader.coursedir import CourseDirectory

        seconds = outcomes.reference_seconds(CourseDirectory(config=self.config).root, info["assignment"],
                                             info["notebook"])
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
        if kind not in OUTPUTS:  # status (the end of the execution), input echoes
            return super().process_message(msg, cell, cell_index)
        step = self._steps[cell_index]
        if step.kind == HIDDEN_TESTS:
            self._hidden_message(step.grade_id, kind, msg["content"])
            return None  # nothing of the hidden tests' execution is kept
        size = content_bytes(msg["content"]) + content_bytes(msg.get("buffers") or [])
        if cell_index != self._capped_cell:
            self._capped_cell, self._cell_bytes, self._noted, self._errors = cell_index, 0, False, 0
            self._interrupted = False
        self._cell_bytes += size
        self._notebook_bytes += size
        if kind == "stream" and step.kind == SELF_CHECK and msg["content"].get("name") == "stderr":
            # nbgrader takes any stderr in a test cell for a failure; a warning printed there is not one.
            msg["content"]["name"] = "stdout"
        if kind == "error":
            self._errors += 1
            if self._errors > 1:  # the first error says what went wrong; more only fill the page
                self._note(cell, "[The grader kept only the first error of this cell.]")
                return None
            self._own_error(msg["content"])
        elif self._cell_bytes > self.output_bytes_per_cell or self._notebook_bytes > self.output_bytes_per_notebook:
            self._note(cell, f"[The grader kept no more of this output: a cell keeps at most "
                             f"{self.output_bytes_per_cell:,} bytes and a notebook {self.output_bytes_per_notebook:,} "
                             "(c.SandboxedExecute.output_bytes_per_cell, output_bytes_per_notebook).]")
            if self._cell_bytes > self.output_bytes_interrupt and not self._interrupted:
                self._interrupted = True  # the rest would be dropped too: stop the cell, not just its output
                cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=(
                    f"[The grader interrupted this cell: it sent more than {self.output_bytes_interrupt:,} bytes of "
                    "output (c.SandboxedExecute.output_bytes_interrupt).]\n")))
                asyncio.ensure_future(self.km.interrupt_kernel())
            return None
        return super().process_message(msg, cell, cell_index)

    def _note(self, cell, text: str) -> None:
        if not self._noted:
            self._noted = True
            cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=f"\n{text}\n"))

    @staticmethod
    def _own_error(content: dict) -> None:
        """An error of the student's code, shortened; one named like the judge's says whose it is."""
        content["evalue"] = shortened(str(content.get("evalue", "")))
        content["traceback"] = [shortened(str(line)) for line in content.get("traceback", [])[:ERROR_LINES]]
        if str(content.get("ename", "")) in JUDGE_NAMES:
            content["ename"] = f"{content['ename']} (raised by your code)"
            content["traceback"] = [f"{content['ename']}: {content['evalue']}"]

    def _hidden_message(self, test_id: str, kind: str, content: dict) -> None:
        record = self._hidden[test_id]
        if kind == "error":
            record["error"] = record["error"] or error_name(content.get("ename"))
        elif kind == "display_data" and isinstance(content.get("data"), dict) and ANSWERS_MIME in content["data"]:
            report = content["data"][ANSWERS_MIME]
            size = len(json.dumps(report, default=str))
            record["report_bytes"] += size
            if not isinstance(report, dict) or record["report_bytes"] > REPORT_BYTES \
                    or len(record["reports"]) >= REPORTS_PER_CELL:
                record["altered"] = True  # more than any hidden test sends: the judge trusts none
            else:
                record["reports"].append(report)

    def on_cell_executed(self, **kwargs):
        step = self._steps[kwargs["cell_index"]]
        reply = kwargs["execute_reply"]["content"]
        if step.kind == HIDDEN_TESTS:
            record = self._hidden[step.grade_id]
            record["ran"] = True
            if reply.get("status") == "error":
                record["error"] = record["error"] or error_name(reply.get("ename"))
            return
        if step.kind == SELF_CHECK and reply.get("status") == "error":
            self._failed_checks.add(step.grade_id)
        if reply.get("status") == "error":  # nbgrader adds the reply's error if no output has it
            self._own_error(reply)
        super().on_cell_executed(**kwargs)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        step = self._steps[cell_index]
        if step.kind == HIDDEN_TESTS and step.grade_id in self._failed_checks:
            # Its self-check failed, so the cell has no points to win: an endless loop there
            # would only cost its time again.
            self._hidden[step.grade_id]["skipped"] = True
            return cell
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
        resources = resources if resources is not None else {}
        info = resources.get("nbgrader") or {}
        self._assignment = info.get("assignment")
        source = resources.get("arena_source") or source_notebook(self.config, info["assignment"], info["notebook"])
        self._kernel_folder = self._library_folder = None
        self._monitors = []
        self._capped_cell, self._cell_bytes, self._notebook_bytes, self._noted, self._errors = None, 0, 0, False, 0
        self._kernel_report = outcomes.record_path(self.config, resources, "kernel.json")
        self._kernel_stderr = resources.get("arena_kernel_stderr") or outcomes.record_path(
            self.config, resources, "kernel-stderr.txt")
        self._stopped_record = outcomes.record_path(self.config, resources, "stopped.json")
        self._budget = self._time_budget(resources)
        self._deadline = None if self._budget is None else monotonic() + self._budget
        run = plan(source, nb)
        self._steps = [step for step, _, _ in run]
        self._hidden = {step.grade_id: {"ran": False, "skipped": False, "reports": [], "error": None,
                                        "altered": False, "report_bytes": 0}
                        for step in self._steps if step.kind == HIDDEN_TESTS}
        self._failed_checks = set()
        cells = nb.cells
        nb.cells = [runner for _, runner, _ in run]
        try:
            return super().preprocess(nb, resources, km)
        finally:
            nb.cells = cells
            for step, runner, shown_in in run:
                if shown_in is not None:
                    shown_in.outputs = runner.get("outputs", [])
                    shown_in.execution_count = runner.get("execution_count")
            resources["arena_hidden"] = self._hidden
            for monitor in self._monitors:
                monitor.close(linger=0)
            for folder in (self._kernel_folder, self._library_folder):
                if folder:
                    shutil.rmtree(folder, ignore_errors=True)


def plan(source, nb) -> list[tuple]:
    """The graded run of ``nb`` as ``(step, the cell that runs, the cell of nb that shows its
    outputs or None)``: the student's exercise cells; the instructor's self-checks, shown in the
    student's test cells (a test cell the student deleted is put back where it was); the hidden
    tests, shown nowhere."""
    students = cells_by_grade_id(nb)
    _restore_test_cells(source, nb, students)
    run = []
    for step in graded_run(source):
        if step.kind == EXERCISE:
            cell = students.get(step.grade_id)
            if cell is not None:
                run.append((step, nbformat.v4.new_code_cell(cell.source), cell))
        elif step.kind == SELF_CHECK:
            run.append((step, nbformat.v4.new_code_cell(step.code), students[step.grade_id]))
        else:
            run.append((step, nbformat.v4.new_code_cell(step.code), None))
    return run


def _restore_test_cells(source, nb, students: dict) -> None:
    """Put back, as the instructor wrote them, the test cells a student deleted."""
    previous = None
    for cell in source.cells:
        key = grade_id(cell)
        if is_test_cell(cell) and key not in students:
            restored = copy.deepcopy(cell)
            restored.outputs, restored.execution_count = [], None
            at = nb.cells.index(students[previous]) + 1 if previous in students else len(nb.cells)
            nb.cells.insert(at, restored)
            students[key] = restored
        if key in students:
            previous = key
