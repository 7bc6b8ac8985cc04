"""Browser smoke test: Debian's Chromium signs in and sees the dashboard, in Chinese and in English.

The app runs under uvicorn in a thread on a free port; screenshots go to test-output/.
No console errors are allowed, so a Content-Security-Policy violation (an inline script, a
blocked asset) fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser_support import ARGS, CHROMIUM, OUTPUT, browser_context, serve
from tests.security.world import PASSWORD, build_world

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with browser_context(tmp_path_factory.mktemp("browser")) as ctx:
        build_world(ctx)
        with serve(ctx) as url:
            yield url


@pytest.mark.parametrize(
    ("locale", "heading", "dashboard_text", "total_label"),
    [("zh-CN", "登录", "各账龄段账户数", "合计"), ("en-US", "Sign in", "Accounts by bucket", "Total")],
)
def test_sign_in_and_see_the_dashboard(
    server: str, locale: str, heading: str, dashboard_text: str, total_label: str
) -> None:
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            context = browser.new_context(locale=locale, viewport={"width": 1100, "height": 700})
            page = context.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{server}/login")
            assert page.locator("h1").inner_text() == heading
            page.fill("#username", "lead_east")
            page.fill("#password", PASSWORD)
            page.click("#sign-in")
            page.wait_for_url(f"{server}/")
            assert dashboard_text in page.content()
            assert page.locator("[data-testid=total]").inner_text() == "2"  # A1 and A2: the east team's
            assert total_label in page.locator("table.buckets tfoot").inner_text()
            assert page.evaluate("typeof window.htmx") == "object"  # the shipped htmx loaded under the CSP
            with page.expect_response(lambda r: r.url.endswith("/dashboard/buckets")) as refreshed:
                page.click("button[hx-get]")
            assert refreshed.value.status == 200
            page.wait_for_timeout(100)
            assert page.locator("[data-testid=total]").inner_text() == "2"
            page.screenshot(path=str(OUTPUT / f"dashboard-{locale}.png"), full_page=True)
            context.close()
        finally:
            browser.close()
    assert not errors, errors
    assert (OUTPUT / f"dashboard-{locale}.png").stat().st_size > 1000
