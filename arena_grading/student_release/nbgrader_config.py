# nbgrader's configuration for the students' Validate button.
c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "hands-on-rllib"
c.Execute.timeout = 60
# Read each of the kernel's replies when it comes (arena_lib/kernel_client.py says why).
c.AsyncKernelManager.client_factory = "arena_lib.kernel_client.RepollingKernelClient"
