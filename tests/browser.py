"""Plumbing for the browser tests: the app over real HTTP, long-running rq workers, Chromium.

A pytest plugin, loaded by `pytest_plugins = ["tests.browser"]` in the test modules that use
it: the fixtures `live_server`, `live_workers` and `page`, and a hook that remembers each
test's outcome so that `page` can save a screenshot when a test fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, sync_playwright
from werkzeug.serving import make_server

from dsar.config import ROOT
from dsar.launcher import worker_argv

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000
WORKERS = 2

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    report: pytest.TestReport = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture
def live_server(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Serve the test app on a free port; return its base URL, which emailed links use."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    app.config["DSAR_BASE_URL"] = base_url
    monkeypatch.setenv("DSAR_BASE_URL", base_url)  # the workers' emails link here too
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base_url
    server.shutdown()
    server.server_close()
    thread.join(5)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each worker's process group (worker and work horse), SIGKILL after 10 s."""
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def live_workers(env: dict[str, str], live_server: str) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Long-running (not burst) `rq worker` processes, as `make run` starts them."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(WORKERS):
            procs.append(
                subprocess.Popen(
                    worker_argv(env["REDIS_URL"]),
                    env=dict(os.environ),
                    cwd=ROOT,
                    start_new_session=True,
                )
            )
        yield procs
        dead = [p.returncode for p in procs if p.poll() is not None]
        assert not dead, f"rq workers exited early with codes {dead}; see the captured stderr"
    finally:
        _stop(procs)


@pytest.fixture
def page(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Page]:
    """A fresh Chromium page; on failure a full-page screenshot goes to tmp_path."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive the system Chromium. "
            "Install it with `scripts/bootstrap.sh dev` (or `apt-get install chromium`).",
            pytrace=False,
        )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(accept_downloads=True)
            context.set_default_timeout(TIMEOUT_MS)
            context.set_default_navigation_timeout(TIMEOUT_MS)
            tab = context.new_page()
            yield tab
            call = request.node.stash.get(_REPORTS, {}).get("call")
            if call is None or call.failed:
                shot = tmp_path / "failure.png"
                tab.screenshot(path=shot, full_page=True)
                print(f"screenshot of the failed page ({tab.url}): {shot}")
            context.close()
        finally:
            browser.close()
