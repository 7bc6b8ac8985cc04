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


def _cn_id(first17: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return first17 + "10X98765432"[sum(int(a) * b for a, b in zip(first17, weights, strict=True)) % 11]


IMPORTED = [
    # account, debtor, name, national id, phone, email, address, contact, relation, contact phone, principal, dpd
    ("L-001", "D-001", "张三", _cn_id("11010119900307123"), "13812345678", "zhang.san@example.com",
     "北京市朝阳区建国路88号", "李四", "配偶", "13987654321", "12000.00", "30"),
    ("L-002", "D-002", "王五", _cn_id("31010419851224001"), "13700001111", "wang.wu@example.org",
     "上海市徐汇区漕溪北路1号", "赵六", "父亲", "13622223333", "5300.50", "75"),
]  # fmt: skip
HEADER = (
    "account_ref,debtor_ref,debtor_name,national_id,phone,email,address,emergency_contact_1_name,"
    "emergency_contact_1_relation,emergency_contact_1_phone,principal,days_past_due"
)


def test_imported_portfolio_leaves_no_plain_personal_data(ctx: AppContext, tmp_path: Path) -> None:
    """Through the placement import service, then the API: raw bytes (SQLite file) and table text."""
    from arrears.portfolio.importing import import_placements

    placements = tmp_path / "placements.csv"
    placements.write_text(HEADER + "\n" + "\n".join(",".join(r) for r in IMPORTED) + "\n", encoding="utf-8")
    result = import_placements(ctx, placements, "BANK1")
    assert result.imported == 2 and not result.errors
    world = build_world(ctx)  # staff and a second portfolio, worked through the API
    _work_the_portfolio(world)
    secrets = sorted({v for row in IMPORTED for v in (row[3], row[4], row[5], row[6], row[7], row[9])})
    client = TestClient(create_app(ctx))
    listed = client.get("/api/v1/accounts?creditor=BANK1&limit=200", headers=world.headers("manager")).json()
    assert {"L-001", "L-002"} <= {a["ref"] for a in listed["items"]}
    debtor_id = next(a["debtor_id"] for a in listed["items"] if a["ref"] == "L-001")
    shown = client.get(f"/api/v1/debtors/{debtor_id}", headers=world.headers("manager")).text
    assert "138****5678" in shown and all(s not in shown for s in secrets)
    with ctx.engine.connect() as conn:
        if ctx.engine.dialect.name == "postgresql":
            dumped = [
                str(v)
                for t in metadata.sorted_tables
                for v in conn.execute(text(f'SELECT t::text FROM "{t.name}" t')).scalars()
            ]
        else:
            dumped = [
                repr(tuple(r))
                for t in metadata.sorted_tables
                for r in conn.execute(text(f'SELECT * FROM "{t.name}"'))
            ]
    blob = "\n".join(dumped).encode("utf-8")
    assert "王五".encode() in blob  # the import really wrote rows
    files: list[Path] = []
    if ctx.engine.dialect.name == "sqlite":
        ctx.dispose()
        db_file = Path(ctx.database_url.removeprefix("sqlite:///"))
        files = [p for p in (db_file, Path(f"{db_file}-wal")) if p.exists()]
        blob += b"".join(p.read_bytes() for p in files)
    for secret in [*secrets, *SECRETS]:
        raw = secret.encode("utf-8")
        assert raw not in blob and raw.hex().encode() not in blob.lower(), f"{secret!r} stored in plain text"
