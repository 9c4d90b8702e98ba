"""Stopping, failing and refusing cleanly, tried as an operator would: signals, a second command into the same
folder, read-only and full disks, addresses that are not a Dask scheduler, a cluster with no workers, inputs
far too large.

Every case checks the exit status, the one line printed, that no traceback reached the user, and that
nothing was left behind: no results folder that looks complete, no temporary folder, no process.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
import yaml

import sim.experiments.executors
import sim.experiments.simulate
import sim.output.guard
from sim.cli import main
from sim.output.guard import locked, remove_stale
from tests.conftest import DATA

MINI = DATA / "mini.yaml"
LONG_RUN = ["run", str(MINI), "--runs", "5000", "--workers", "2", "--quiet"]
"""Minutes of work: every signal below arrives while it is starting or running."""


# --- helpers --------------------------------------------------------------------------------------------
def start(args: list[str], cwd: Path) -> subprocess.Popen:
    """The command line in a session of its own (as a terminal runs a job), output captured."""
    return subprocess.Popen([sys.executable, "-m", "sim.cli", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def session_processes(sid: int) -> list[str]:
    """Live processes of a session (zombies are being reaped by init and hold nothing)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == sid and fields[0] != "Z":
                found.append(stat.parent.name)
    return found


def signal_and_finish(proc: subprocess.Popen, signum: int, after: float) -> str:
    """Send ``signum`` to the whole session (as a terminal's Ctrl-C or ``timeout`` does) after ``after``
    seconds; return stderr once the command has ended (killed, and the test failed, if it hangs)."""
    time.sleep(after)
    os.killpg(proc.pid, signum)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"the command did not end after signal {signum}")
    return err


def wait_for(condition, what: str, proc: subprocess.Popen | None = None) -> None:
    """Poll ``condition`` until it holds (fails if the command ended first, or after two minutes)."""
    for _ in range(1200):
        if condition():
            return
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the command ended before {what}: {proc.communicate()[1]}")
        time.sleep(0.1)
    pytest.fail(f"gave up waiting for {what}")


def no_leftovers(parent: Path, keep: set[str] = frozenset()) -> None:
    assert {p.name for p in parent.iterdir()} == set(keep)


def run_cli(*args: object) -> int:
    return main([str(a) for a in args])


# --- interrupts -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("trial", range(3))
def test_sigint_at_a_random_moment_ends_everything_with_one_line(tmp_path, trial):
    after = random.Random(trial).uniform(0.5, 4.0)
    parent = tmp_path / "results"
    proc = start([*LONG_RUN, "--out", str(parent / "mini")], tmp_path)
    err = signal_and_finish(proc, signal.SIGINT, after)
    assert proc.returncode == 130, err
    assert err.strip() == "bordersim: interrupted; no results were written"
    time.sleep(0.5)
    assert session_processes(proc.pid) == []
    assert not parent.exists() or list(parent.iterdir()) == []


@pytest.mark.parametrize("after", [2.5, 4.5])
def test_sigint_on_a_local_dask_cluster_ends_with_one_line(tmp_path, after):
    """The workers of a local Dask cluster may still send heartbeats to a scheduler that has closed: nothing of
    theirs reaches the user (it did, as a worker traceback, in about one Ctrl-C in four in the first seconds)."""
    pytest.importorskip("distributed")
    out = tmp_path / "results" / "mini"
    proc = start(["compare", str(MINI), "--strategies", "none,strong_early", "--runs", "3000", "--executor", "dask",
                  "--workers", "2", "--quiet", "--out", str(out)], tmp_path)
    wait_for(lambda: (tmp_path / "results" / ".mini.lock").exists(), "the comparison started", proc)
    err = signal_and_finish(proc, signal.SIGINT, after)
    assert proc.returncode == 130, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    time.sleep(0.5)
    assert session_processes(proc.pid) == []


