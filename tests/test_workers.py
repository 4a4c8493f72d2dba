"""``serve --workers N``'s supervisor (server/workers.py) before it starts anything: the
workers' ``SO_REUSEPORT`` sockets must not quietly join another server already listening on
the address. Its workers themselves are tested against PostgreSQL in
tests/test_multiworker.py."""

from __future__ import annotations

import socket

import pytest

from server.workers import (
    STARTUP_FAILURE,
    _address_in_use,
    per_worker_sockets_available,
    serve_workers,
)

pytestmark = pytest.mark.skipif(not per_worker_sockets_available(),
                                reason="per-worker sockets are Linux's (SO_REUSEPORT)")


def test_an_address_another_server_listens_on_is_refused_before_any_worker_starts() -> None:
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # as another server's worker
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        assert _address_in_use("127.0.0.1", port)  # a plain bind says so
        options = {"app": "server.app:create_app_from_env", "factory": True,
                   "host": "127.0.0.1", "port": port}
        assert serve_workers(options, 2) == STARTUP_FAILURE


def test_a_free_address_is_free() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert _address_in_use("127.0.0.1", port) is None
