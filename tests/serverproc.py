"""Run ``python -m server`` as a real subprocess for end-to-end tests.

``ServerProcess`` starts ``serve`` on a free port, waits for ``/healthz``, keeps the
server's output in a log file (quoted in failure messages) and always stops the
whole process group it started. ``run_cli`` runs one CLI command to completion.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, Self

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env() -> dict[str, str]:
    """The test's environment without CHARITY_* settings that could leak into the server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARITY_")}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def run_cli(
    args: Sequence[str], *, database_url: str, data_dir: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python -m server <args> --database-url URL --data-dir DIR``, captured."""
    return subprocess.run(
        [sys.executable, "-m", "server", *args, "--database-url", database_url, "--data-dir", str(data_dir)],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=timeout, check=False,
    )


def cli_token(
    *, database_url: str, data_dir: Path, user: str, role: str,
    station: str | None = None, district: str | None = None,
) -> str:
    """Issue a device token through ``token issue``; the token is the last line printed."""
    args = ["token", "issue", "--user", user, "--role", role]
    if station:
        args += ["--station", station]
    if district:
        args += ["--district", district]
    done = run_cli(args, database_url=database_url, data_dir=data_dir)
    assert done.returncode == 0, f"token issue failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert lines, f"token issue printed nothing:\n{done.stderr}"
    return lines[-1].strip()


class ServerProcess:
    """``python -m server serve`` on 127.0.0.1 and a free port."""

    def __init__(
        self, *, database_url: str, data_dir: Path, workers: int | None = None,
        log_path: Path | None = None, extra_env: dict[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.data_dir = data_dir
        self.workers = workers
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path or (data_dir / f"server-{self.port}.log")
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_file: BinaryIO | None = None
        self.starts = 0
        self._log_offset = 0  # where this run's output begins in the log (restarts append)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, timeout: float | None = None) -> ServerProcess:
        """Start and wait until healthy (every worker started, when there are several).

        Several workers import the app at once; on a loaded 2-core CI machine that took
        over 45 s, so their default patience is 120 s (30 s for one process)."""
        if timeout is None:
            timeout = 120 if self.workers and self.workers > 1 else 30
        if self.proc is not None and self.proc.poll() is None:
            return self  # already running (``with proc.start():`` must not start a second one)
        cmd = [
            sys.executable, "-m", "server", "serve", "--port", str(self.port),
            "--database-url", self.database_url, "--data-dir", str(self.data_dir),
        ]
        if self.workers is not None:
            cmd += ["--workers", str(self.workers)]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # A restart (after stop() or kill()) appends, so earlier runs' tracebacks stay readable.
        self._log_file = open(self.log_path, "ab" if self.starts else "wb")  # noqa: SIM115 - closed in stop()
        self._log_offset = self._log_file.tell()
        self.starts += 1
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env={**_env(), **self.extra_env},
            stdout=self._log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            self.wait_healthy(timeout)
            if self.workers and self.workers > 1:
                self.wait_log_count("Application startup complete", self.workers, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(
                    f"server exited with {self.proc.returncode} before it was healthy\n{self.log()}"
                )
            try:
                response = httpx.get(self.base_url + "/healthz", timeout=2)
                if response.status_code == 200 and response.json().get("status") == "ok":
                    return
                last = response.status_code
            except httpx.HTTPError as exc:
                last = exc
            time.sleep(0.1)
        raise AssertionError(f"server not healthy after {timeout}s (last: {last!r})\n{self.log()}")

    def wait_log_count(self, needle: str, count: int, timeout: float) -> None:
        """Wait until ``needle`` appears ``count`` times in the log (e.g. one line per worker)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log_of_this_run().count(needle) >= count:
                return
            time.sleep(0.1)
        raise AssertionError(f"{needle!r} not seen {count} times in {timeout}s\n{self.log()}")

    def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM, then SIGKILL of the process group this object started."""
        proc = self.proc
        code: int | None = None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # the supervisor stops its workers
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    pass
            # workers left behind by the supervisor (same group) go too
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                code = proc.wait(5)
            except subprocess.TimeoutExpired:
                code = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return code

    def kill(self) -> None:
        """SIGKILL the whole process group at once (supervisor and workers): a crash,
        with no shutdown code run. ``start()`` afterwards restarts on the same port."""
        proc = self.proc
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- introspection ---------------------------------------------------------------------

    def log(self, tail: int = 6000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return text[-tail:] if tail else text

    def log_of_this_run(self) -> str:
        """The output of the current run only (the log is appended to on restart)."""
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(self._log_offset)
                return fh.read().decode(errors="replace")
        except OSError:
            return ""

    def descendant_pids(self) -> list[int]:
        """Every process below the server (uvicorn workers), Linux only."""
        if self.proc is None:
            return []
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
        found: list[int] = []
        stack = [self.proc.pid]
        while stack:
            for child in children.get(stack.pop(), []):
                found.append(child)
                stack.append(child)
        return found

    def connection_owner(self, client_port: int) -> int | None:
        """PID of the server process holding the accepted end of the TCP connection from
        ``client_port`` (Linux /proc); None when it cannot be told."""
        inode = _server_socket_inode(self.port, client_port)
        if inode is None:
            return None
        target = f"socket:[{inode}]"
        for pid in [*self.descendant_pids(), *( [self.proc.pid] if self.proc else [])]:
            fd_dir = Path(f"/proc/{pid}/fd")
            try:
                for fd in fd_dir.iterdir():
                    try:
                        if os.readlink(fd) == target:
                            return pid
                    except OSError:
                        continue
            except OSError:
                continue
        return None


    def listening_owners(self) -> dict[str, int | None]:
        """The sockets listening on the server's port (Linux /proc), each with the PID of
        the process holding it (None when it cannot be told)."""
        inodes = [parts[9] for parts in _tcp_rows()
                  if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == self.port]
        owners: dict[str, int | None] = dict.fromkeys(inodes)
        for pid in [*self.descendant_pids(), *([self.proc.pid] if self.proc else [])]:
            try:
                for fd in Path(f"/proc/{pid}/fd").iterdir():
                    with contextlib.suppress(OSError):
                        target = os.readlink(fd)
                        if target.startswith("socket:[") and target[8:-1] in owners:
                            owners[target[8:-1]] = pid
            except OSError:
                continue
        return owners


def _tcp_rows() -> list[list[str]]:
    rows: list[list[str]] = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            rows += [line.split() for line in Path(table).read_text().splitlines()[1:]]
    return rows


def _server_socket_inode(server_port: int, client_port: int) -> str | None:
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            local, remote, inode = parts[1], parts[2], parts[9]
            if (
                int(local.rsplit(":", 1)[1], 16) == server_port
                and int(remote.rsplit(":", 1)[1], 16) == client_port
                and inode != "0"
            ):
                return inode
    return None


def client_port_of(response: httpx.Response) -> int | None:
    """Local port of the connection that carried ``response`` (httpx/httpcore extension)."""
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    addr = stream.get_extra_info("client_addr")
    if not addr:
        return None
    return int(addr[1])


class SseStream:
    """One open ``GET /api/v1/sync/events`` stream read by a background task.

    ``events`` collects ``(monotonic time, event name)``; comments (keepalives) are
    counted apart and never taken for events.
    """

    def __init__(self, http: httpx.AsyncClient, token: str, label: str = "") -> None:
        self.http = http
        self.token = token
        self.label = label
        self.events: list[tuple[float, str]] = []
        self.comments = 0
        self.client_port: int | None = None
        self.status: int | None = None
        self._changed = None  # asyncio.Event, made on the running loop
        self._task = None
        self._cm = None
        self._response: httpx.Response | None = None

    async def open(self, timeout: float = 10) -> SseStream:
        import asyncio

        self._changed = asyncio.Event()
        self._cm = self.http.stream(
            "GET", "/api/v1/sync/events",
            headers={"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"},
            timeout=httpx.Timeout(10, read=None),
        )
        self._response = await asyncio.wait_for(self._cm.__aenter__(), timeout)
        self.status = self._response.status_code
        self.client_port = client_port_of(self._response)
        self._task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self._response is not None and self._changed is not None
        name: str | None = None
        async for line in self._response.aiter_lines():
            if line.startswith(":"):
                self.comments += 1
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line == "":
                if name is not None:
                    self.events.append((time.monotonic(), name))
                    self._changed.set()
                name = None

    async def wait_for(self, event: str, *, after: float = 0.0, timeout: float = 5.0) -> float | None:
        """Monotonic time of the first ``event`` seen after ``after``; None on timeout."""
        import asyncio

        assert self._changed is not None
        deadline = time.monotonic() + timeout
        while True:
            for stamp, name in self.events:
                if name == event and stamp >= after:
                    return stamp
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    def seen(self, event: str, *, after: float = 0.0) -> list[float]:
        return [stamp for stamp, name in self.events if name == event and stamp >= after]

    async def close(self) -> None:
        import asyncio
        import contextlib

        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        if self._cm is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._cm.__aexit__(None, None, None), 5)
        self._task = None
        self._cm = None
