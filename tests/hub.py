"""A real classroom for tests/test_hub.py: JupyterHub from PyPI with configurable-http-proxy from
npm, run with the course's own recipe (deploy/jupyterhub/: prepare.sh, add_user.sh,
jupyterhub_config.py), system users made for the test, and everything stopped and removed after."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from tests.browser import CHROMIUM
from tests.notebook_tools import ROOT, tool_env

RECIPE = ROOT / "deploy" / "jupyterhub"
# `make hub-tools` installs the proxy here (npm, no global install).
LOCAL_PROXY = Path(sys.prefix) / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
HUB_START_TIMEOUT = 60


def proxy_command() -> str | None:
    if LOCAL_PROXY.exists():
        return str(LOCAL_PROXY)
    return shutil.which("configurable-http-proxy")


def missing_hub_tools() -> str | None:
    """Why this machine cannot host the classroom, or None."""
    if os.geteuid() != 0:
        return "the hub test creates system users and runs JupyterHub as root: run it as root"
    for tool in ("useradd", "chpasswd", "bwrap"):
        if not shutil.which(tool):
            return f"{tool} is missing (make setup installs bubblewrap; useradd and chpasswd come with passwd)"
    if not proxy_command():
        return "configurable-http-proxy is missing: run `make hub-tools` (npm)"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: run `make chromium`"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Classroom:
    url: str  # where users log in (http://hub.localhost:PORT)
    port: int
    instructor: str
    students: list
    passwords: dict
    course: Path  # in the instructor's home
    exchange: Path
    state: Path
    log: Path
    process: subprocess.Popen | None = None
    uids: dict = field(default_factory=dict)
    left_running: list = field(default_factory=list)  # after the hub stopped, before anything was killed

    def home(self, user: str) -> Path:
        import pwd

        return Path(pwd.getpwnam(user).pw_dir)

    def user_url(self, user: str) -> str:
        return f"http://{user}.hub.localhost:{self.port}/user/{user}"

    def processes(self) -> list[psutil.Process]:
        """Every process running as one of the classroom's users."""
        found = []
        for process in psutil.process_iter(["uids"]):
            try:
                if process.info["uids"] and process.info["uids"].real in self.uids.values():
                    found.append(process)
            except psutil.Error:
                continue
        return found


