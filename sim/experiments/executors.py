"""Executors beyond this machine: Dask distributed, behind the same protocol as ``LocalExecutor``.

Both executors map a function over whole runs and yield the results in task order, so a comparison gives
identical results whichever executes it (each run is seeded by its own task). :func:`make_executor` is
what the command line uses: ``local`` is a process pool on this machine, ``dask`` connects to a
``distributed`` scheduler (``--scheduler tcp://host:8786``) or, with no address, starts a
``distributed.LocalCluster`` of worker processes itself.

Dask workers import ``sim`` and read the scenario files by the paths in the tasks, so on a real cluster
every worker needs the package installed and the scenario folder at the same (absolute) path.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterator, Sequence

from sim.errors import UserError
from sim.experiments.ensemble import Executor, LocalExecutor

EXECUTORS = ("local", "dask")
CONNECT_TIMEOUT = "10s"


class DaskExecutor:
    """Runs tasks on a Dask ``distributed`` cluster: an existing scheduler, or a local cluster it starts.

    Args:
        scheduler: address of a running scheduler (``tcp://host:8786``); ``None`` starts a
            ``LocalCluster`` with ``workers`` single-threaded worker processes (the model is pure Python,
            so threads would share one interpreter lock).
        workers: number of worker processes of the local cluster (default: the core count).
        client: an existing ``distributed.Client`` to use as is (tests, notebooks); not closed on exit.
    """

    def __init__(self, scheduler: str | None = None, workers: int | None = None, client: Any = None,
                 timeout: str | None = None) -> None:
        self.scheduler = scheduler
        self.workers = workers or os.cpu_count() or 1
        self.timeout = timeout or CONNECT_TIMEOUT
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
            self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                         dashboard_address=None)
            self._client = Client(self._cluster)
        else:
            try:
                self._client = Client(self.scheduler, timeout=self.timeout)
            except (OSError, TimeoutError, ValueError) as exc:
                raise UserError(f"--scheduler: cannot reach the Dask scheduler at {self.scheduler} "
                                f"within {self.timeout} ({type(exc).__name__}: {exc})") from None
        return self

    def __exit__(self, *exc: object) -> None:
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

    @staticmethod
    def _results(futures: list[Any]) -> Iterator[Any]:
        for future in futures:
            yield future.result()


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
