"""`arrears serve`: the web app (staff workspace, JSON API) on uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from arrears.core.cli_support import app_context


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        ctx: typer.Context,
        host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
        port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
        forwarded_allow_ips: Annotated[
            str,
            typer.Option(
                help="Proxies trusted for X-Forwarded-Proto/For (HTTPS detection for Secure cookies, client "
                "address for sign-in rate limits).",
            ),
        ] = "127.0.0.1",
    ) -> None:
        """Serve the web app and the JSON API."""
        import uvicorn

        from arrears.web.app import create_app

        actx = app_context(ctx)
        uvicorn.run(
            create_app(actx),
            host=host or actx.settings.host,
            port=port or actx.settings.port,
            log_level="info",
            proxy_headers=True,
            forwarded_allow_ips=forwarded_allow_ips,
            server_header=False,
        )
