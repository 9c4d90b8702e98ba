"""The package as a user installs it: a wheel that carries its data and runs a shipped scenario by name from
any directory, and a lock file that pins what `make run` and `make test` install."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

BUILD_FILES = ("pyproject.toml", "setup.py", "README.md")
BUILD_FOLDERS = ("sim", "scenarios", "calibration")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built offline from a copy of the source (the checkout's build folders stay untouched)."""
    pytest.importorskip("setuptools", minversion="77")
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    for name in BUILD_FILES:
        shutil.copy2(REPO / name, src / name)
    for name in BUILD_FOLDERS:
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "_data"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "--quiet", "-w", str(root / "dist"), str(src)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (built,) = (root / "dist").glob("bordersim-*.whl")
    return built


def test_the_wheel_carries_the_shipped_data_and_the_command(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(zf.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    for folder in ("scenarios", "calibration"):
        shipped = {p.relative_to(REPO).as_posix() for p in (REPO / folder).rglob("*")
                   if p.is_file() and p.suffix in (".yaml", ".csv")}
        assert shipped and {f"sim/_data/{name}" for name in shipped} <= names
    assert "sim/_data/calibration/fitted.yaml" in names and "sim/_data/scenarios/strategies/none.yaml" in names
    assert "sim/__main__.py" in names and "sim/cli.py" in names
    assert not any(n.startswith(("tests/", "scenarios/", "calibration/")) for n in names)
    assert re.search(r"^bordersim\s*=\s*sim\.cli:main$", entry_points, re.MULTILINE)


def test_the_installed_package_runs_a_shipped_scenario_by_name_from_another_directory(wheel, tmp_path):
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "my").mkdir(parents=True)
    # a strategy file given on the command line is relative to where the user is, not to the scenario
    shutil.copy2(REPO / "scenarios" / "strategies" / "csto_monitors.yaml", elsewhere / "my" / "monitors.yaml")
    env = {**os.environ, "PYTHONPATH": str(site)}

    def bordersim(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "sim", *args], cwd=elsewhere, env=env, capture_output=True,
                              text=True, timeout=300)

    where = subprocess.run([sys.executable, "-c", "import sim, sim.input.builtin as b; print(sim.__file__); "
                            "print(b.ROOT)"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    module, root = where.stdout.split()
    assert Path(module).is_relative_to(site) and Path(root) == site / "sim" / "_data"  # not the checkout

    run = bordersim("run", "sept2022", "--runs", "3", "--strategy", "my/monitors.yaml", "--out", "res", "--quiet")
    assert run.returncode == 0, run.stderr
    meta = json.loads((elsewhere / "res" / "manifest.json").read_text())
    assert meta["scenario"]["path"] == "scenarios/sept2022.yaml"
    assert meta["parameters"]["agree_rate"] > 0 and meta["git"] == {"commit": None, "dirty": None}
    assert "my/monitors.yaml" in meta["scenario"]["inputs"]
    assert "calibration/fitted.yaml" in meta["scenario"]["inputs"]

    listing = bordersim("list", "segments")
    assert listing.returncode == 0 and "bulak_bashy_kekh" in listing.stdout

    model = subprocess.run([sys.executable, "-c", "from sim import BorderModel; m = BorderModel(seed=1); "
                            "print(m.scenario.name, m.scenario.strategy.name)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    assert model.stdout.split() == ["sept2022", "documented_2022"], model.stderr


def _pins(text: str) -> dict[str, str]:
    return {m.group(1).lower().replace("_", "-"): m.group(2)
            for m in re.finditer(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", text, re.MULTILINE)}


def test_the_lock_file_pins_every_dependency_and_test_tool():
    """requirements.lock pins what `make test` installs (a superset of `make run`'s), so that every direct
    requirement, the run's and each extra's, has an exact version there."""
    pins = _pins((REPO / "requirements.lock").read_text())
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"]) + [r for extra in project["optional-dependencies"].values() for r in extra]
    names = {re.match(r"[A-Za-z0-9_.-]+", r).group().lower().replace("_", "-") for r in wanted}
    names.discard("bordersim")
    assert names and not names - set(pins), f"not pinned: {sorted(names - set(pins))}"


def test_make_run_installs_no_test_tools():
    """`make run` installs the package alone (with the lock as constraints); the test extra is `make test`'s."""
    makefile = (REPO / "Makefile").read_text()
    run_install = re.search(r"^\$\(RUN_STAMP\):.*\n((?:\t.*\n)+)", makefile, re.MULTILINE).group(1)
    assert "-c $(LOCK) -e ." in run_install and "[test]" not in run_install
    assert re.search(r"^run: \$\(RUN_STAMP\)$", makefile, re.MULTILINE)
    assert re.search(r"^test: \$\(TEST_STAMP\)( browser)?$", makefile, re.MULTILINE)
