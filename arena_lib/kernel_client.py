"""A kernel client that never sits on a reply it has already received.

pyzmq's asyncio sockets (which nbclient, and so nbgrader, reads the kernel with) sometimes
miss the wake-up for a message that has reached the socket: the waiting ``poll`` sees it
only when its timeout ends (seen with pyzmq 26 and 27, ipykernel 6 and 7, most often in
notebook 1's episode cell, which updates an ipywidgets Output many times). In grading that
is nbgrader's 60-s cell timeout, per stalled cell; in a run without a timeout, forever.
Polling in short slices finds such a message within one slice. tests/test_kernel_client.py
fails once pyzmq stops missing it, so that this can go.
"""

from __future__ import annotations

from queue import Empty
from time import monotonic
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from traitlets import Type

# A missed wake-up costs at most this; each slice is one cheap poll of the socket.
REPOLL_SECONDS = 0.1


class RepollingChannel(AsyncZMQSocketChannel):
    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:
        deadline = None if timeout is None else monotonic() + timeout
        while True:
            left = REPOLL_SECONDS if deadline is None else max(0.0, deadline - monotonic())
            try:
                return await super().get_msg(timeout=min(REPOLL_SECONDS, left))
            except Empty:
                if deadline is not None and monotonic() >= deadline:
                    raise


class RepollingKernelClient(AsyncKernelClient):
    """jupyter_client's asyncio client, reading replies and outputs with :class:`RepollingChannel`."""

    shell_channel_class = Type(RepollingChannel)
    iopub_channel_class = Type(RepollingChannel)


class RepollingKernelManager(AsyncKernelManager):
    """jupyter_client's asyncio kernel manager, whose clients are :class:`RepollingKernelClient`
    (for nbclient's ``kernel_manager_class``)."""

    client_factory = Type(RepollingKernelClient)
