"""Worker processes on this machine that can always be stopped at once.

Why not ``concurrent.futures.ProcessPoolExecutor`` or ``multiprocessing.Pool``: both share locked queues
between the workers, and a worker killed while it holds a queue's lock (a terminal's Ctrl-C or a
``timeout``'s SIGTERM reaches every process of the group) can leave the main process waiting for ever when it
shuts the pool down; the executor's manager thread can also fail on futures cancelled while the pool
breaks. Here every worker has a pipe of its own and nothing is shared: the main process sends one task at a
time to an idle worker, and stopping is killing the workers, which cannot block.

Workers ignore SIGINT (the main process decides what an interrupt means and ends them itself), and a worker
whose main process has gone away stops on its own instead of lingering as an orphan.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import traceback
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Iterator, Sequence

IDLE_CHECK_SECONDS = 1.0
"""How often an idle worker checks that its main process is still there."""

JOIN_SECONDS = 5.0
"""How long a finished pool waits for its workers to leave before it kills them."""


class WorkerDied(RuntimeError):
    """A worker process ended without answering (killed from outside, out of memory)."""


class WorkerPool:
    """``workers`` processes mapping a function over tasks, yielding the results in task order.

    Use it as a context manager: leaving the block normally lets the workers finish and exit; leaving it by
    an exception (an interrupt included) kills them at once."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, int(workers))
        self._processes: list[Any] = []
        self._conns: list[Connection] = []

    def __enter__(self) -> "WorkerPool":
        ctx = multiprocessing.get_context()
        forked = ctx.get_start_method() == "fork"
        parent_ends: list[int] = []
        try:
            for _ in range(self.workers):
                mine, theirs = ctx.Pipe(duplex=True)
                parent_ends.append(mine.fileno())
                # A forked worker inherits the main process's ends of every pipe made so far: it closes them,
                # so that it sees the main process go away and holds no other worker's pipe open.
                process = ctx.Process(target=_serve, args=(theirs, os.getpid(), list(parent_ends) if forked else []),
                                      daemon=True, name="bordersim-worker")
                process.start()
                theirs.close()
                self._processes.append(process)
                self._conns.append(mine)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.stop()

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[Any]:
        """Results of ``fn(task)`` in task order, computed by the workers as they become free."""
        if not self._processes:
            raise RuntimeError("WorkerPool.map outside its 'with' block")
        return self._results(fn, list(tasks))

    def _results(self, fn: Callable[[Any], Any], tasks: list[Any]) -> Iterator[Any]:
        next_task = 0
        next_out = 0
        busy: dict[Connection, int] = {}
        finished: dict[int, Any] = {}
        idle = list(self._conns)
        while next_out < len(tasks):
            while idle and next_task < len(tasks):
                conn = idle.pop()
                conn.send((fn, tasks[next_task]))
                busy[conn] = next_task
                next_task += 1
            if next_out in finished:
                yield finished.pop(next_out)
                next_out += 1
                continue
            for conn in wait(list(busy)):
                assert isinstance(conn, Connection)
                index = busy.pop(conn)
                finished[index] = _unpack(self._receive(conn))
                idle.append(conn)

    def _receive(self, conn: Connection) -> tuple[str, Any]:
        try:
            return pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            process = self._processes[self._conns.index(conn)]
            process.join(timeout=1.0)
            raise WorkerDied(f"a worker process ended without finishing its task (exit status "
                             f"{process.exitcode}); it may have been killed or run out of memory") from None

    def close(self) -> None:
        """Tell idle workers to leave, wait a little for them, kill what is left."""
        for conn in self._conns:
            try:
                conn.send(None)
            except OSError:
                pass
        for process in self._processes:
            process.join(timeout=JOIN_SECONDS)
        self.stop()

    def stop(self) -> None:
        """Kill every worker at once and reap it; never blocks on a worker."""
        for process in self._processes:
            if process.is_alive():
                process.kill()
        for process in self._processes:
            process.join(timeout=JOIN_SECONDS)
        for conn in self._conns:
            conn.close()
        self._processes = []
        self._conns = []


def _unpack(message: tuple[str, Any]) -> Any:
    kind, value = message
    if kind == "error":
        raise value
    return value


def _serve(conn: Connection, parent: int, inherited: list[int]) -> None:
    """A worker's loop: run each task received, send back its result or its exception."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the main process's handler, inherited by fork
    for fd in inherited:
        try:
            os.close(fd)
        except OSError:
            pass
    while True:
        if not conn.poll(IDLE_CHECK_SECONDS):
            if os.getppid() != parent:
                return
            continue
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        fn, task = message
        try:
            reply = ("ok", fn(task))
            data = pickle.dumps(reply)
        except Exception as exc:  # noqa: BLE001 - sent to the main process, which raises it
            exc.add_note("(raised in a worker process)\n" + "".join(traceback.format_tb(exc.__traceback__)))
            data = _error(exc)
        try:
            conn.send_bytes(data)
        except OSError:
            return


def _error(exc: Exception) -> bytes:
    """An exception as the main process will raise it: itself if it can be pickled, else a description."""
    try:
        data = pickle.dumps(("error", exc))
        pickle.loads(data)
        return data
    except Exception:  # noqa: BLE001 - an exception that cannot travel is described instead
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return pickle.dumps(("error", RuntimeError(f"in a worker process: {text}")))
