"""The grading sandbox: a notebook kernel that sees only what it needs.

``nbgrader autograde`` starts the kernel that runs a student's notebook through
the ``arena-grading`` kernelspec, whose command is this module. It runs the real
ipykernel inside bubblewrap (Debian's ``bubblewrap``) with:

- a file system of its own: the operating system and the Python environment
  read-only, the student's working folder read-only, ``/proc`` read-only (so not even
  the kernel's own memory can be written through it), and size-limited private
  ``/tmp``, ``/dev/shm`` and socket folder, all in memory and gone with the kernel;
  nothing else of the course (gradebook, ``solutions/``, other students' folders) and
  nothing of the instructor's home exists in it, and nothing it writes reaches the
  host's disk;
- no network (its own network namespace: loopback only, so Ray still starts),
  its own process and IPC namespaces, a new session;
- an unprivileged user (``nobody``) when grading runs as root, so the kernel
  cannot write the host's root-owned files such as ``/proc/sys``;
- a cgroup (v2 or v1) with a memory limit and a process limit;
- a clean environment: the course environment's ``PATH`` and only the variables of
  ``KEPT_VARIABLES``, so no token of the instructor's, no host path and no
  ``RAY_ADDRESS`` of a grading cluster leaks in;
- its stderr copied, up to a size, to a file of the grader's (never the grader's
  log or terminal).

Jupyter talks to the kernel over Unix sockets (``ipc`` transport). The kernel makes
them in its socket folder, a tmpfs inside the sandbox; the grader reaches them through
``/proc/<pid>/root`` of the sandbox's first process, by a link this launcher makes in
the host's folder for the kernel (see ``arena_grading.execute``), which holds only the
connection file and that link.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from arena_lib.cgroups import Cgroup, CgroupUnavailable, maker_is_alive

# This environment's Python, as invoked (a venv's python is a link: keep the link, drop any "..").
PYTHON = os.path.abspath(sys.executable)
CGROUP_PREFIX = "arena-grading-"
# What the kernel may inherit from nbgrader's environment (names or prefixes*). Not JPY_PARENT_PID:
# the kernel cannot see its parent across the process namespace (--die-with-parent ties them).
KEPT_VARIABLES = ("LANG", "LC_*", "TZ", "OPENBLAS_*", "OMP_NUM_THREADS", "MKL_*",
                  "PYTHONHASHSEED", "PYDEVD_DISABLE_FILE_VALIDATION", "MPLBACKEND")
# The kernel's PATH: this environment's programs, then the system's; none of the instructor's.
KERNEL_PATH = os.pathsep.join([os.path.dirname(PYTHON), "/usr/local/bin", "/usr/bin", "/bin"])
# Mounted before the course's folders; nothing is made inside them.
MOUNTED_TOPS = (Path("/usr"), Path("/etc"), Path("/sys"), Path("/proc"), Path("/dev"))
# Where the kernelspec command writes how the kernel ended (its exit code, memory kills), if set,
# and where it copies the kernel's stderr (at most STDERR_BYTES of it; else nowhere).
REPORT_VARIABLE = "ARENA_KERNEL_REPORT"
# The grading build of arena_lib (arena_grading.library) that the sandbox mounts where arena_lib is.
LIBRARY_VARIABLE = "ARENA_LIBRARY_BUILD"
STDERR_VARIABLE = "ARENA_KERNEL_STDERR"
STDERR_BYTES = 1024**2
SOCKETS = "sockets"  # the socket folder in the kernel's folder: a tmpfs in the sandbox, a link outside
# Files of /etc a kernel has no business reading.
SECRET_ETC_FILES = ("shadow", "shadow-", "gshadow", "gshadow-", "sudoers")


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot start here; the message says why and how to fix it."""


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 2 * 1024**3  # everything in the sandbox, its tmpfs files included
    processes: int = 512  # threads count too; a kernel training with Ray runs about 210
    shm_bytes: int = 512 * 1024**2
    tmp_bytes: int = 256 * 1024**2
    sockets_bytes: int = 1024**2  # the socket folder: sockets take no room, files written there do

    @classmethod
    def from_environment(cls, environ=os.environ) -> "Limits":
        defaults = cls()
        return cls(
            memory_bytes=parse_size(environ.get("ARENA_SANDBOX_MEMORY", str(defaults.memory_bytes))),
            processes=int(environ.get("ARENA_SANDBOX_PROCESSES", defaults.processes)),
            shm_bytes=parse_size(environ.get("ARENA_SANDBOX_SHM", str(defaults.shm_bytes))),
            tmp_bytes=parse_size(environ.get("ARENA_SANDBOX_TMP", str(defaults.tmp_bytes))),
        )

    def as_environment(self) -> dict:
        return {"ARENA_SANDBOX_MEMORY": str(self.memory_bytes), "ARENA_SANDBOX_PROCESSES": str(self.processes),
                "ARENA_SANDBOX_SHM": str(self.shm_bytes), "ARENA_SANDBOX_TMP": str(self.tmp_bytes)}


