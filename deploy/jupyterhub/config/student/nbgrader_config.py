# A student's nbgrader on the course's JupyterHub: the Assignments tab (fetch, submit, feedback)
# and the Validate button. deploy/jupyterhub/jupyterhub_config.py sets ARENA_HUB_EXCHANGE.
import os

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "hands-on-rllib"
c.Exchange.root = os.environ.get("ARENA_HUB_EXCHANGE", "/srv/nbgrader/exchange")
c.Execute.timeout = 60
# Read each of the kernel's replies when it comes (arena_lib/kernel_client.py says why).
c.AsyncKernelManager.client_factory = "arena_lib.kernel_client.RepollingKernelClient"
