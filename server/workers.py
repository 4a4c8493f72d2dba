"""Several worker processes for ``serve --workers N`` (PostgreSQL), each listening on a
socket of its own.

uvicorn's own supervisor binds one socket and every worker accepts from it; the kernel then
hands each new connection to whichever worker waits in ``accept``. When many keep-alive
connections open at once (200 phones after a charity day, or a reverse proxy's pool) one
worker ends up holding far more than its share for as long as they stay open: 83, 45, 36
and 36 of 200 in a benchmark, and its clients waited about twice as long (docs/scale.md).
Here each worker binds the same address with ``SO_REUSEPORT`` and the kernel spreads new
connections over the workers' sockets by hash. A worker's socket listens only once its app
has started, so nothing is routed to a worker that cannot answer yet.

The rest is what uvicorn's supervisor does: ``uvicorn.Server`` runs each worker (its
logging, lifespan, graceful shutdown); a worker that dies is started again; one that fails
before it could serve (uvicorn's exit code 3: the app, TLS or the address is broken) stops
the whole server, as every restart would fail the same way; SIGTERM, SIGINT or SIGHUP (the
terminal closing) stops the workers and waits for them. Without ``SO_REUSEPORT`` (not
Linux) uvicorn's supervisor runs instead.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from typing import Any

from uvicorn.config import STARTUP_FAILURE  # a worker that could not start serving

log = logging.getLogger("uvicorn.error")

STOP_GRACE_SECONDS = 15.0
"""How long stopping waits for the workers' graceful shutdown before killing them."""


def per_worker_sockets_available() -> bool:
    """Linux spreads connections over ``SO_REUSEPORT`` sockets; other systems may not."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _bound_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _address_in_use(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be had, if it cannot. ``SO_REUSEPORT`` would let the workers
    join another server already listening there (a second start by mistake) and split its
    traffic silently; a plain bind fails instead, as uvicorn's own does."""
    try:
        _bound_socket(host, port, reuse_port=False).close()
    except OSError as exc:
        return str(exc)
    return None


def _worker(options: dict[str, Any]) -> None:
    """One worker: its own socket, then uvicorn's server on it (in a spawned process)."""
    import uvicorn

    config = uvicorn.Config(**options)
    try:
        sock = _bound_socket(config.host, config.port, reuse_port=True)
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", config.host, config.port, exc)
        sys.exit(STARTUP_FAILURE)
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


class Supervisor:
    """Starts ``workers`` processes serving ``options`` (``uvicorn.Config`` keywords) and
    keeps them running until told to stop."""

    def __init__(self, options: dict[str, Any], workers: int) -> None:
        self.options = options
        self.workers = workers
        self.processes: list[Any] = []
        self.stopping = threading.Event()
        self._context = multiprocessing.get_context("spawn")

    def _start(self) -> Any:
        process = self._context.Process(target=_worker, args=(self.options,), daemon=False)
        process.start()
        return process

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, lambda *_: self.stopping.set())
        log.info("Started parent process [%d] (%d workers, a socket each)", os.getpid(), self.workers)
        self.processes = [self._start() for _ in range(self.workers)]
        code = 0
        while not self.stopping.wait(0.5):
            for index, process in enumerate(self.processes):
                if process.is_alive():
                    continue
                process.join()
                if process.exitcode == STARTUP_FAILURE:
                    log.error("worker [%d] could not start; stopping the server", process.pid)
                    code = STARTUP_FAILURE
                    self.stopping.set()
                    break
                log.warning("worker [%d] died (exit code %s); starting another",
                            process.pid, process.exitcode)
                self.processes[index] = self._start()
        self._stop_all()
        log.info("Stopping parent process [%d]", os.getpid())
        return code

    def _stop_all(self) -> None:
        for process in self.processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()


def serve_workers(options: dict[str, Any], workers: int) -> int:
    """Run ``workers`` processes, each with its own ``SO_REUSEPORT`` socket; the exit code
    (3 when the address is taken or a worker cannot start)."""
    host, port = str(options.get("host", "127.0.0.1")), int(options.get("port", 8000))
    taken = _address_in_use(host, port)
    if taken is not None:
        log.error("cannot listen on %s:%d: %s", host, port, taken)
        return STARTUP_FAILURE
    return Supervisor(options, workers).run()


__all__ = ["per_worker_sockets_available", "serve_workers"]
