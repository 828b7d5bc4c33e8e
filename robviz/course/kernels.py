"""A Jupyter kernel client that waits for messages in polls of at most a second.

nbclient (behind nbconvert, nbgrader and robviz's gallery) waits for a cell's execute reply with one
poll as long as the cell timeout. On a busy machine that poll can miss the socket's wake-up (zmq's
notification is edge-triggered): the reply sits unread, kernel and client both idle, until the poll
times out and finds it. Seen here: a lesson stalled for the whole 600 s timeout after its widget
cell, then went on; an nbgrader autograde took 1906 s where it takes about 110, two stalls of its
900 s cell timeout. Short polls bound such a stall to a second; the cell timeout still applies.

    # nbclient
    NotebookClient(nb, kernel_manager_class=SlicedKernelManager)
    # nbgrader_config.py
    c.AsyncKernelManager.client_class = "robviz.course.kernels.SlicedKernelClient"
"""

from __future__ import annotations

import queue
import time
from typing import Any

from jupyter_client import AsyncKernelManager
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from traitlets import Type

__all__ = ["SlicedChannel", "SlicedKernelClient", "SlicedKernelManager"]


class SlicedChannel(AsyncZMQSocketChannel):
    """A shell or iopub channel whose ``get_msg(timeout)`` polls in slices of at most a second."""

    # Async over ZMQSocketChannel's sync get_msg, as AsyncZMQSocketChannel itself overrides it.
    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:  # type: ignore[override]
        """Return the next message, waiting at most ``timeout`` seconds.

        It polls in slices of at most a second.

        Parameters
        ----------
        timeout : float, optional
            The longest wait in seconds; None waits for ever.

        Returns
        -------
        dict
            The message, as the channel it replaces returns it.

        Raises
        ------
        queue.Empty
            No message within ``timeout`` seconds (as the channel it replaces).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = 1.0 if deadline is None else min(1.0, max(0.0, deadline - time.monotonic()))
            if await self.socket.poll(int(left * 1000)):
                return await self._recv()
            if deadline is not None and time.monotonic() >= deadline:
                raise queue.Empty


class SlicedKernelClient(AsyncKernelClient):
    """An asynchronous kernel client whose shell and iopub channels are :class:`SlicedChannel`."""

    shell_channel_class = Type(SlicedChannel)
    iopub_channel_class = Type(SlicedChannel)


class SlicedKernelManager(AsyncKernelManager):
    """An asynchronous kernel manager whose clients are :class:`SlicedKernelClient`."""

    client_factory = Type(SlicedKernelClient)
