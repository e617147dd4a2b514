"""Instructor tooling for grading the course with nbgrader, in a sandbox.

Students never import this package. ``nbgrader_config.py`` plugs its parts into
nbgrader; ``scripts/grade`` is the command line over it:

- ``sandbox``: the kernelspec command that runs a student's kernel in bubblewrap;
- ``execute``: nbgrader's Execute step, with that kernel and per-kernel sockets;
- ``kernel_client``: reads each of the kernel's replies when it comes (pyzmq's asyncio
  poll now and then misses one until the cell's timeout);
- ``judge``: hidden tests report the student's answers, and this process (not
  the student's kernel) compares them with the reference solution's answers;
- ``feedback``: feedback without the hidden tests' code.
"""

KERNEL_NAME = "arena-grading"
