"""What every browser test shares: Debian's Chromium and its flags on this network, a fresh app
context on an embedded database, the app served by uvicorn on a free port, the output folder."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from arrears.core.clock import fixed_clock
from arrears.core.context import AppContext
from arrears.core.migrate import upgrade
from tests.conftest import FIXED_NOW

CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = Path(__file__).resolve().parents[1] / "test-output"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_chromium() -> None:
    """Skip without Debian's Chromium; in CI (ARREARS_REQUIRE_SERVICES=1) fail instead."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is not installed (apt-get install chromium)"
        if os.environ.get("ARREARS_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


@contextmanager
def browser_context(tmp: Path) -> Iterator[AppContext]:
    """A migrated embedded database under `tmp` with the tests' fixed clock (Chromium required)."""
    require_chromium()
    ctx = AppContext(
        database_url=f"sqlite:///{tmp / 'web.db'}",
        key_file=tmp / "keys" / "web.key",
        clock=fixed_clock(FIXED_NOW),
    )
    upgrade(ctx.engine)
    try:
        yield ctx
    finally:
        ctx.dispose()


@contextmanager
def serve(ctx: AppContext) -> Iterator[str]:
    """The app on a free local port in a background thread; yields its base URL."""
    import uvicorn

    from arrears.web.app import create_app

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
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
