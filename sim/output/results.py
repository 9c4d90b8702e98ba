"""Results folders: written completely or not at all, with a manifest that lets a run be repeated.

Everything is first written into a hidden temporary folder next to the target and then swapped in with
renames, so an interrupted run leaves at most a ``.tmp`` folder, never a results folder that looks
complete. ``manifest.json`` records the scenario hash, resolved parameters, seeds, package versions and
the git commit. Every path an output records is written by :func:`portable_path` (relative to the data root:
the repository in a checkout, the package data when installed) and read back by :func:`recorded_path`, so that
outputs name no machine's folders.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

from sim.input.builtin import ROOT
from sim.output.guard import disk_errors, temporary_prefix

PACKAGES = ("bordersim", "mesa", "numpy", "networkx", "pandas", "matplotlib", "pydantic", "pyyaml", "pyarrow")
REPO = Path(__file__).resolve().parents[2]
"""The checkout the code runs from, if it runs from one: whose git commit a manifest records."""


def portable_path(path: str | Path) -> str:
    """How an output names a file: relative to the data root (``sim.input.builtin.ROOT``: the repository in a
    checkout) if the file is inside it, else relative to the current directory if it is inside that, else just
    the file's name (POSIX separators).

    Why: results and calibration files are committed and shared; an absolute path names one machine's folders
    and means nothing on another. ``..`` is resolved, so ``scenarios/../calibration/fitted.yaml`` is written as
    ``calibration/fitted.yaml``."""
    given = Path(path)
    candidates = [Path(os.path.abspath(given)), given.resolve()]
    for base in (ROOT, Path.cwd().resolve()):
        for candidate in candidates:
            try:
                return candidate.relative_to(base).as_posix()
            except ValueError:
                continue
    return given.name


def recorded_path(text: str | Path) -> Path:
    """The file a path recorded by :func:`portable_path` names: an absolute path as it is; a relative one
    against the data root if the file is there, else against the current directory."""
    path = Path(text)
    if path.is_absolute():
        return path
    in_root = ROOT / path
    return in_root if in_root.exists() else path


def portable_command(argv: list[str] | None = None) -> str:
    """The command line as an output records it: the program's name, and every absolute path among the
    arguments (``/x/y`` or ``--opt=/x/y``) through :func:`portable_path`."""
    argv = sys.argv if argv is None else argv

    def arg(a: str) -> str:
        if os.path.isabs(a):
            return portable_path(a)
        option, eq, value = a.partition("=")
        if eq and option.startswith("-") and os.path.isabs(value):
            return f"{option}={portable_path(value)}"
        return a

    program = Path(argv[0]).name
    if program == "__main__.py":  # python -m sim
        program = "bordersim"
    return " ".join([program, *(arg(a) for a in argv[1:])])


@contextlib.contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``target`` in one rename, on error it is removed.

    The temporary folder's name carries this process's id (``.NAME.<pid>.<random>.tmp``), so that a later run
    can tell a dead run's leftover from a live one's (:func:`sim.output.guard.remove_stale`). A full disk or a
    refused write becomes one line naming ``target``'s folder (:func:`sim.output.guard.disk_errors`)."""
    target = Path(target)
    with disk_errors(target.parent):
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=temporary_prefix(target.name), suffix=".tmp", dir=target.parent))
        try:
            yield tmp
            tmp.chmod(0o755)  # mkdtemp makes it private; results are meant to be shared
            _sync_folder(tmp)
            old = None
            if target.exists():
                old = target.with_name(f".{target.name}.old-{os.getpid()}")
                target.rename(old)
            tmp.rename(target)
            _sync_folder(target.parent)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write a single file via a temporary name, ``fsync`` and a rename: after a crash or a full disk the file
    is either the old one or the whole new one, never a truncated one."""
    path = Path(path)
    tmp = path.with_name(f"{temporary_prefix(path.name)}tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _sync_folder(folder: Path) -> None:
    """Flush a folder's entries (its files' names) to disk, where the system allows it."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_json(path: Path, data: Any, compact: bool = False) -> None:
    """Write JSON atomically; ``compact`` drops the indentation (machine-read files such as checkpoints)."""
    text = json.dumps(data, indent=None if compact else 2, separators=(",", ":") if compact else None,
                      sort_keys=False, default=_json_default)
    write_text_atomic(path, text + "\n")


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_commit(repo: Path) -> dict[str, Any]:
    """The commit the code ran from, and whether the working tree had uncommitted changes (None, None when the
    code does not run from a git checkout, as when installed from a wheel)."""
    if not (Path(repo) / ".git").exists():
        return {"commit": None, "dirty": None}
    try:
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5, check=True).stdout.strip() != ""
        return {"commit": commit, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def manifest(scenario: Any, seeds: list[int], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The record that lets a results folder be reproduced: inputs, parameters, seeds, software."""
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": portable_command(),
        "scenario": {
            "name": scenario.name,
            "path": portable_path(scenario.path),
            "hash": scenario.hash(),
            "start": scenario.spec.start.isoformat(),
            "duration_hours": scenario.spec.duration_hours,
            "step_hours": scenario.spec.step_hours,
            "geography": portable_path(scenario.geography.path),
            "strategy": scenario.strategy.name,
            "account": getattr(scenario, "account", None),
            "inputs": {portable_path(f): file_sha256(f) for f in scenario.input_files},
        },
        "parameters": scenario.params,
        "seeds": {"base": scenario.spec.seed, "runs": len(seeds), "per_run": seeds,
                  "derivation": "numpy.random.SeedSequence(base).spawn(runs)"},
        "software": package_versions(),
        "git": git_commit(REPO),
        **(extra or {}),
    }


def _json_default(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