def run_as_root(command: list, env: dict, stdin: str | None = None) -> str:
    done = subprocess.run(command, env=env, input=stdin, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def wait_until_healthy(classroom: Classroom) -> None:
    deadline = time.monotonic() + HUB_START_TIMEOUT
    while time.monotonic() < deadline:
        if classroom.process.poll() is not None:
            raise RuntimeError(f"JupyterHub exited ({classroom.process.returncode}):\n{classroom.log.read_text()[-5000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{classroom.port}/hub/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"JupyterHub was not up within {HUB_START_TIMEOUT} s:\n{classroom.log.read_text()[-5000:]}")


def open_for_everyone(paths) -> dict:
    """Let other users pass through folders only root may enter (pyenv's Python in /root, a
    checkout in /root): {path: its mode}, to put back."""
    closed = {}
    for path in paths:
        for folder in [Path(path), *Path(path).parents]:
            if folder != Path("/") and folder.exists() and not os.stat(folder).st_mode & 0o001:
                closed.setdefault(folder, os.stat(folder).st_mode)
    for folder, mode in closed.items():
        os.chmod(folder, mode | 0o001)
    return closed


@contextlib.contextmanager
def classroom(folder: Path):
    """A running hub with one instructor and two students (their passwords in ``passwords``);
    on exit the hub is stopped, then the users, groups, folders and cgroups are removed."""
    import pwd

    from tests.notebook_tools import make_course

    # pytest's own folders are root's alone: the users' shared ones go in a folder of their own.
    shared = Path(tempfile.mkdtemp(prefix="arena-hub-"))
    shared.chmod(0o755)
    tag = uuid.uuid4().hex[:5]
    instructor, students = f"prof{tag}", [f"ann{tag}", f"ben{tag}"]
    port = free_port()
    state, exchange = folder / "hub-state", shared / "exchange"
    groups = {"students": f"arena-students-{tag}", "instructors": f"arena-instructors-{tag}"}
    grading_cgroup = f"arena-hub-grading-{tag}"
    env = tool_env(
        ARENA_HUB_URL=f"http://hub.localhost:{port}", ARENA_HUB_STATE=str(state), ARENA_HUB_ENV=sys.prefix,
        ARENA_HUB_EXCHANGE=str(exchange), ARENA_HUB_STUDENTS=groups["students"],
        ARENA_HUB_INSTRUCTORS=groups["instructors"], ARENA_HUB_GRADING_CGROUP=grading_cgroup,
        ARENA_HUB_PROXY=proxy_command(),
    )
    passwords = {user: secrets.token_urlsafe(12) for user in [instructor, *students]}
    room = Classroom(env["ARENA_HUB_URL"], port, instructor, students, passwords, Path(), exchange, state,
                     folder / "jupyterhub.log")
    closed = {}
    try:
        run_as_root(["bash", str(RECIPE / "prepare.sh")], env)
        for user in [instructor, *students]:
            role = "instructor" if user == instructor else "student"
            run_as_root(["bash", str(RECIPE / "add_user.sh"), user, role], env, stdin=passwords[user] + "\n")
            room.uids[user] = pwd.getpwnam(user).pw_uid
        # The course folder, the instructor's alone (solutions, gradebook, hidden tests).
        room.course = make_course(room.home(instructor))
        subprocess.run(["chown", "-R", f"{instructor}:", str(room.course)], check=True)
        env["ARENA_HUB_COURSE"] = str(room.course)
        closed = open_for_everyone([sys.prefix, sys.base_prefix, RECIPE, ROOT / "arena_lib"])
        with room.log.open("w") as log:
            room.process = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(RECIPE / "jupyterhub_config.py")],
                cwd=state, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until_healthy(room)
        yield room
    finally:
        stop_hub(room)
        room.left_running = still_running(room)
        for process in room.processes() + proxy_processes(room):  # the test asserts there were none

            with contextlib.suppress(psutil.Error):
                process.kill()
        for path, mode in closed.items():
            os.chmod(path, mode)
        for user in [instructor, *students]:
            subprocess.run(["userdel", "--remove", user], capture_output=True)
        for group in groups.values():
            subprocess.run(["groupdel", group], capture_output=True)
        remove_cgroups(grading_cgroup)
        shutil.rmtree(shared, ignore_errors=True)


def stop_hub(room: Classroom) -> None:
    """SIGTERM: the hub stops every user's server and its proxy (JupyterHub's cleanup_servers
    and cleanup_proxy), as an administrator's `systemctl stop` would."""
    if room.process is None or room.process.poll() is not None:
        return
    room.process.send_signal(signal.SIGTERM)
    try:
        room.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(room.process.pid, signal.SIGKILL)
        room.process.wait(timeout=30)


def remove_cgroups(name: str) -> None:
    root = Path("/sys/fs/cgroup")
    tops = [root / name] if (root / "cgroup.controllers").exists() else [root / c / name for c in ("memory", "pids")]
    for top in tops:
        if not top.exists():
            continue
        for folder in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                folder.rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()


def still_running(room: Classroom, seconds: float = 30) -> list[str]:
    """What of the classroom still runs after up to ``seconds`` (kernels and their Ray end shortly
    after their server)."""
    deadline = time.monotonic() + seconds
    while (running := room.processes() + proxy_processes(room)) and time.monotonic() < deadline:
        time.sleep(1)
    described = []
    for process in running:
        with contextlib.suppress(psutil.Error):
            described.append(f"{process.pid} {' '.join(process.cmdline())[:100]}")
    return described


def proxy_processes(room: Classroom) -> list[psutil.Process]:
    """The hub's proxy (it runs as root, so it is not among the users' processes)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if "configurable-http-proxy" in " ".join(process.info["cmdline"] or []) and \
                    str(room.state) in " ".join(process.info["cmdline"] or []) + str(process.cwd()):
                found.append(process)
        except psutil.Error:
            continue
    return found
