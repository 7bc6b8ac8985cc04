"""Browser check of the QC results page in Debian's Chromium: the Plotly charts draw from the bundle
the app serves, under the app's Content-Security-Policy, with no console error (zh-CN and English)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from arrears.core.clock import fixed_clock
from arrears.core.context import AppContext
from arrears.core.db import transaction
from arrears.core.migrate import upgrade
from arrears.quality import review
from arrears.web.app import create_app
from tests.conftest import FIXED_NOW
from tests.quality.review_world import GOOD_ZH, NO_RANDOM, THREAT_ZH, build_qc_world, line
from tests.security.world import PASSWORD

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is not installed (apt-get install chromium)"
        if os.environ.get("ARREARS_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    import uvicorn

    tmp = tmp_path_factory.mktemp("qc-browser")
    ctx = AppContext(database_url=f"sqlite:///{tmp / 'web.db'}", key_file=tmp / "keys" / "web.key",
                     clock=fixed_clock(FIXED_NOW))  # fmt: skip
    upgrade(ctx.engine)
    qw = build_qc_world(ctx)
    t0 = FIXED_NOW - timedelta(days=1)
    qw.import_lines(
        [line("b-1", qw.w.cases["A1"], t0, THREAT_ZH), line("b-2", qw.w.cases["A2"], t0, GOOD_ZH)]
    )
    with transaction(ctx.sessions) as s:
        review.run_round(s, qw.p("qc"), period_start=t0.date(), period_end=FIXED_NOW.date(), now=FIXED_NOW,
                         seed="b", settings=NO_RANDOM)  # fmt: skip
    port = _free_port()
    config = uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)
    ctx.dispose()


@pytest.mark.parametrize(
    ("locale", "title", "legend"), [("zh-CN", "质检成效", "回款率"), ("en-US", "QC results", "Recovery rate")]
)
def test_results_charts_draw_offline_under_the_csp(server: str, locale: str, title: str, legend: str) -> None:
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(exist_ok=True)
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            context = browser.new_context(locale=locale, viewport={"width": 1200, "height": 900})
            page = context.new_page()
            page.on(
                "console", lambda m: errors.append(f"{m.text} @ {m.location}") if m.type == "error" else None
            )
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(f"{server}/login")
            page.fill("#username", "manager")
            page.fill("#password", PASSWORD)
            page.click("#sign-in")
            page.wait_for_url(f"{server}/")
            page.goto(f"{server}/qc/results")
            assert page.locator("h1").inner_text() == title
            page.wait_for_selector("#kpi-trend .main-svg", timeout=15000)
            page.wait_for_selector("#kpi-findings .main-svg", timeout=15000)
            assert legend in page.locator("#kpi-trend").inner_text()
            assert page.evaluate("typeof window.Plotly") == "object"
            page.screenshot(path=str(OUTPUT / f"qc-results-{locale}.png"), full_page=True)
            context.close()
        finally:
            browser.close()
    assert not errors, errors
    assert all(u.startswith(server) for u in requests), [u for u in requests if not u.startswith(server)]
