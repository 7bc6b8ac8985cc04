"""Personal data at rest (CN-D1, R21): after a portfolio is loaded and worked through the API, the raw
database bytes hold no national ID, phone number, email, address or emergency-contact name."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

from arrears.core.context import AppContext
from arrears.models import metadata
from arrears.web.app import create_app
from tests.security.world import PASSWORD, PII, World, build_world

SECRETS = sorted({v for person in PII.values() for v in person.values()})


def _work_the_portfolio(world: World) -> None:
    """Sign in, read debtors, reveal (audited), export: every path that writes rows."""
    client = TestClient(create_app(world.ctx))
    r = client.post("/api/v1/auth/token", json={"username": "c_east", "password": PASSWORD})
    assert r.status_code == 200
    h = {"Authorization": f"Bearer {r.json()['access_token']}"}
    debtor = world.debtors["A1"]
    assert client.get(f"/api/v1/debtors/{debtor}", headers=h).status_code == 200
    for body in (
        {"field": "national_id", "reason": "verify identity"},
        {"field": "contact_point", "id": world.contact_points["A1"], "reason": "call"},
        {"field": "third_party_name", "id": world.third_parties["A1"], "reason": "call back"},
    ):
        r = client.post(f"/api/v1/debtors/{debtor}/reveal", headers=h, json=body)
        assert r.status_code == 200, r.text
    assert PII["A1"]["phone"] in client.post(
        f"/api/v1/debtors/{debtor}/reveal", headers=h,
        json={"field": "contact_point", "id": world.contact_points["A1"], "reason": "dial"},
    ).text  # fmt: skip
    lead = world.headers("lead_east")
    assert client.get("/api/v1/exports/accounts.csv", headers=lead).status_code == 200
    client.get("/login")


def _assert_absent(blob: bytes, where: str) -> None:
    for secret in SECRETS:
        raw = secret.encode("utf-8")
        assert raw not in blob, f"{secret!r} in plain text in {where}"
        assert raw.hex().encode() not in blob.lower(), f"{secret!r} hex-encoded in {where}"


def test_sqlite_file_bytes_hold_no_plain_personal_data(sqlite_ctx: AppContext) -> None:
    world = build_world(sqlite_ctx)
    _work_the_portfolio(world)
    # Control: the plain values are really what was loaded (the test can fail).
    with sqlite_ctx.sessions() as s:
        blob = s.execute(text("SELECT national_id_enc FROM debtors ORDER BY id LIMIT 1")).scalar_one()
        assert sqlite_ctx.keys.decrypt(blob) == PII["A1"]["national_id"]
    sqlite_ctx.dispose()
    db_file = Path(sqlite_ctx.database_url.removeprefix("sqlite:///"))
    files = [p for p in (db_file, Path(f"{db_file}-wal"), Path(f"{db_file}-journal")) if p.exists()]
    assert files and db_file.stat().st_size > 0
    data = b"".join(p.read_bytes() for p in files)
    assert "张三".encode() in data  # names are not in the encrypted set: proves we read real table bytes
    _assert_absent(data, "the SQLite database file")


def test_table_bytes_hold_no_plain_personal_data(ctx: AppContext) -> None:
    """Both databases: every row of every table, as the database renders it to text."""
    world = build_world(ctx)
    _work_the_portfolio(world)
    dumped = []
    with ctx.engine.connect() as conn:
        for table in metadata.sorted_tables:
            if ctx.engine.dialect.name == "postgresql":
                rows = conn.execute(text(f'SELECT t::text FROM "{table.name}" t')).scalars().all()
            else:
                rows = [repr(tuple(r)) for r in conn.execute(text(f'SELECT * FROM "{table.name}"')).all()]
            dumped.append(f"{table.name}: " + "\n".join(map(str, rows)))
    blob = "\n".join(dumped).encode("utf-8")
    assert b"debtor.reveal" in blob and "张三".encode() in blob
    _assert_absent(blob, f"the {ctx.engine.dialect.name} tables")
