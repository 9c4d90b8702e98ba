"""Results folders: written completely or not at all, with a manifest that lets a run be repeated.

Everything is first written into a hidden temporary folder next to the target and then swapped in with
renames, so an interrupted run leaves at most a ``.tmp`` folder, never a results folder that looks
complete. ``manifest.json`` records the scenario hash, resolved parameters, seeds, package versions and
the git commit.
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

PACKAGES = ("bordersim", "mesa", "numpy", "networkx", "pandas", "matplotlib", "pydantic", "pyyaml")


@contextlib.contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``target`` in one rename, on error it is removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        tmp.chmod(0o755)  # mkdtemp makes it private; results are meant to be shared
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            target.rename(old)
        tmp.rename(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write a single file via a temporary name and a rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_json(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n")


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
    """The commit the code ran from, and whether the working tree had uncommitted changes."""
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
    repo = Path(__file__).resolve().parents[1]
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "scenario": {
            "name": scenario.name,
            "path": str(scenario.path),
            "hash": scenario.hash(),
            "start": scenario.spec.start.isoformat(),
            "duration_hours": scenario.spec.duration_hours,
            "step_hours": scenario.spec.step_hours,
            "geography": str(scenario.geography.path),
            "strategy": scenario.strategy.name,
            "inputs": {str(f): file_sha256(f) for f in scenario.input_files},
        },
        "parameters": scenario.params,
        "seeds": {"base": scenario.spec.seed, "runs": len(seeds), "per_run": seeds,
                  "derivation": "numpy.random.SeedSequence(base).spawn(runs)"},
        "software": package_versions(),
        "git": git_commit(repo),
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
