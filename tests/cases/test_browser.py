"""In Debian's Chromium: sign in, open the queue, open a case, log a call, record a promise, and see
both in the case history — in Chinese and in English. Screenshots go to test-output/. No console
errors are allowed (a Content-Security-Policy violation fails the test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser_support import ARGS, CHROMIUM, OUTPUT, browser_context, serve
from tests.security.world import PASSWORD, World, build_world

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, World]]:
    with browser_context(tmp_path_factory.mktemp("cases-browser")) as ctx:
        world = build_world(ctx)  # 09:30 UTC = 17:30 in Shanghai: calls are allowed
        with serve(ctx) as url:
            yield url, world


@pytest.mark.parametrize(
    ("locale", "queue_title", "logged", "promised", "note", "kept_word"),
    [
        ("zh-CN", "我的工作队列", "联系已记录。", "承诺还款已记录。", "本人接听，同意周一还款", "待兑现"),
        (
            "en-US",
            "My queue",
            "Contact logged.",
            "Promise recorded.",
            "Spoke to the debtor; will pay Monday",
            "open",
        ),
    ],
)
def test_a_collector_logs_a_call_and_records_a_promise(
    server: tuple[str, World],
    locale: str,
    queue_title: str,
    logged: str,
    promised: str,
    note: str,
    kept_word: str,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, world = server
    OUTPUT.mkdir(exist_ok=True)
    errors: list[str] = []
    tag = locale.split("-")[0]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{base}/login")
            page.fill("#username", "c_east")
            page.fill("#password", PASSWORD)
            page.click("#sign-in")
            page.wait_for_url(f"{base}/")

            page.goto(f"{base}/queue")
            assert page.locator("h1").inner_text() == queue_title
            rows = page.locator("table.queue tbody tr[data-case]")
            assert rows.count() == 1 and "A1" in rows.first.inner_text()
            page.screenshot(path=str(OUTPUT / f"cases-queue-{tag}.png"), full_page=True)

            page.click("[data-testid=open-case]")
            page.wait_for_url(f"{base}/cases/{world.cases['A1']}")
            assert "A1" in page.locator("[data-testid=case-title]").inner_text()
            assert "138****5678" in page.locator("[data-testid=contact-points]").inner_text()
            page.screenshot(path=str(OUTPUT / f"cases-case-{tag}.png"), full_page=True)

            page.select_option("#channel", "call")
            page.select_option("#contact_point_id", str(world.contact_points["A1"]))
            page.select_option("#outcome", "promise_to_pay")
            page.fill("#notes", note)
            with page.expect_response(lambda r: r.url.endswith("/contacts")) as answer:
                page.click("#log-contact")
            assert answer.value.status == 200
            expect(page.locator("[data-testid=notice]")).to_have_text(logged)
            expect(page.locator("[data-testid=history]")).to_contain_text(note)

            page.fill("#amount", "800.00")
            page.fill("#due_date", "2026-12-01")
            with page.expect_response(lambda r: r.url.endswith("/promises")) as answer:
                page.click("#record-promise")
            assert answer.value.status == 200
            expect(page.locator("[data-testid=notice]")).to_have_text(promised)
            promises = page.locator("[data-testid=promises]")
            expect(promises).to_contain_text("800.00 CNY")
            expect(promises).to_contain_text(kept_word)
            history = page.locator("[data-testid=history]").inner_text()
            assert note in history and "800.00" in history and "2026-12-01" in history
            page.screenshot(path=str(OUTPUT / f"cases-history-{tag}.png"), full_page=True)
            context.close()
        finally:
            browser.close()
    assert not errors, errors
    for name in ("queue", "case", "history"):
        assert (OUTPUT / f"cases-{name}-{tag}.png").stat().st_size > 1000
