# An instructor's nbgrader on the course's JupyterHub: formgrader on the course folder (whose own
# nbgrader_config.py has the grading sandbox) and the exchange. deploy/jupyterhub/jupyterhub_config.py
# sets both variables.
import os

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.root = os.environ.get("ARENA_HUB_COURSE", os.path.expanduser("~/hands-on-rllib"))
c.CourseDirectory.course_id = "hands-on-rllib"
c.Exchange.root = os.environ.get("ARENA_HUB_EXCHANGE", "/srv/nbgrader/exchange")
