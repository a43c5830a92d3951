"""Where a batch's planning runs: any `concurrent.futures.Executor`, chosen by a short spec.

    process          a local process pool of --workers processes (the default)
    thread           a thread pool (planning holds the GIL: for tests and debugging)
    dask://HOST:PORT a Dask distributed scheduler (dask+tls://HOST:PORT over TLS), through
                     `Client.get_executor()`; workers need lasergen installed
Dask does the scheduling, retries and data transfer; lasergen only submits chunks and reads
results in order. The hidden-layer key travels with each task: across computers use TLS.
"""

from __future__ import annotations

from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Iterator

from lasergen import LasergenError

DASK_SCHEMES = {"dask://": "tcp://", "dask+tcp://": "tcp://", "dask+tls://": "tls://"}
CONNECT_TIMEOUT_S = 10


@contextmanager
def make_executor(spec: str | None, workers: int) -> Iterator[tuple[Executor, str]]:
    """(executor, description) for a spec; shuts it down (or disconnects) on exit."""
    spec = spec or "process"
    if spec in ("process", "thread"):
        if workers < 1:
            raise LasergenError(f"batch: --workers must be >= 1, got {workers}")
        pool = (ProcessPoolExecutor if spec == "process" else ThreadPoolExecutor)(max_workers=workers)
        with pool:
            yield pool, f"{spec} x{workers}"
        return
    scheme = next((s for s in DASK_SCHEMES if spec.startswith(s)), None)
    if scheme is None:
        raise LasergenError(f"batch: --executor {spec!r}: expected process, thread or dask://HOST:PORT")
    try:
        from distributed import Client
    except ImportError:
        raise LasergenError("batch: --executor dask://... needs Dask: pip install 'lasergen[dask]'") from None
    address = DASK_SCHEMES[scheme] + spec[len(scheme):]
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        raise LasergenError(f"batch: cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        yield client.get_executor(pure=False), f"dask {address} ({len(client.scheduler_info()['workers'])} workers)"
    finally:
        client.close()
