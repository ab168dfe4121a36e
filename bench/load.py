"""Load generation and process plumbing shared by the benchmark and its smoke test.

`wrk` (Debian package `wrk`) drives HTTP load; servers and wrk are pinned to different
cores with `taskset` so they do not steal each other's CPU. Everything binds 127.0.0.1.
"""

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
SERVER_CORE = 0
LOAD_CORE = 1


def cores() -> int:
    return len(os.sched_getaffinity(0))


def pinned(command: Sequence[str], core: int) -> list[str]:
    """Prefix with taskset when there is a core to pin to (two or more available)."""
    if shutil.which("taskset") and cores() >= 2:
        return ["taskset", "-c", str(core), *command]
    return list(command)


def pin_self(core: int = LOAD_CORE) -> None:
    """The benchmark process plays the client: keep it off the server's core."""
    if cores() >= 2:
        os.sched_setaffinity(0, {core})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_wrk() -> str:
    """Path of wrk, installing the Debian package when it is missing and we may."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False)
        if not shutil.which("wrk"):
            subprocess.run(["apt-get", "update", "-qq"], check=False)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is required: apt-get install wrk")
    return found


@dataclass
class LoadResult:
    requests_per_second: float
    average_ms: float  # mean latency of the completed requests
    p50_ms: float
    p99_ms: float
    requests: int
    bad_responses: int  # non-2xx/3xx plus socket errors

    @property
    def mean_ms(self) -> float:
        return self.average_ms

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _duration_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"cannot read wrk duration {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> LoadResult:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    average = re.search(r"Latency\s+(\S+)\s", output)
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    percentiles = dict(re.findall(r"^\s+(50|99)(?:\.000)?%\s+(\S+)", output, re.MULTILINE))
    bad = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if errors:
        bad += sum(int(n) for n in errors.groups())
    return LoadResult(
        requests_per_second=rps,
        average_ms=_duration_ms(average.group(1)) if average else float("inf"),
        p50_ms=_duration_ms(percentiles["50"]),
        p99_ms=_duration_ms(percentiles["99"]),
        requests=requests,
        bad_responses=bad,
    )


# A request per call, so POSTs can carry a fresh Idempotency-Key each time: a prefix new
# for each run (`BENCH_KEY_PREFIX`), then a counter (wrk runs with one thread, one Lua
# state). The prefix once came from Lua's `math.random`, which LuaJIT seeds the same way
# in every process: every run sent the same keys, so after a run's first with a given
# API key most "writes" were replays of stored answers (bench/RESULTS.md, tenth pass).
_POST_SCRIPT = """
local counter = 0
local tag = os.getenv("BENCH_KEY_PREFIX")
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
request = function()
  counter = counter + 1
  wrk.headers["Idempotency-Key"] = "bench-" .. tag .. "-" .. counter
  return wrk.format()
