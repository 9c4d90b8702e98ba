"""The browser app works in a real browser: ``solara run sim/app.py`` is started on a free port and a headless
Chromium (Debian's ``chromium``) loads the page, with every request off this machine refused so the page must
come up offline. It fails on an error in the page, a missing map or chart, or a request for outside assets.

Needs the ``viz`` and ``test`` extras (Solara, Playwright) and ``/usr/bin/chromium``; ``make test`` installs
Chromium when it runs as root (as in CI), and the test says why it is skipped otherwise.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from typing import Iterator

import pytest

pytest.importorskip("solara")
sync_api = pytest.importorskip("playwright.sync_api")

from tests.conftest import REPO  # noqa: E402

APP = REPO / "sim" / "app.py"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
"""Headless Chromium as root in a container, with none of its own connections to the network."""
START_SECONDS = 90


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        how = ("run `make test` as root, or `apt-get install chromium`" if os.geteuid() != 0
               else "`apt-get install chromium` failed or is unavailable here")
        pytest.skip(f"the browser test needs Debian's chromium, which is not installed ({how})")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def app_url(tmp_path_factory) -> Iterator[str]:
    """The app served by ``solara run`` on a free port; the server is stopped afterwards."""
    _chromium()
    port = _free_port()
    log_path = tmp_path_factory.mktemp("solara") / "server.log"
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False", "PYTHONUNBUFFERED": "1"}
    with open(log_path, "wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "solara", "run", str(APP), "--host", "127.0.0.1",
                                   "--port", str(port), "--no-open", "--production"],
                                  cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if server.poll() is not None:
                pytest.fail(f"solara run exited with {server.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"solara run did not listen within {START_SECONDS} s:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_the_app_shows_the_map_and_the_curves_and_steps_the_model(app_url):
    errors: list[str] = []
    outside: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.route(re.compile(r"^(?!http://127\.0\.0\.1[:/]).*"),
                       lambda route: (outside.append(route.request.url), route.abort()))
            page.goto(app_url)
            # the controls' step counter, or the traceback Solara shows in place of a broken page
            page.get_by_text("Step: 0").or_(page.get_by_text("Traceback")).first.wait_for(timeout=60_000)
            assert "Traceback" not in page.inner_text("body"), page.inner_text("body")[-2000:]
            for css in (".bordersim-map img", ".bordersim-curves img"):
                page.locator(css).wait_for(timeout=30_000)
                width = page.locator(css).evaluate("img => img.complete ? img.naturalWidth : 0")
                assert width > 500, f"{css}: the figure did not load (width {width})"
            before = page.locator(".bordersim-map img").get_attribute("src")
            page.get_by_role("button", name="Step").click()
            page.get_by_text(re.compile(r"Step: [1-9]")).wait_for(timeout=30_000)
            page.wait_for_function("src => document.querySelector('.bordersim-map img').src !== src", arg=before,
                                   timeout=30_000)
            text = page.inner_text("body")
        finally:
            browser.close()
    assert not errors, f"errors in the page: {errors}"
    assert not outside, f"the page asked for outside assets: {outside[:5]}"
    for word in ("Traceback", "Error", "error in step"):
        assert word not in text, f"the page shows {word!r}:\n{text[:2000]}"
    for control in ("Scenario", "Mediation strategy", "Seed", "Escalation", "Mediators"):
        assert control in text, f"no {control!r} control on the page"


def test_every_scenario_and_strategy_on_offer_builds_a_model():
    from sim.app import AS_IN_SCENARIO, SCENARIOS, AppModel, model_params

    assert {"sept2022", "april2021"} <= set(SCENARIOS)
    assert "mediators" not in SCENARIOS  # a file beside the scenarios that is not one
    for scenario in model_params["scenario"]["values"]:
        for strategy in model_params["strategy"]["values"]:
            model = AppModel(scenario=scenario, strategy=strategy, seed="3")
            assert model.scenario.name == scenario
            if strategy != AS_IN_SCENARIO:
                assert model.scenario.strategy.name == strategy


def test_the_rate_controls_scale_the_scenarios_values():
    from sim.app import RATES, AppModel

    plain = AppModel(seed=1)
    scaled = AppModel(seed=1, escalation=2.0, mediation=0.5)
    for name in RATES["escalation"][1]:
        assert scaled.params[name] == pytest.approx(2.0 * plain.params[name])
    for name in RATES["mediation"][1]:
        assert scaled.params[name] == pytest.approx(0.5 * plain.params[name])
    assert scaled.params["spread_rate"] == plain.params["spread_rate"]
