"""Claiming an output location before any work starts, and failing there with one clear line.

A command that writes results (``run``, ``compare``, ``score``, ``calibrate``) first *claims* each folder or
file it will write (:func:`claim_output`):

* the parent folder must exist or be creatable, and be writable;
* the location is locked while the command runs: a lock file ``.NAME.lock`` beside it, holding the owner's
  process id, locked with the operating system's advisory lock (``flock``), which the system releases when
  the process ends however it ends. A second command into the same location fails at once;
* an existing result is kept unless the user asked to replace it (``--force``);
* hidden temporary folders and files left next to it by runs whose process no longer exists are removed
  (their names carry the owner's process id: :func:`temporary_prefix`);
* the free space is checked against an estimate of what will be written.

While writing, :func:`disk_errors` turns a full disk or a write refused by the system into one line that
names the folder and what to do.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
from pathlib import Path
from typing import Iterator

from sim.errors import UserError

NO_SPACE = {errno.ENOSPC, errno.EDQUOT}
REFUSED = {errno.EACCES, errno.EPERM, errno.EROFS}
SPACE_MARGIN = 1.2
"""Free space asked for beyond the estimate: estimates of CSV sizes are rough."""


def human_bytes(n: float) -> str:
    """``1.5 GB``-style sizes for messages."""
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def temporary_prefix(name: str) -> str:
    """The start of the name of a hidden temporary file or folder written for ``name`` by this process:
    ``.NAME.<pid>.``; :func:`remove_stale` recognises it by that process id."""
    return f".{name}.{os.getpid()}."


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (on this machine)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale(parent: Path, name: str) -> list[Path]:
    """Remove ``parent``'s hidden leftovers for ``name`` whose owner process no longer exists: temporary folders
    and files (``.NAME.<pid>.<random>.tmp``, ``.NAME.<pid>.tmp``) and replaced results awaiting deletion
    (``.NAME.old-<pid>``). Leftovers of live processes are left alone. Returns what was removed."""
    pattern = re.compile(rf"^\.{re.escape(name)}\.(?:(\d+)\.(?:[^.]+\.)?tmp|old-(\d+))$")
    removed = []
    try:
        entries = list(Path(parent).iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = pattern.match(entry.name)
        if match is None:
            continue
        if pid_alive(int(match.group(1) or match.group(2))):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()
        removed.append(entry)
    return removed


def ensure_writable(folder: Path, option: str) -> None:
    """Create ``folder`` if needed and check that files can be made in it; UserError naming ``option``."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f"{temporary_prefix('write-check')}tmp"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"{option}: cannot write in {folder} ({exc.strerror or exc}); "
                        f"choose another {option} or fix its permissions") from None


def check_free_space(folder: Path, needed: int, option: str) -> None:
    """UserError when ``folder``'s file system has less free space than ``needed`` bytes (with a margin)."""
    if needed <= 0:
        return
    free = shutil.disk_usage(folder).free
    if free < needed * SPACE_MARGIN:
        raise UserError(f"{option}: {folder} has {human_bytes(free)} free and these results need about "
                        f"{human_bytes(needed * SPACE_MARGIN)}; free space there or choose another {option}")


def lock_path(target: Path) -> Path:
    """The lock file of an output location: ``.NAME.lock`` beside it."""
    target = Path(target)
    return target.parent / f".{target.name}.lock"


@contextlib.contextmanager
def locked(target: Path, option: str) -> Iterator[None]:
    """Hold the lock of ``target`` for the block; UserError at once if another process holds it."""
    import fcntl  # POSIX only, like the rest of the command's process handling

    path = lock_path(target)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 32).decode(errors="replace").strip()
            os.close(fd)
            who = f" (process {owner})" if owner.isdigit() else ""
            raise UserError(f"{option}: {target} is in use by another bordersim run{who}; wait for it to "
                            f"finish or choose another {option}") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the owner removed the file as we opened it: lock the new one
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)


@contextlib.contextmanager
def nested_outputs_locked(folder: Path, known: tuple[str, ...] = (), option: str = "--out") -> Iterator[None]:
    """Hold the locks of the outputs inside ``folder`` (its folders, any output with a lock file there, and the
    ``known`` names) for the block. Why: a command that replaces ``folder`` whole while keeping what other
    commands wrote inside it would otherwise delete another run's work in progress, or lose what that run
    writes during the block; with the locks held, such a run is refused at once instead."""
    folder = Path(folder)
    if not folder.is_dir():
        yield
        return
    names = {p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")} | set(known)
    names |= {p.name[1:-len(".lock")] for p in folder.glob(".*.lock")}
    with contextlib.ExitStack() as stack:
        for name in sorted(names):
            stack.enter_context(locked(folder / name, option))
        yield


@contextlib.contextmanager
def claim_output(target: Path, force: bool = False, option: str = "--out", needed: int = 0) -> Iterator[Path]:
    """Claim ``target`` (a results folder or file) for the block: writable, locked, not replacing an existing
    result unless ``force``, with the leftovers of dead runs removed and ``needed`` bytes free."""
    target = Path(target)
    ensure_writable(target.parent, option)
    with locked(target, option):
        if target.exists() and not force:
            raise UserError(f"{option}: {target} already exists; add --force to replace it, or choose another "
                            f"{option}")
        remove_stale(target.parent, target.name)
        check_free_space(target.parent, needed, option)
        yield target


@contextlib.contextmanager
def claim_outputs(targets: list[Path], force: bool = False, option: str = "--out",
                  needed: int = 0) -> Iterator[None]:
    """:func:`claim_output` of several locations at once (in a fixed order, so two commands cannot each
    hold one and wait for the other)."""
    with contextlib.ExitStack() as stack:
        for target in sorted({Path(t).resolve() for t in targets}):
            stack.enter_context(claim_output(target, force, option, needed))
        yield


def disk_error_message(exc: BaseException, folder: Path | None = None) -> str | None:
    """One line for a full disk or a refused write anywhere in ``exc``'s chain, else None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in NO_SPACE | REFUSED:
            where = folder if folder is not None else Path(current.filename or ".").parent
            if current.errno in NO_SPACE:
                return (f"{where}: the disk is full ({current.strerror}); nothing was kept. Free space on that "
                        "disk (old results, caches) or choose another --out, then run again")
            return (f"{where}: cannot write there ({current.strerror}); nothing was kept. Choose another --out "
                    "or fix its permissions")
        current = current.__cause__ or current.__context__
    return None


@contextlib.contextmanager
def disk_errors(folder: Path) -> Iterator[None]:
    """Turn a full disk or a refused write inside the block into a :class:`UserError` naming ``folder``."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - libraries (pandas, matplotlib) may wrap the OSError
        message = disk_error_message(exc, folder)
        if message is None:
            raise
        raise UserError(message) from None
