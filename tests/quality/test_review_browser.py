"""Browser check of the QC results page in Debian's Chromium: the Plotly charts draw from the bundle
the app serves, under the app's Content-Security-Policy, with no console error (zh-CN and English)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from arrears.core.db import transaction
from arrears.quality import review
from tests.browser_support import ARGS, CHROMIUM, OUTPUT, browser_context, serve
from tests.conftest import FIXED_NOW
from tests.quality.review_world import GOOD_ZH, NO_RANDOM, THREAT_ZH, build_qc_world, line
from tests.security.world import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with browser_context(tmp_path_factory.mktemp("qc-browser")) as ctx:
        qw = build_qc_world(ctx)
        t0 = FIXED_NOW - timedelta(days=1)
        qw.import_lines(
            [line("b-1", qw.w.cases["A1"], t0, THREAT_ZH), line("b-2", qw.w.cases["A2"], t0, GOOD_ZH)]
        )
        with transaction(ctx.sessions) as s:
            review.run_round(s, qw.p("qc"), period_start=t0.date(), period_end=FIXED_NOW.date(), now=FIXED_NOW,
                             seed="b", settings=NO_RANDOM)  # fmt: skip
        with serve(ctx) as url:
            yield url


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
