"""Executors beyond this machine: Dask distributed, behind the same protocol as ``LocalExecutor``.

Both executors map a function over whole runs and yield the results in task order, so a comparison gives
identical results whichever executes it (each run is seeded by its own task). :func:`make_executor` is
what the command line uses: ``local`` is a process pool on this machine, ``dask`` connects to a
``distributed`` scheduler (``--scheduler tcp://host:8786``) or, with no address, starts a
``distributed.LocalCluster`` of worker processes itself.

Dask workers import ``sim`` and read the scenario files by the paths in the tasks, so on a real cluster
every worker needs the package installed and the scenario folder at the same (absolute) path.

Failures give one line, never a traceback: an address where nothing answers, or something that is not a Dask
scheduler (it does not send Dask's greeting within the timeout, or sends something else, such as HTTP), is
refused before any work (:func:`probe_scheduler`); a cluster left without workers for :data:`GRACE_SECONDS`
stops the work (:class:`ClusterLost`), and so does losing the scheduler.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import struct
import time
from typing import Any, Callable, Iterator, Sequence

from sim.errors import UserError
from sim.experiments.ensemble import Executor, LocalExecutor

EXECUTORS = ("local", "dask")
CONNECT_TIMEOUT = "10s"
GRACE_SECONDS = 60.0
"""How long a cluster may have no worker at all before the work stops (workers restarting, or being added by
an autoscaler, come back well within it)."""
POLL_SECONDS = 1.0
"""How often a wait for a result checks that the cluster still has workers."""
GREETING_LIMIT = 1 << 20
"""Largest first message a Dask scheduler sends (its handshake is tens of bytes)."""


class ClusterLost(UserError):
    """The cluster has had no workers for longer than the grace period, or its scheduler went away."""


def _seconds(timeout: str) -> float:
    """``'10s'`` or ``'10'`` as seconds."""
    text = str(timeout).strip().lower()
    return float(text[:-1]) if text.endswith("s") else float(text)


def probe_scheduler(address: str, timeout: float) -> None:
    """Check, within ``timeout`` seconds, that a Dask scheduler answers at a ``tcp://`` address: it must accept
    the connection and send Dask's greeting (a frame header: its total length, then a small number of frames),
    which a scheduler does at once. UserError otherwise. Other protocols (``tls://``, ``ucx://``) are left to
    Dask's own connection."""
    scheme, _, rest = address.rpartition("://")
    if scheme not in ("", "tcp"):
        return
    host, _, port_text = rest.rpartition(":")
    host = host.strip("[]")
    if not host or not port_text.isdigit():
        raise UserError(f"--scheduler: '{address}' is not an address of the form tcp://host:port")
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host, int(port_text)), timeout=timeout) as sock:
            header = _receive(sock, 16, deadline)
    except socket.timeout:
        raise UserError(f"--scheduler: {address} accepted the connection but sent no Dask greeting within "
                        f"{timeout:g} s; is it a Dask scheduler?") from None
    except OSError as exc:
        raise UserError(f"--scheduler: cannot reach the Dask scheduler at {address} within {timeout:g} s "
                        f"({exc.strerror or exc})") from None
    total, frames = struct.unpack("<QQ", header) if len(header) == 16 else (0, 0)
    if not (16 <= total <= GREETING_LIMIT and 1 <= frames <= 64 and 8 + 8 * frames <= total):
        raise UserError(f"--scheduler: {address} answered, but not as a Dask scheduler (it sent "
                        f"{header[:16]!r}); check the address and port")


