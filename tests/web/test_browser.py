"""Browser smoke test: Debian's Chromium signs in and sees the dashboard, in Chinese and in English.

The app runs under uvicorn in a thread on a free port; screenshots go to test-output/.
No console errors are allowed, so a Content-Security-Policy violation (an inline script, a
blocked asset) fails the test.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest

from arrears.core.clock import fixed_clock
from arrears.core.context import AppContext
from arrears.core.migrate import upgrade
from arrears.web.app import create_app
from tests.browser_support import ARGS, CHROMIUM, OUTPUT, free_port
from tests.conftest import FIXED_NOW
from tests.security.world import PASSWORD, build_world

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is not installed (apt-get install chromium)"
        if os.environ.get("ARREARS_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    import uvicorn

    tmp = tmp_path_factory.mktemp("browser")
    ctx = AppContext(
        database_url=f"sqlite:///{tmp / 'web.db'}",
        key_file=tmp / "keys" / "web.key",
        clock=fixed_clock(FIXED_NOW),
    )
    upgrade(ctx.engine)
    build_world(ctx)
    port = free_port()
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