end
"""


def python_load(
    url: str,
    *,
    duration: float,
    connections: int = 1,
    headers: dict[str, str] | None = None,
    post_json: str | None = None,
) -> LoadResult:
    """A small stand-in for wrk (a thread per connection), for runs shorter than wrk's
    one-second minimum: the smoke test, and machines without wrk."""
    latencies: list[float] = []
    bad = 0
    lock = threading.Lock()
    deadline = time.perf_counter() + duration

    def worker(number: int) -> None:
        nonlocal bad
        sent = 0
        with httpx.Client(headers={"Accept": "", **(headers or {})}, timeout=30) as client:
            while time.perf_counter() < deadline or sent == 0:
                sent += 1
                started = time.perf_counter()
                if post_json is None:
                    response = client.get(url)
                else:
                    response = client.post(
                        url,
                        content=post_json,
                        headers={
                            "Content-Type": "application/json",
                            "Idempotency-Key": f"bench-py-{number}-{sent}-{time.time_ns()}",
                        },
                    )
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    bad += response.status_code >= 400

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return LoadResult(
        requests_per_second=len(ordered) / wall,
        average_ms=sum(ordered) / len(ordered),
        p50_ms=ordered[len(ordered) // 2],
        p99_ms=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        requests=len(ordered),
        bad_responses=bad,
    )


def http_load(url: str, *, duration: float, **options: Any) -> LoadResult:
    """wrk for real runs; the Python stand-in below one second or without wrk."""
    if duration < 1 or not (shutil.which("wrk") or os.geteuid() == 0):
        return python_load(url, duration=duration, **options)
    return wrk(url, duration=duration, **options)


def wrk(
    url: str,
    *,
    duration: float,
    connections: int = 1,
    headers: dict[str, str] | None = None,
    post_json: str | None = None,
) -> LoadResult:
    command = [
        ensure_wrk(),
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    env = dict(os.environ)
    script_path = None
    if post_json is not None:
        command += ["-H", "Content-Type: application/json"]
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(_POST_SCRIPT)
            script_path = script.name
        command += ["-s", script_path]
        env["BENCH_BODY"] = post_json
        env["BENCH_KEY_PREFIX"] = uuid.uuid4().hex
    try:
        done = subprocess.run(
            pinned([*command, url], LOAD_CORE),
            capture_output=True,
            text=True,
            env=env,
            timeout=duration + 60,
            check=True,
        )
    finally:
        if script_path:
            os.unlink(script_path)
    return parse_wrk(done.stdout)


def median_and_spread(values: Sequence[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "runs": len(values),
    }


# -- servers -------------------------------------------------------------------------------


def compose_workers(path: Path = ROOT / "docker-compose.yml") -> int:
    """PORTFOLIO_WORKERS of the api service in docker-compose.yml: the production setting."""
    # A plain number, or the default of `${PORTFOLIO_WORKERS:-4}`.
    match = re.search(r'PORTFOLIO_WORKERS:\s*"?(?:\$\{PORTFOLIO_WORKERS:-)?(\d+)', path.read_text())
    return int(match.group(1)) if match else 1


# Four workers importing the app on one pinned core take well over a minute when other
# work loads the machine (seen at a load average of 15).
def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server at {url} not ready in {timeout} s")


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[bytes]

    def pids(self) -> list[int]:
        """The server and every process below it (uvicorn's workers)."""
        found = [self.process.pid]
        index = 0
        while index < len(found):
            pid = found[index]
            index += 1
            for task in Path(f"/proc/{pid}/task").glob("*"):
                with suppress(OSError):
                    found += [int(p) for p in (task / "children").read_text().split()]
        return found

    def cpu_seconds(self) -> float:
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
        return total / os.sysconf("SC_CLK_TCK")

    def wait_idle(self, timeout: float = 120) -> None:
        """Wait until the server has finished the requests a load run left queued (wrk
        stops sending, not the server computing), so they do not slow the next run."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            before = self.cpu_seconds()
            time.sleep(0.5)
            if self.cpu_seconds() - before < 0.05:
                return

    def rss_mb(self) -> float:
        total = 0
        for pid in self.pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            match = re.search(r"VmRSS:\s+(\d+) kB", status)
            total += int(match.group(1)) if match else 0
        return total / 1024


@contextmanager
def serve(
    command: Sequence[str], env: dict[str, str], ready_path: str, port: int
) -> Iterator[Server]:
    errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below)
    process = subprocess.Popen(
        pinned(command, SERVER_CORE),
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=errors,
        start_new_session=True,
    )
    server = Server(base_url=f"http://127.0.0.1:{port}", process=process)
    try:
        try:
            _wait_ready(server.base_url + ready_path, process)
        except RuntimeError as exc:
            errors.seek(0)
            raise RuntimeError(f"{exc}: {errors.read()[-2000:].decode(errors='replace')}") from None
        yield server
    finally:
        # Only the process group we started.
        with suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()
        errors.close()


def portfolio_server(
    database_url: str,
    workers: int,
    *,
    answer_cache: bool = False,
    python_path: str | None = None,
) -> Any:
    """The API as `portfolio serve` runs it. Without `answer_cache` the reports' answers
    are not kept by ETag (`PORTFOLIO_REPORT_CACHE_BYTES=0`), so asking a report again
    times its computation, not a lookup; the mixed workload runs as deployed, with it.
    `python_path` serves the code of another checkout (`bench.compare`)."""
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "portfolio"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    env = {
        "DATABASE_URL": database_url,
        "PORTFOLIO_LOG_LEVEL": "WARNING",
        # The limiter still counts every request, but never refuses one: at one connection
        # a fast route (lineage: ~550 requests/s on one worker) would otherwise spend the
        # key's bucket (200, then 50/s per worker) within a second, and the rest of the run
        # would time 429 answers instead of the route.
        "PORTFOLIO_RATE_LIMIT_PER_SECOND": "1000000",
        "PORTFOLIO_RATE_LIMIT_BURST": "1000000",
        **({} if answer_cache else {"PORTFOLIO_REPORT_CACHE_BYTES": "0"}),
        **({"PYTHONPATH": python_path} if python_path else {}),
    }
    return serve(command, env, "/healthz", port)


def peer_server(database_url: str, workers: int) -> Any:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.peer:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    return serve(command, {"BENCH_PEER_DATABASE_URL": database_url}, "/healthz", port)


class RssSampler:
    """Peak resident memory of a server's process tree, sampled every 20 ms."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self.server.rss_mb())
            time.sleep(0.02)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