def parse_size(text: str) -> int:
    """'2G', '512M', '1500000000' -> bytes."""
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    text = str(text).strip().upper().removesuffix("B").removesuffix("I")
    try:
        if text and text[-1] in units:
            return int(float(text[:-1]) * units[text[-1]])
        return int(text)
    except ValueError:
        raise ValueError(f"not a size: {text!r}; write bytes or a number with K, M or G, e.g. '2G'") from None


def sandbox_user() -> tuple[int, int] | None:
    """The (uid, gid) the kernel runs as: ``nobody`` when grading runs as root, else None (this user)."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("ARENA_SANDBOX_USER", "nobody")
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise SandboxUnavailable(f"no user {name!r} to run student kernels as; create it or set "
                                 "ARENA_SANDBOX_USER to an unprivileged user") from None
    return entry.pw_uid, entry.pw_gid


def library_path() -> Path:
    """Where arena_lib is in this environment (found, not imported)."""
    (folder,) = importlib.util.find_spec("arena_lib").submodule_search_locations
    return Path(folder).resolve()


def python_paths() -> list[Path]:
    """What the kernel's Python needs to read: the interpreter, the environment, arena_lib."""
    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent.parent}
    spec = importlib.util.find_spec("arena_lib")
    if spec and spec.submodule_search_locations:  # an editable install points into a checkout
        paths.update(Path(p) for p in spec.submodule_search_locations)
    return sorted({p.resolve() for p in paths} | paths)