def _receive(sock: socket.socket, size: int, deadline: float) -> bytes:
    """Up to ``size`` bytes, until the peer closes or the deadline passes (``socket.timeout`` if none came)."""
    data = b""
    while len(data) < size:
        left = deadline - time.monotonic()
        if left <= 0:
            if data:
                break
            raise socket.timeout
        sock.settimeout(left)
        try:
            chunk = sock.recv(size - len(data))
        except socket.timeout:
            if data:
                break
            raise
        if not chunk:
            break
        data += chunk
    return data


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored while worker processes start: they inherit it, so a Ctrl-C reaches only this process,
    which then closes the cluster, instead of every worker printing its own traceback."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class DaskExecutor:
    """Runs tasks on a Dask ``distributed`` cluster: an existing scheduler, or a local cluster it starts.

    Args:
        scheduler: address of a running scheduler (``tcp://host:8786``); ``None`` starts a
            ``LocalCluster`` with ``workers`` single-threaded worker processes (the model is pure Python,
            so threads would share one interpreter lock).
        workers: number of worker processes of the local cluster (default: the core count).
        client: an existing ``distributed.Client`` to use as is (tests, notebooks); not closed on exit.
        timeout: for connecting to ``scheduler`` (``'10s'``).
        grace: seconds the cluster may have no worker before :class:`ClusterLost` stops the work (default
            :data:`GRACE_SECONDS`).
    """

    def __init__(self, scheduler: str | None = None, workers: int | None = None, client: Any = None,
                 timeout: str | None = None, grace: float | None = None) -> None:
        self.scheduler = scheduler
        self.workers = workers or os.cpu_count() or 1
        self.timeout = timeout or CONNECT_TIMEOUT
        self.grace = GRACE_SECONDS if grace is None else grace
        self._client = client
        self._own_client = client is None
        self._cluster: Any = None
        self._futures: list[Any] = []

    @property
    def description(self) -> dict[str, Any]:
        address = self.scheduler
        if address is None and self._client is not None:
            address = getattr(self._client.scheduler, "address", None)
        return {"kind": "dask", "scheduler": address, "local_cluster": self._cluster is not None,
                "workers": self._n_workers()}

    def _n_workers(self) -> int | None:
        if self._client is None:
            return None
        try:
            return len(self._client.scheduler_info(n_workers=-1)["workers"])
        except TypeError:  # older distributed: no n_workers argument
            return len(self._client.scheduler_info()["workers"])
        except Exception:  # noqa: BLE001 - informative only
            return None

    def __enter__(self) -> "DaskExecutor":
        if self._client is not None:
            return self
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise UserError("--executor dask needs the 'distributed' package: "
                            "pip install 'bordersim[dask]'") from None
        if self.scheduler is None:
            with _sigint_ignored():
                # silence_logs: a worker's own log is noise here. On an interrupt the scheduler closes while
                # workers still send heartbeats, and each logs a traceback at ERROR (seen in 2 of 8 Ctrl-Cs
                # during the first seconds); what a user must know reaches this process anyway, as a task's
                # exception or as ClusterLost.
                self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                             dashboard_address=None, silence_logs=logging.CRITICAL)
            self._client = Client(self._cluster)
        else:
            probe_scheduler(self.scheduler, _seconds(self.timeout))
            try:
                self._client = Client(self.scheduler, timeout=self.timeout)
            except Exception as exc:  # noqa: BLE001 - any failure to connect is the address's problem
                raise UserError(f"--scheduler: cannot reach the Dask scheduler at {self.scheduler} "
                                f"within {self.timeout} ({type(exc).__name__}: {exc})") from None
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is not None:
            # Stopping early: workers busy with a batch are killed by their nannies, and Dask logs each
            # kill and each closed connection; the command says in one line what happened instead.
            logging.getLogger("distributed").setLevel(logging.CRITICAL)
        if self._futures and self._client is not None:
            try:
                self._client.cancel(self._futures)
            except Exception:  # noqa: BLE001 - best effort while shutting down
                pass
        self._futures = []
        if self._own_client and self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[Any]:
        if self._client is None:
            raise RuntimeError("DaskExecutor.map outside its 'with' block")
        # pure=False: every task runs even if two were equal; results come back in task order.
        self._futures = self._client.map(fn, list(tasks), pure=False)
        return self._results(self._futures)

    def _results(self, futures: list[Any]) -> Iterator[Any]:
        for future in futures:
            yield self._wait(future)

    def _wait(self, future: Any) -> Any:
        """The future's result; :class:`ClusterLost` once the cluster has had no worker for ``grace`` seconds
        or its scheduler cannot be reached."""
        from distributed import TimeoutError as DaskTimeout
        from distributed.comm.core import CommClosedError
        from distributed.scheduler import KilledWorker

        alone_since: float | None = None
        while True:
            try:
                return future.result(timeout=POLL_SECONDS)
            except (TimeoutError, DaskTimeout):
                pass
            except KilledWorker:
                raise ClusterLost("Dask workers died running the same batch three times (killed, or out of "
                                  "memory)") from None
            except (CommClosedError, OSError) as exc:
                raise ClusterLost(f"lost the connection to the Dask scheduler ({type(exc).__name__})") from None
            if self._n_workers() == 0:
                alone_since = alone_since if alone_since is not None else time.monotonic()
                if time.monotonic() - alone_since > self.grace:
                    raise ClusterLost(f"the Dask cluster has had no workers for {self.grace:g} s")
            else:
                alone_since = None


def make_executor(kind: str = "local", workers: int | None = None,
                  scheduler: str | None = None) -> Executor:
    """The executor named on the command line (``local`` or ``dask``)."""
    if kind == "local":
        if scheduler is not None:
            raise UserError("--scheduler is only used with --executor dask")
        return LocalExecutor(workers)
    if kind == "dask":
        return DaskExecutor(scheduler, workers)
    raise UserError(f"--executor: unknown executor '{kind}'; expected one of: {', '.join(EXECUTORS)}")


def describe(executor: Any) -> dict[str, Any]:
    """What ran a comparison, for its manifest."""
    if isinstance(executor, DaskExecutor):
        return executor.description
    if isinstance(executor, LocalExecutor):
        return {"kind": "local", "workers": executor.workers}
    return {"kind": type(executor).__name__}
