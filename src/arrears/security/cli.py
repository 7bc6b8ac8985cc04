"""`arrears init`, `arrears users add|list`, `arrears audit verify`, `arrears keys rotate`.

Commands run by an operator with shell access to the deployment act as the system principal
`cli:<os user>`; what they change is audited under that name.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from arrears.core.cli_support import app_context, console, fail, print_json
from arrears.core.db import transaction
from arrears.core.errors import ArrearsError
from arrears.security.operators import operator
from arrears.security.principal import ROLES


def register(app: typer.Typer) -> None:
    @app.command()
    def init(
        ctx: typer.Context,
        admin_name: Annotated[
            str, typer.Option("--admin-name", help="Username of the first admin.")
        ] = "admin",
        admin_password: Annotated[
            str | None,
            typer.Option(
                "--admin-password",
                envvar="ARREARS_ADMIN_PASSWORD",
                help="Password of the first admin (default: generated and printed once).",
            ),
        ] = None,
    ) -> None:
        """Create or upgrade the database, create the key file if missing, create the first admin."""
        from arrears.core.migrate import upgrade
        from arrears.security.service import ensure_first_admin

        actx = app_context(ctx)
        upgrade(actx.engine)
        console.print(f"database ready: {actx.engine.url.render_as_string(hide_password=True)}")
        had_keys = actx.key_file.exists()
        actx.keys  # noqa: B018 - loads the key file, creating it when missing
        console.print(f"key file {'kept' if had_keys else 'created'}: {actx.key_file}")
        with transaction(actx.sessions) as session:
            result = ensure_first_admin(
                session, username=admin_name, password=admin_password, now=actx.clock()
            )
        if not result.created:
            console.print(f"an admin already exists ({result.username}); no new admin created")
            return
        console.print(f"created admin {result.username}")
        if result.password is not None:
            console.print("initial password (shown once, change it after signing in):")
            typer.echo(result.password)

    users = typer.Typer(help="Staff accounts: add and list users.", no_args_is_help=True)
    app.add_typer(users, name="users")

    @users.command("add")
    def users_add(
        ctx: typer.Context,
        name: Annotated[str, typer.Argument(help="Username (lower-case letters, digits, . _ -).")],
        role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
        team: Annotated[str | None, typer.Option("--team", help="Team name (created if new).")] = None,
        password: Annotated[
            str | None,
            typer.Option(
                "--password", envvar="ARREARS_NEW_PASSWORD", help="Default: generated, printed once."
            ),
        ] = None,
        agency: Annotated[str | None, typer.Option("--agency", help="Agency code (role agency).")] = None,
        display_name: Annotated[str | None, typer.Option("--display-name")] = None,
        language: Annotated[str | None, typer.Option("--language", help="zh_CN or en.")] = None,
    ) -> None:
        """Add a user."""
        from arrears.security.passwords import generate_password
        from arrears.security.service import create_user

        actx = app_context(ctx)
        pw = password if password is not None else generate_password()
        try:
            with transaction(actx.sessions) as session:
                user = create_user(
                    session,
                    operator(),
                    username=name,
                    role=role,
                    password=pw,
                    team=team,
                    agency_code=agency,
                    display_name=display_name,
                    language=language,
                    now=actx.clock(),
                )
                username = user.username
        except ArrearsError as exc:
            raise fail(exc.message) from exc
        console.print(f"created user {username} ({role})")
        if password is None:
            console.print("initial password (shown once):")
            typer.echo(pw)

    @users.command("list")
    def users_list(
        ctx: typer.Context,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
    ) -> None:
        """List users."""
        from arrears.security.service import list_users

        actx = app_context(ctx)
        with transaction(actx.sessions) as session:
            rows = [
                {
                    "id": u.id,
                    "username": u.username,
                    "role": u.role,
                    "team": team,
                    "agency_code": u.agency_code,
                    "active": u.active,
                    "language": u.language,
                }
                for u, team in list_users(session, operator())
            ]
        if as_json:
            for row in rows:
                print_json(row)
            return
        table = Table("id", "username", "role", "team", "agency", "active")
        for row in rows:
            table.add_row(
                str(row["id"]),
                str(row["username"]),
                str(row["role"]),
                str(row["team"] or ""),
                str(row["agency_code"] or ""),
                "yes" if row["active"] else "no",
            )
        console.print(table)

    audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
    app.add_typer(audit_app, name="audit")

    @audit_app.command("verify")
    def audit_verify(
        ctx: typer.Context,
        expect_head: Annotated[
            str | None, typer.Option("--expect-head", help="A head hash printed by an earlier verify.")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """Check the hash chain: exit 0 when intact, 1 naming the first broken event."""
        from arrears.security.audit import verify

        actx = app_context(ctx)
        with transaction(actx.sessions) as session:
            result = verify(session, expect_head=expect_head)
        if as_json:
            print_json(
                {
                    "ok": result.ok,
                    "checked": result.checked,
                    "head": result.head,
                    "broken_event": result.broken_id,
                    "reason": result.reason,
                }
            )
        if result.ok:
            if not as_json:
                console.print(f"audit chain intact: {result.checked} events, head {result.head}")
            return
        where = f"event {result.broken_id}" if result.broken_id is not None else "the chain"
        raise fail(
            f"audit chain broken at {where}: {result.reason} ({result.checked} events verified before it)"
        )

    keys_app = typer.Typer(help="Personal-data encryption keys.", no_args_is_help=True)
    app.add_typer(keys_app, name="keys")

    @keys_app.command("rotate")
    def keys_rotate(
        ctx: typer.Context,
        keep_old: Annotated[
            bool, typer.Option("--keep-old", help="Keep retired keys in the key file.")
        ] = False,
    ) -> None:
        """Add a new data key and re-encrypt every encrypted column with it (restart servers after)."""
        from arrears.security.service import rotate_keys

        actx = app_context(ctx)
        result = rotate_keys(actx, operator(), retire_old=not keep_old)
        for column, count in result.reencrypted.items():
            console.print(f"{column}: {count} re-encrypted")
        console.print(f"current key {result.new_key}; retired: {', '.join(result.retired) or 'none'}")