def bwrap_command(command: list[str], working_folder: Path, limits: Limits, kernel_folder: Path | None = None,
                  info_fd: int | None = None, environ=os.environ, library: Path | None = None) -> list[str]:
    """The bubblewrap command line that runs ``command`` in the sandbox; with ``kernel_folder``,
    the sandbox gets that folder's connection file and a socket folder of its own in it; with
    ``library``, that folder is where arena_lib is (the grading build)."""
    bwrap = os.environ.get("ARENA_BWRAP") or shutil.which("bwrap")  # ARENA_BWRAP: a bwrap elsewhere
    if bwrap is None or not os.access(bwrap, os.X_OK):
        raise SandboxUnavailable(f"bubblewrap is not installed ({bwrap or 'no bwrap on PATH'}): "
                                 "sudo apt-get install bubblewrap (or your system's package of that name)")
    user = sandbox_user()
    if user:
        # As root: no user namespace (it would map the kernel back to root); setpriv gives up
        # root and every capability inside, after bubblewrap has made the mounts.
        args = [bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
        command = ["setpriv", f"--reuid={user[0]}", f"--regid={user[1]}", "--clear-groups",
                   "--inh-caps=-all", "--bounding-set=-all", "--", *command]
    else:
        args = [bwrap, "--unshare-all", "--cap-drop", "ALL"]
    args += ["--die-with-parent", "--new-session"]
    if info_fd is not None:  # bubblewrap writes the sandbox's first process there
        args += ["--info-fd", str(info_fd)]
    # The operating system, read-only; /bin, /lib... are links into /usr on current systems.
    args += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    args += ["--ro-bind", "/etc", "/etc"]
    for name in SECRET_ETC_FILES:
        if (Path("/etc") / name).exists():
            args += ["--ro-bind", "/dev/null", f"/etc/{name}"]
    # /sys read-only: Ray and psutil read the cgroup's limits there. /proc read-only: a process
    # may write its own memory through /proc/self/mem, which would let student code rewrite
    # what the hidden tests hold.
    args += ["--ro-bind", "/sys", "/sys", "--proc", "/proc", "--remount-ro", "/proc", "--dev", "/dev",
             "--size", str(limits.shm_bytes), "--perms", "1777", "--tmpfs", "/dev/shm"]
    args += ["--size", str(limits.tmp_bytes), "--perms", "1777", "--tmpfs", "/tmp"]
    readable = [*python_paths(), working_folder]
    # bubblewrap makes missing parent folders private to root; the kernel's user must pass through.
    made = set()
    for path in readable + ([kernel_folder] if kernel_folder else []):
        for parent in reversed(path.parents[:-1]):
            if parent not in made and not any(parent.is_relative_to(top) for top in MOUNTED_TOPS):
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
    for path in readable:
        args += ["--ro-bind", str(path), str(path)]
    if library is not None:  # over the real arena_lib, which then cannot be reached at all
        args += ["--ro-bind", str(library), str(library_path())]
    if kernel_folder:
        connection_file = kernel_folder / "kernel.json"
        args += ["--size", str(limits.sockets_bytes), "--perms", "0755", "--tmpfs", str(kernel_folder),
                 "--ro-bind", str(connection_file), str(connection_file),
                 "--perms", "0777", "--dir", str(kernel_folder / SOCKETS)]
    args += ["--chdir", str(working_folder)]
    args += ["--clearenv", "--setenv", "PATH", KERNEL_PATH]
    for name, value in kept_environment(environ).items():
        args += ["--setenv", name, value]
    args += ["--setenv", "HOME", "/tmp", "--setenv", "TMPDIR", "/tmp"]
    return args + ["--", *command]


def kept_environment(environ) -> dict:
    kept = {}
    for name, value in environ.items():
        for pattern in KEPT_VARIABLES:
            if name == pattern or (pattern.endswith("*") and name.startswith(pattern[:-1])):
                kept[name] = value
    return kept


def make_cgroup(limits: Limits) -> Cgroup:
    """A fresh cgroup with the sandbox's memory and process limits (removing those of
    kernels that were killed outright first)."""
    Cgroup.sweep(CGROUP_PREFIX)
    try:
        return Cgroup(CGROUP_PREFIX, memory_bytes=limits.memory_bytes, processes=limits.processes)
    except CgroupUnavailable as error:
        raise SandboxUnavailable(
            f"{error.strerror}. Grade as root, or set ARENA_CGROUP_PARENT to a cgroup delegated to you "
            "(docs/grading-sandbox.md says how)") from None


def sweep_stale_folders(prefix: str) -> None:
    """Remove the temp folders ("<prefix><pid>-...") of makers that were killed outright
    (SIGKILL, a lost Ray worker): they had no time to clean up."""
    for folder in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        if not maker_is_alive(folder.name, prefix):
            shutil.rmtree(folder, ignore_errors=True)


def check() -> str:
    """Start a tiny sandbox as a kernel would; raise SandboxUnavailable with the fix, or say what it is."""
    limits = Limits.from_environment()
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"arena-sandbox-check-{uuid.uuid4().hex[:8]}"
    folder.mkdir(mode=0o755)
    try:
        user = sandbox_user()
        # Only loopback in the kernel's network namespace (no packet is sent to find out).
        probe = "import socket; print('ok' if [n for _, n in socket.if_nameindex()] == ['lo'] else 'network')"
        result = run_sandboxed([PYTHON, "-I", "-c", probe], folder, limits,
                               capture_output=True, text=True, timeout=60)
        if result.returncode != 0 or result.stdout.strip() != "ok":
            raise SandboxUnavailable(
                "bubblewrap could not start a sandbox here:\n" + (result.stderr or result.stdout).strip()
                + "\nIt needs unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 on "
                "Debian; user.max_user_namespaces > 0) or a setuid bwrap.")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    who = "as nobody" if user else "as this user"
    return (f"sandbox ok: bubblewrap, no network, {who}, memory {limits.memory_bytes / 1024**3:.1f} GiB, "
            f"{limits.processes} processes, /dev/shm {limits.shm_bytes // 1024**2} MiB, /tmp "
            f"{limits.tmp_bytes // 1024**2} MiB")


def run_sandboxed(command, working_folder: Path, limits: Limits, library: Path | None = None, **kwargs):
    """Run ``command`` in a sandbox and a fresh cgroup (with ``library`` where arena_lib is); return
    the CompletedProcess."""
    cgroup = make_cgroup(limits)
    try:
        args = bwrap_command(command, working_folder, limits, library=library)
        return subprocess.run(args, preexec_fn=cgroup.enter, **kwargs)
    finally:
        cgroup.remove()


def die_with_parent(signum: int = signal.SIGTERM) -> None:
    """Ask Linux to send ``signum`` to this process when its parent dies, so that a grader
    killed outright (a lost Ray worker, SIGKILL) leaves no kernel behind. Elsewhere, nothing."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signum)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def unblock_signals() -> None:
    """Let this process and its children receive every signal again. A Ray task's thread
    has SIGINT blocked, children inherit that mask, and a kernel started under it never
    sees nbgrader's interrupt: an endless loop then fails the whole notebook."""
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


def copy_capped(source, path: str | None, limit: int = STDERR_BYTES) -> None:
    """Copy a stream to ``path`` (or nowhere) until it ends, keeping at most ``limit`` bytes."""
    with open(path or os.devnull, "wb") as out:
        kept = 0
        while chunk := source.read1(65536):
            if kept < limit:
                out.write(chunk[:limit - kept])
                kept += len(chunk[:limit - kept])
                if kept >= limit:
                    out.write(b"\n[arena-grading: the rest of the kernel's stderr was dropped]\n")


def link_sockets(kernel_folder: Path, info_fd: int) -> None:
    """Make ``<kernel folder>/sockets`` lead to the sandbox's socket folder, once bubblewrap
    has said which process runs the sandbox (its JSON on ``info_fd``)."""
    text = b""
    while chunk := os.read(info_fd, 4096):
        text += chunk
        try:
            pid = json.loads(text)["child-pid"]
            break
        except ValueError:
            continue
    else:
        return  # bubblewrap failed before starting the sandbox: it says why on stderr
    (kernel_folder / SOCKETS).symlink_to(f"/proc/{pid}/root{kernel_folder / SOCKETS}")


def main(argv: list[str]) -> int:
    """Kernelspec entry point: ``python -I -m arena_grading.sandbox -f CONNECTION_FILE [kernel args]``."""
    if len(argv) < 2 or argv[0] != "-f":
        print("usage: python -I -m arena_grading.sandbox -f CONNECTION_FILE [ipykernel arguments]", file=sys.stderr)
        return 2
    connection_file = Path(argv[1]).resolve()
    kernel_folder = connection_file.parent  # made for this kernel alone by arena_grading.execute
    connection = json.loads(connection_file.read_text())
    if connection.get("transport") != "ipc" or not connection.get("ip", "").startswith(str(kernel_folder / SOCKETS)):
        print("arena-grading: this kernel is for nbgrader's grading only (it has no network, so it "
              "needs nbgrader's sockets); pick 'Python 3' to run notebooks", file=sys.stderr)
        return 2
    limits = Limits.from_environment()
    user = sandbox_user()
    if user:  # the kernel (nobody) must read its connection file
        os.chown(connection_file, *user)
    # -P and ignore_cwd: nothing is imported from the student's folder (a file named like a module).
    command = [PYTHON, "-P", "-m", "ipykernel_launcher", "-f", str(connection_file),
               "--InteractiveShellApp.ignore_cwd=True", *argv[2:]]
    library = os.environ.get(LIBRARY_VARIABLE)
    cgroup = make_cgroup(limits)
    # Pass Jupyter's signals on to bubblewrap: when it ends, so does everything in the sandbox.
    # (Interrupts come as messages: see kernelspec.py.)
    child = None

    def forward(signum, _frame):
        if child is not None:
            child.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    die_with_parent()  # and bubblewrap (--die-with-parent) with this process
    unblock_signals()  # whoever started grading: the kernel must see interrupts
    info_read, info_write = os.pipe()
    try:
        args = bwrap_command(command, Path.cwd(), limits, kernel_folder=kernel_folder, info_fd=info_write,
                             library=Path(library) if library else None)
        # The kernel's stdout only prints a banner; cells' output travels over its sockets.
        child = subprocess.Popen(args, preexec_fn=cgroup.enter, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 pass_fds=(info_write,))
        os.close(info_write)
        link_sockets(kernel_folder, info_read)
        stderr = threading.Thread(target=copy_capped, args=(child.stderr, os.environ.get(STDERR_VARIABLE)),
                                  daemon=True)
        stderr.start()
        code = child.wait()
        stderr.join(timeout=10)
        oom_kills = cgroup.oom_kills()
        if oom_kills:
            print(f"arena-grading: the kernel reached its memory limit "
                  f"({limits.memory_bytes / 1024**3:.1f} GiB) and was killed", file=sys.stderr)
        if os.environ.get(REPORT_VARIABLE):
            report = {"exit_code": code, "oom_kills": oom_kills, "memory_limit_bytes": limits.memory_bytes,
                      "peak_bytes": cgroup.peak_bytes()}
            Path(os.environ[REPORT_VARIABLE]).write_text(json.dumps(report))
        return code
    finally:
        os.close(info_read)
        cgroup.remove()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
