"""Real server processes for the tests that need real concurrency across processes."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


def _bound_socket() -> socket.socket:
    """A listening socket on a free loopback port, handed to uvicorn (no port race)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@contextmanager
def live_servers(database_url: str, count: int = 2, **env: str) -> Iterator[list[str]]:
    """Start `count` separate uvicorn processes on the same database; yield their base URLs."""
    processes: list[subprocess.Popen[bytes]] = []
    sockets = []
    urls = []
    environment = {
        **os.environ,
        "PORTFOLIO_DATABASE_URL": database_url,
        "PORTFOLIO_DB_POOL_SIZE": "10",
        **env,
    }
    try:
        for _ in range(count):
            sock = _bound_socket()
            sockets.append(sock)
            fd = sock.fileno()
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "app.main:app",
                        "--fd",
                        str(fd),
                        "--log-level",
                        "warning",
                        "--no-access-log",
                    ],
                    env=environment,
                    pass_fds=(fd,),
                )
            )
            urls.append(f"http://127.0.0.1:{sock.getsockname()[1]}")
        deadline = time.monotonic() + 90  # a busy machine imports slowly
        for url, process in zip(urls, processes, strict=True):
            while True:
                assert process.poll() is None, f"server for {url} exited"
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"server at {url} did not start"
                time.sleep(0.1)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for sock in sockets:
            sock.close()