def test_sigterm_is_handled_like_an_interrupt(tmp_path):
    proc = start([*LONG_RUN, "--out", str(tmp_path / "results" / "mini")], tmp_path)
    wait_for(lambda: (tmp_path / "results" / ".mini.lock").exists(), "the run started", proc)
    err = signal_and_finish(proc, signal.SIGTERM, 1.0)
    assert proc.returncode == 143, err
    assert err.strip() == "bordersim: terminated; no results were written"
    time.sleep(0.5)
    assert session_processes(proc.pid) == []
    no_leftovers(tmp_path / "results")


def test_leftovers_of_dead_runs_are_removed_and_a_live_runs_kept(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    parent = tmp_path / "results"
    parent.mkdir()
    for name in (f".mini.{dead.pid}.abcd1234.tmp", f".mini.old-{dead.pid}", f".mini.{os.getpid()}.live0001.tmp",
                 f".other.{dead.pid}.abcd1234.tmp"):
        (parent / name).mkdir()
    assert run_cli("run", MINI, "--runs", "2", "--out", parent / "mini", "--quiet") == 0
    assert {p.name for p in parent.iterdir()} == {"mini", f".mini.{os.getpid()}.live0001.tmp",
                                                  f".other.{dead.pid}.abcd1234.tmp"}
    assert remove_stale(parent, "other") == [parent / f".other.{dead.pid}.abcd1234.tmp"]


# --- concurrency ----------------------------------------------------------------------------------------
def test_score_refuses_to_replace_the_validation_folder_while_a_check_writes_inside_it(tmp_path, capsys):
    """score replaces its folder whole and keeps the other checks' folders in it; while one of them is being
    written (its lock held), score is refused at once, and afterwards it keeps that folder."""
    from tests.conftest import three_mini_episodes

    episodes, _ = three_mini_episodes(tmp_path)
    out = tmp_path / "validation"
    (out / "leave_one_out").mkdir(parents=True)
    (out / "leave_one_out" / "report.md").write_text("kept")
    args = ["score", "--episodes-file", episodes, "--runs", "2", "--out", out, "--quiet", "--force"]
    with locked(out / "ablation", "--out"):
        assert run_cli(*args) == 2
    err = capsys.readouterr().err
    assert "ablation is in use by another bordersim run" in err and "Traceback" not in err
    assert not (out / "report.md").exists()
    assert run_cli(*args) == 0
    assert (out / "leave_one_out" / "report.md").read_text() == "kept" and (out / "report.md").exists()
    assert not list(out.glob(".*.lock"))


def test_second_compare_into_a_folder_in_use_fails_at_once_and_keeps_its_checkpoints(tmp_path, capsys):
    out = tmp_path / "cmp"
    partial = tmp_path / ".cmp.partial"
    first = start(["compare", str(MINI), "--strategies", "none,strong_early", "--runs", "5000", "--workers", "2",
                   "--quiet", "--out", str(out)], tmp_path)
    wait_for(lambda: partial.is_dir() and any(partial.glob("*.json")), "a checkpoint", first)
    code = run_cli("compare", MINI, "--strategies", "none", "--runs", "2", "--workers", "1", "--quiet",
                   "--out", out)
    err = capsys.readouterr().err
    assert code == 2
    assert f"is in use by another bordersim run (process {first.pid})" in err and "Traceback" not in err
    assert any(partial.glob("*.json"))
    err = signal_and_finish(first, signal.SIGINT, 0)
    assert first.returncode == 130
    assert "runs are checkpointed; finish with --resume" in err and err.count("\n") == 1


def test_a_held_lock_refuses_run_and_an_existing_folder_needs_force(tmp_path, capsys):
    out = tmp_path / "mini"
    with locked(out, "--out"):
        assert run_cli("run", MINI, "--runs", "2", "--out", out, "--quiet") == 2
        assert f"in use by another bordersim run (process {os.getpid()})" in capsys.readouterr().err
    assert run_cli("run", MINI, "--runs", "2", "--out", out, "--quiet") == 0
    before = (out / "summary.csv").read_bytes()
    assert run_cli("run", MINI, "--runs", "2", "--seed", "3", "--out", out, "--quiet") == 2
    assert "already exists; add --force to replace it" in capsys.readouterr().err
    assert (out / "summary.csv").read_bytes() == before
    assert run_cli("run", MINI, "--runs", "2", "--seed", "3", "--out", out, "--quiet", "--force") == 0
    assert (out / "summary.csv").read_bytes() != before
    no_leftovers(tmp_path, {"mini"})


# --- read-only and full output locations ----------------------------------------------------------------
@contextlib.contextmanager
def small_disk(folder: Path, size: str, read_only: bool = False) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``folder`` (skips unless this runs as root and may mount)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root (id -u is not 0)")
    folder.mkdir()
    options = f"size={size}" + (",ro" if read_only else "")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def _never(*args, **kwargs):
    raise AssertionError("the work started although the output cannot be written")


def test_read_only_location_is_refused_before_any_run(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sim.experiments.simulate, "run_ensemble", _never)
    if os.geteuid() == 0:
        context = small_disk(tmp_path / "ro", "1m", read_only=True)
    else:
        (tmp_path / "ro").mkdir()
        (tmp_path / "ro").chmod(0o555)
        context = contextlib.nullcontext(tmp_path / "ro")
    with context as ro:
        assert run_cli("run", MINI, "--runs", "2", "--out", ro / "mini", "--quiet") == 2
        err = capsys.readouterr().err
        assert f"--out: cannot write in {ro}" in err and "Traceback" not in err
        assert list(ro.iterdir()) == []


def test_too_little_space_is_refused_before_any_run(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sim.experiments.simulate, "run_ensemble", _never)
    with small_disk(tmp_path / "small", "64k") as small:
        assert run_cli("run", MINI, "--runs", "400", "--out", small / "mini", "--quiet") == 2
        err = capsys.readouterr().err
        assert f"{small} has" in err and "free space there or choose another --out" in err
        assert list(small.iterdir()) == []


def test_a_disk_that_fills_anyway_gets_one_line_and_nothing_that_looks_complete(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sim.output.guard, "check_free_space", lambda *args: None)
    with small_disk(tmp_path / "small", "256k") as small:
        assert run_cli("run", MINI, "--runs", "40", "--out", small / "mini", "--quiet") == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "the disk is full" in err and str(small) in err
        assert list(small.iterdir()) == []
        code = run_cli("compare", MINI, "--strategies", "none,strong_early", "--runs", "1000", "--workers", "1",
                       "--out", small / "cmp", "--quiet")
        err = capsys.readouterr().err
        assert code == 2 and "the disk is full" in err and "Traceback" not in err
        checkpoints = list((small / ".cmp.partial").glob("*.json"))
        assert checkpoints and not (small / "cmp").exists()
        for file in checkpoints:  # written whole or not at all
            assert file.read_text().endswith("}\n")


# --- Dask -----------------------------------------------------------------------------------------------
@contextlib.contextmanager
def dummy_server(reply: bytes | None) -> Iterator[str]:
    """A TCP server that accepts connections and sends ``reply`` at once, or nothing (``None``)."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = server.accept()
                held.append(conn)
                if reply is not None:
                    conn.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()
        for conn in held:
            conn.close()


@pytest.mark.parametrize("reply, message", [
    (None, "sent no Dask greeting within 1 s; is it a Dask scheduler?"),
    (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", "answered, but not as a Dask scheduler"),
], ids=["silent", "http"])
def test_an_address_that_is_not_a_dask_scheduler_fails_within_the_timeout(tmp_path, capsys, monkeypatch,
                                                                          reply, message):
    pytest.importorskip("distributed")
    monkeypatch.setattr(sim.experiments.executors, "CONNECT_TIMEOUT", "1s")
    with dummy_server(reply) as address:
        code = run_cli("compare", MINI, "--strategies", "none", "--runs", "2", "--executor", "dask",
                       "--scheduler", address, "--out", tmp_path / "res", "--quiet")
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    no_leftovers(tmp_path)


def test_a_cluster_without_workers_stops_the_comparison_with_how_to_resume(tmp_path, capsys, monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(sim.experiments.executors, "GRACE_SECONDS", 1.0)
    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=None,
                                  scheduler_kwargs={"protocol": "tcp"}) as cluster:
        code = run_cli("compare", MINI, "--strategies", "none", "--runs", "2", "--executor", "dask",
                       "--scheduler", cluster.scheduler_address, "--out", tmp_path / "res", "--quiet")
    err = capsys.readouterr().err
    assert code == 2, err
    assert "the Dask cluster has had no workers for 1 s" in err and "--resume" in err and "Traceback" not in err
    assert not (tmp_path / "res").exists()


# --- oversized inputs -----------------------------------------------------------------------------------
def scenario_with(tmp_path: Path, **changes: object) -> Path:
    """A copy of the mini scenario (next to the test data, which it names) with some fields changed."""
    doc = yaml.safe_load(MINI.read_text())
    doc.update(changes)
    doc["geography"] = str(DATA / doc["geography"])
    doc["mediators"] = str(DATA / "mediators.yaml")
    shutil.copytree(DATA / "strategies", tmp_path / "strategies")
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.mark.parametrize("changes, command, message", [
    ({"duration_hours": 10_000_000}, "validate", "duration_hours: 10,000,000 h is beyond the limit of 43,800 h (five years)"),
    ({"step_hours": 0.001}, "validate", "step_hours: 0.001 h is finer than the limit of 0.25 h"),
    ({"runs": 100_000_000}, "run", "runs: 100,000,000 runs is beyond the limit of 100,000 runs"),
], ids=["duration", "step", "runs"])
def test_sizes_beyond_the_limits_are_refused_with_the_limit_and_the_override(tmp_path, capsys, changes, command,
                                                                             message):
    path = scenario_with(tmp_path, **changes)
    assert run_cli(command, path, *(["--out", tmp_path / "res"] if command == "run" else [])) == 2
    err = capsys.readouterr().err
    assert f"{path}: {message}; add --allow-large if you mean it" in err
    assert not (tmp_path / "res").exists()


def test_runs_on_the_command_line_are_bounded_too(tmp_path, capsys):
    assert run_cli("compare", MINI, "--strategies", "none", "--runs", "100000000", "--out", tmp_path / "r") == 2
    assert "--runs: 100,000,000 runs is beyond the limit" in capsys.readouterr().err


def test_allow_large_still_refuses_what_the_memory_cannot_hold(tmp_path, capsys):
    path = scenario_with(tmp_path, duration_hours=10_000_000, runs=1000)
    assert run_cli("validate", path, "--allow-large") == 0
    capsys.readouterr()
    assert run_cli("run", path, "--allow-large", "--out", tmp_path / "res", "--quiet") == 2
    err = capsys.readouterr().err
    assert "of memory and this machine has" in err and "days on" in err
    assert not (tmp_path / "res").exists()


@pytest.mark.parametrize("target, message", [
    ("../../../../../../../../etc/passwd", "geography: /etc/passwd: the top level is a str; expected a mapping"),
    (sys.executable, "not a UTF-8 text file; expected a YAML file"),
], ids=["outside-the-tree", "a-program"])
def test_a_file_named_by_a_scenario_that_is_not_what_it_should_be_names_the_field(tmp_path, capsys, target,
                                                                                  message):
    path = scenario_with(tmp_path)
    doc = yaml.safe_load(path.read_text())
    doc["geography"] = target
    path.write_text(yaml.safe_dump(doc))
    if not Path(path.parent / target).resolve().is_file():
        pytest.skip(f"{target} is not a file here")
    assert run_cli("validate", path) == 2
    err = capsys.readouterr().err
    assert f"{path}: geography: " in err and message.split(": ", 1)[-1] in err and "Traceback" not in err
