"""The course on one JupyterHub server: students and instructors are system users (docs/instructors.md,
"On a JupyterHub"). Run as root, from this folder or with -f:

    jupyterhub -f deploy/jupyterhub/jupyterhub_config.py

Every setting that differs between servers is an environment variable (defaults in brackets):

    ARENA_HUB_URL           where students open the hub [http://hub.localhost:8000]; each user's
                            server is on a subdomain of it (alice.hub.localhost), see below
    ARENA_HUB_BIND          the address the proxy listens on [the port of ARENA_HUB_URL, all interfaces]
    ARENA_HUB_STATE         the hub's database, cookie secret and logs [/srv/jupyterhub]
    ARENA_HUB_ENV           the course's Python environment (`make setup` made it) [this Python's]
    ARENA_HUB_COURSE        the course folder, in an instructor's home [/home/instructor/hands-on-rllib]
    ARENA_HUB_EXCHANGE      nbgrader's exchange, a folder every user may write [/srv/nbgrader/exchange]
    ARENA_HUB_STUDENTS      the students' Unix group [arena-students]
    ARENA_HUB_INSTRUCTORS   the instructors' Unix group [arena-instructors]
    ARENA_HUB_GRADING_CGROUP  a cgroup delegated to the instructors, for the grading sandbox [none]
    ARENA_HUB_PROXY         configurable-http-proxy's command [configurable-http-proxy]

Why subdomains: JupyterHub (4.1 and later) forbids framing a user's pages, because on one origin
any user's page could read another's. nbgrader's formgrader is shown in a frame of the
instructor's JupyterLab; with a subdomain per user, the instructor's server may allow frames
from its own origin (its own JupyterLab) and from nothing else, so formgrader shows and no
student page can frame it. It needs a wildcard DNS entry (*.hub.example.org) and, with TLS, a
wildcard certificate; on one machine, browsers resolve *.localhost to it by themselves.
"""

import grp
import os
import pwd
import sys
from pathlib import Path
from urllib.parse import urlparse

from jupyterhub.spawner import LocalProcessSpawner

HERE = Path(__file__).resolve().parent
URL = os.environ.get("ARENA_HUB_URL", "http://hub.localhost:8000")
STATE = Path(os.environ.get("ARENA_HUB_STATE", "/srv/jupyterhub"))
ENV_BIN = Path(os.environ.get("ARENA_HUB_ENV", sys.prefix)) / "bin"
COURSE = os.environ.get("ARENA_HUB_COURSE", "/home/instructor/hands-on-rllib")
EXCHANGE = os.environ.get("ARENA_HUB_EXCHANGE", "/srv/nbgrader/exchange")
STUDENTS = os.environ.get("ARENA_HUB_STUDENTS", "arena-students")
INSTRUCTORS = os.environ.get("ARENA_HUB_INSTRUCTORS", "arena-instructors")
GRADING_CGROUP = os.environ.get("ARENA_HUB_GRADING_CGROUP", "")

c = get_config()  # noqa: F821 - JupyterHub's config loader defines it

# Who may log in: the members of the two groups, with their system passwords (PAM).
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_groups = {STUDENTS, INSTRUCTORS}
c.PAMAuthenticator.admin_groups = {INSTRUCTORS}

# Where: the proxy in front, a subdomain per user (see above); the hub's own files in STATE.
c.JupyterHub.bind_url = os.environ.get("ARENA_HUB_BIND", f"http://:{urlparse(URL).port or 80}")
c.JupyterHub.subdomain_host = URL
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.command = os.environ.get("ARENA_HUB_PROXY", "configurable-http-proxy").split()
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")


class CourseSpawner(LocalProcessSpawner):
    """Each user's JupyterLab, as that user, from the course's environment, with the nbgrader
    tools of the user's role (JUPYTER_CONFIG_PATH: config/student or config/instructor). An
    instructor's server starts in the grading cgroup delegated to the instructors, so the
    sandbox can limit each graded kernel (docs/grading-sandbox.md)."""

    def role(self) -> str:
        groups = {grp.getgrgid(gid).gr_name for gid in os.getgrouplist(self.user.name, pwd.getpwnam(self.user.name).pw_gid)}
        return "instructor" if INSTRUCTORS in groups else "student"

    def get_env(self):
        env = super().get_env()
        env["PATH"] = f"{ENV_BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
        env["JUPYTER_CONFIG_PATH"] = str(HERE / "config" / self.role())
        env["ARENA_HUB_EXCHANGE"] = EXCHANGE
        env["ARENA_HUB_COURSE"] = COURSE
        if self.role() == "instructor" and GRADING_CGROUP:
            env["ARENA_CGROUP_PARENT"] = f"{GRADING_CGROUP}/{self.user.name}"
        return env

    def make_preexec_fn(self, name):
        become_user = super().make_preexec_fn(name)
        cgroup = GRADING_CGROUP and self.role() == "instructor"
        folders = grading_cgroups(name) if cgroup else []

        def preexec():
            for folder in folders:  # as root, before becoming the user: into its delegated group
                (folder / "server" / "cgroup.procs").write_text(str(os.getpid()))
            become_user()

        return preexec


def grading_cgroups(user: str) -> list:
    """The user's part of the delegated grading cgroup (cgroup v2: one folder; v1: memory and pids)."""
    root = Path("/sys/fs/cgroup")
    relative = f"{GRADING_CGROUP.strip('/')}/{user}"
    if (root / "cgroup.controllers").exists():
        return [root / relative]
    return [root / controller / relative for controller in ("memory", "pids")]


c.JupyterHub.spawner_class = CourseSpawner
c.Spawner.cmd = [str(ENV_BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.http_timeout = 120  # the course environment imports much (RLlib, PyTorch) on a busy server
c.Spawner.start_timeout = 120
