"""A drill server on this machine's loopback, in a background thread: for tests and benchmarks that drive the
real server (uvicorn, WebSockets) without a subprocess.

``twin drill`` itself runs uvicorn in the foreground (:mod:`twin.drill.cli`); this module only saves its
callers the port probe, the start-up wait and the shutdown.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from twin.drill.server import DrillApp, local_hosts
from twin.drill.session import DrillSession

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on the loopback that is free now (the OS picks it; another process could take it after)."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(session: DrillSession, port: int, start_timeout_s: float = 30.0) -> Iterator[DrillApp]:
    """Serve ``session`` on ``http://127.0.0.1:PORT`` while the ``with`` block runs, then stop the server.

    Parameters
    ----------
    session
        The drill to serve (its journal stays open: the caller closes it).
    port
        The port to bind (:func:`free_port` gives one).
    start_timeout_s
        How long to wait for the server to start before giving up with a RuntimeError (bounded, so a test that
        cannot bind never hangs).
    """
    import uvicorn  # only the callers that serve need it

    app = DrillApp(session, local_hosts(LOOPBACK, port))
    server = uvicorn.Server(uvicorn.Config(app.app, host=LOOPBACK, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        if not server.started:
            raise RuntimeError(f"the drill server did not start on {LOOPBACK}:{port} within {start_timeout_s:g} s")
        yield app
    finally:
        server.should_exit = True
        thread.join(60)
