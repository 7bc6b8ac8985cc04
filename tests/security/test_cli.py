"""`arrears init`, `users add|list`, `keys rotate` on a fresh SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from arrears.core.context import AppContext
from arrears.portfolio.models import ContactPoint, Debtor, ThirdParty
from arrears.security import audit
from arrears.security.models import AuditEvent, User
from arrears.security.passwords import verify_password
from arrears.security.pii import KeyRing
from arrears.security.principal import Principal
from arrears.security.service import rotate_keys
from tests.security.world import PII, World


class _Result:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def _run(tmp: Path, *args: str) -> _Result:
    """In-process, through the same `main()` the console script calls (exit codes included)."""
    import contextlib
    import io

    from arrears import cli
    from arrears.core.settings import get_settings

    out, err = io.StringIO(), io.StringIO()
    env = {
        "ARREARS_DATABASE_URL": f"sqlite:///{tmp / 'cli.db'}",
        "ARREARS_KEY_FILE": str(tmp / "keys" / "cli.key"),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    get_settings.cache_clear()
    argv = sys.argv
    sys.argv = ["arrears", *args]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli.main()
            except SystemExit as exc:
                code = int(exc.code or 0)
    finally:
        sys.argv = argv
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()
    return _Result(code, out.getvalue(), err.getvalue())


def _cli(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ARREARS_DATABASE_URL": f"sqlite:///{tmp / 'cli.db'}",
        "ARREARS_KEY_FILE": str(tmp / "keys" / "cli.key"),
    }
    return subprocess.run(
        [sys.executable, "-m", "arrears.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=tmp,
    )


def test_init_is_idempotent_and_users_can_be_added(tmp_path: Path) -> None:
    first = _cli(tmp_path, "init")
    assert first.returncode == 0, first.stderr
    password = first.stdout.strip().splitlines()[-1]
    assert len(password) >= 16 and "created admin admin" in first.stderr
    assert (tmp_path / "keys" / "cli.key").exists()
    assert oct((tmp_path / "keys" / "cli.key").stat().st_mode & 0o777) == "0o600"

    again = _run(tmp_path, "init", "--admin-password", "another-password-1")
    assert again.returncode == 0
    assert "already exists" in again.stderr and again.stdout.strip() == ""

    added = _run(
        tmp_path,
        "users",
        "add",
        "wang.li",
        "--role",
        "collector",
        "--team",
        "华东一组",
        "--password",
        "pw-0123456789",
    )
    assert added.returncode == 0, added.stderr
    bad_role = _run(tmp_path, "users", "add", "x1", "--role", "boss", "--password", "pw-0123456789")
    assert (
        bad_role.returncode == 1 and "role 'boss'" in bad_role.stderr and "Traceback" not in bad_role.stderr
    )
    dup = _run(tmp_path, "users", "add", "wang.li", "--role", "collector", "--password", "pw-0123456789")
    assert dup.returncode == 1 and "already exists" in dup.stderr
    short = _run(tmp_path, "users", "add", "x2", "--role", "collector", "--password", "short")
    assert short.returncode == 1 and "password" in short.stderr

    listed = _run(tmp_path, "users", "list", "--json")
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["username"], r["role"], r["team"]) for r in rows] == [
        ("admin", "admin", None),
        ("wang.li", "collector", "华东一组"),
    ]
    ctx = AppContext(database_url=f"sqlite:///{tmp_path / 'cli.db'}", key_file=tmp_path / "keys" / "cli.key")
    with ctx.sessions() as s:
        admin = s.scalars(select(User).where(User.username == "admin")).one()
        assert verify_password(admin.password_hash, password)
        actions = s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions == ["user.create", "team.create", "user.create"]
        assert audit.verify(s).ok
    ctx.dispose()
    assert _run(tmp_path, "audit", "verify").returncode == 0


def _blobs(ctx: AppContext) -> list[bytes]:
    with ctx.sessions() as s:
        return [
            *[b for b in s.scalars(select(Debtor.national_id_enc)) if b],
            *s.scalars(select(ContactPoint.value_enc)),
            *[b for b in s.scalars(select(ThirdParty.name_enc)) if b],
        ]


def test_key_rotation_reencrypts_everything(world: World) -> None:
    ctx = world.ctx
    before = _blobs(ctx)
    plain = sorted(ctx.keys.decrypt(b) for b in before)
    assert {KeyRing.key_id_of(b) for b in before} == {"k1"}
    result = rotate_keys(ctx, Principal.system("cli:test"))
    assert result.new_key == "k2" and result.retired == ["k1"]
    assert result.reencrypted["contact_points.value_enc"] == 12
    after = _blobs(ctx)
    assert {KeyRing.key_id_of(b) for b in after} == {"k2"}
    fresh = KeyRing.load(ctx.key_file)  # what a restarted process reads
    assert set(fresh.keys) == {"k2"}
    assert sorted(fresh.decrypt(b) for b in after) == plain
    assert PII["A1"]["national_id"] in plain
    # Blind indexes still find the same rows.
    with ctx.sessions() as s:
        bidx = fresh.blind_index("phone", "+86" + PII["A1"]["phone"])
        assert (
            s.scalar(select(ContactPoint.id).where(ContactPoint.value_bidx == bidx))
            == world.contact_points["A1"]
        )
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "keys.rotate")).one()
        assert ev.after["current"] == "k2" and ev.actor == "cli:test"
