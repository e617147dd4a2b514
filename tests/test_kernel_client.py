"""The grader's kernel client reads a reply that is waiting in its socket, even when pyzmq's
asyncio poll missed the wake-up for it (arena_lib/kernel_client.py)."""

from __future__ import annotations

import asyncio
import time
from queue import Empty

import pytest
import zmq
import zmq.asyncio
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.session import Session
from nbgrader.preprocessors import Execute
from traitlets.config.loader import PyFileConfigLoader

from arena_grading.execute import SandboxedExecute
from arena_lib.kernel_client import RepollingChannel, RepollingKernelClient, RepollingKernelManager
from tests.notebook_tools import ROOT


async def seconds_to_read_a_reply_whose_wake_up_was_missed(channel_class: type, timeout: float) -> float:
    context = zmq.asyncio.Context()
    kernel, client = context.socket(zmq.PAIR), context.socket(zmq.PAIR)
    kernel.bind("inproc://kernel")
    client.connect("inproc://kernel")
    session = Session(key=b"")
    try:
        waiting = asyncio.ensure_future(channel_class(client, session).get_msg(timeout=timeout))
        await asyncio.sleep(0.2)  # the channel now waits for its socket to wake it
        session.send(zmq.Socket.shadow(kernel.underlying), "execute_reply", {"status": "ok"})
        # Reading the socket's events from elsewhere consumes the edge the poll waits for: the
        # message is in the socket, and the poll is not woken (what happens now and then in grading).
        zmq.Socket.shadow(client.underlying).get(zmq.EVENTS)
        sent = time.monotonic()
        reply = await waiting
        assert reply["msg_type"] == "execute_reply"
        return time.monotonic() - sent
    finally:
        context.destroy(linger=0)


def test_a_plain_asyncio_channel_reads_such_a_reply_only_at_its_timeout():
    # The situation the repolling channel is for, reproduced: if pyzmq ever stops missing the
    # wake-up, this fails, and kernel_client.py can go.
    waited = asyncio.run(seconds_to_read_a_reply_whose_wake_up_was_missed(AsyncZMQSocketChannel, timeout=2))
    assert waited > 1.5, f"the plain channel read the reply after {waited:.2f} s, before its 2-s timeout"


def test_the_repolling_channel_reads_it_at_once():
    waited = asyncio.run(seconds_to_read_a_reply_whose_wake_up_was_missed(RepollingChannel, timeout=60))
    assert waited < 5, f"the reply waited {waited:.1f} s in the socket (the poll's timeout was 60 s)"


def test_the_repolling_channel_still_times_out_when_nothing_comes():
    async def wait_for_nothing() -> float:
        context = zmq.asyncio.Context()
        socket = context.socket(zmq.PAIR)
        socket.bind("inproc://silent")
        started = time.monotonic()
        try:
            with pytest.raises(Empty):
                await RepollingChannel(socket, Session(key=b"")).get_msg(timeout=0.35)
            return time.monotonic() - started
        finally:
            context.destroy(linger=0)

    assert asyncio.run(wait_for_nothing()) >= 0.35


def test_grading_validate_and_the_notebook_tests_use_the_repolling_client():
    grading = SandboxedExecute(sandbox=False)  # whatever the configuration says
    assert isinstance(grading.create_kernel_manager().client(), RepollingKernelClient)
    course_config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    validate = Execute(config=course_config)
    assert isinstance(validate.kernel_manager_class(config=validate.config).client(), RepollingKernelClient)
    assert isinstance(RepollingKernelManager().client(), RepollingKernelClient)  # tests/run_with_jupyterlab.py
