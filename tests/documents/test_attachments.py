"""Attachments per case (R5): stored on disk under the case with SHA-256, type and size limits, scoped
and audited downloads; a failed transaction leaves no file behind."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from arrears.core.db import transaction
from arrears.core.errors import NotFound, ValidationFailed
from arrears.documents import service
from arrears.documents.storage import DamagedDocument, DocumentStore, check_upload
from arrears.security.models import AuditEvent
from arrears.web.app import create_app
from tests.plans.helpers import at
from tests.security.world import World

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n% test\n"


def test_upload_list_and_download_through_the_api(world: World, docs: DocumentStore) -> None:
    client = TestClient(create_app(world.ctx))
    c = world.headers("c_east")
    case_id = world.cases["A1"]
    r = client.post(
        f"/api/v1/cases/{case_id}/attachments",
        headers=c,
        files={"file": ("借款合同.pdf", PDF, "application/pdf")},
        data={"description": "signed contract"},
    )
    assert r.status_code == 201, r.text
    doc = r.json()
    assert (
        doc["kind"] == "attachment"
        and doc["sha256"] == hashlib.sha256(PDF).hexdigest()
        and doc["size"] == len(PDF)
    )
    stored = list((docs.root / "cases" / str(case_id)).iterdir())
    assert len(stored) == 1 and stored[0].read_bytes() == PDF
    listed = client.get(f"/api/v1/cases/{case_id}/documents", headers=c).json()
    assert [d["id"] for d in listed] == [doc["id"]]
    got = client.get(doc["download"], headers=c)
    assert got.status_code == 200 and got.content == PDF and got.headers["x-content-sha256"] == doc["sha256"]
    assert "filename*=UTF-8''%E5%80%9F" in got.headers["content-disposition"]
    assert client.get(doc["download"], headers=world.headers("qc")).status_code == 200  # QC reads evidence
    assert client.get(doc["download"], headers=world.headers("admin")).status_code == 403
    assert client.get(doc["download"], headers=world.headers("c_west")).status_code == 404
    with world.ctx.sessions() as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.entity == "document")).all()
        assert actions == ["document.create", "document.download", "document.download"]


def test_limits_on_type_and_size(world: World) -> None:
    client = TestClient(create_app(world.ctx))
    c = world.headers("c_east")
    url = f"/api/v1/cases/{world.cases['A1']}/attachments"
    cases = [
        (("big.pdf", PDF + b"x" * (64 * 1024), "application/pdf"), "over the limit"),
        (("photo.pdf", PNG, "application/pdf"), "does not match the extension"),
        (
            ("run.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\xff\xff", "application/octet-stream"),
            "not an accepted file type",
        ),
        (("empty.txt", b"", "text/plain"), "empty"),
        (("note.txt", "通话记录".encode(), "image/png"), "declared as image/png"),
    ]
    for file, message in cases:
        r = client.post(url, headers=c, files={"file": file})
        assert r.status_code == 422 and message in r.json()["message"], (file[0], r.text)
    assert client.post(url, headers=c, files={"file": ("ok.png", PNG, "image/png")}).status_code == 201
    other = f"/api/v1/cases/{world.cases['A3']}/attachments"
    assert client.post(other, headers=c, files={"file": ("ok.png", PNG, "image/png")}).status_code == 404


def test_check_upload_accepts_the_listed_types() -> None:
    assert check_upload("a.wav", None, b"RIFF\x00\x00\x00\x00WAVEfmt ", 100) == "audio/wav"
    assert check_upload("a.mp3", "audio/mpeg", b"ID3\x04\x00", 100) == "audio/mpeg"
    assert check_upload("a.JPG", "image/jpeg", b"\xff\xd8\xff\xe0", 100) == "image/jpeg"
    assert check_upload("notes.txt", "text/plain; charset=utf-8", "还款记录".encode(), 100) == "text/plain"
    with pytest.raises(ValidationFailed, match="path separators"):
        check_upload("../x.txt", None, b"x", 100)


def test_hash_is_checked_on_read_and_paths_stay_inside_the_root(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path / "docs")
    f = store.put(5, b"evidence", ".txt")
    assert f.key.startswith("cases/5/") and store.read(f.key, f.sha256) == b"evidence"
    (store.root / f.key).write_bytes(b"tampered")
    with pytest.raises(DamagedDocument, match="does not match"):
        store.read(f.key, f.sha256)
    with pytest.raises(NotFound):
        store.read("../../etc/passwd", f.sha256)
    with pytest.raises(ValidationFailed):
        store.put(5, b"x", "/../x")


def test_a_rolled_back_upload_leaves_no_file(world: World, docs: DocumentStore) -> None:
    with pytest.raises(RuntimeError), transaction(world.ctx.sessions) as s:
        service.upload_attachment(
            s, world.principal("c_east"), docs, world.cases["A1"], file_name="a.txt", content_type="text/plain",
            data=b"call notes", at=at(2026, 11, 28),
        )  # fmt: skip
        assert len(list(docs.root.rglob("*.txt"))) == 1
        raise RuntimeError("something later in the transaction fails")
    assert list(docs.root.rglob("*.txt")) == []
    with transaction(world.ctx.sessions) as s:
        service.upload_attachment(
            s, world.principal("c_east"), docs, world.cases["A1"], file_name="b.txt", content_type="text/plain",
            data=b"kept", at=at(2026, 11, 28),
        )  # fmt: skip
    with pytest.raises(RuntimeError), transaction(world.ctx.sessions) as s:
        raise RuntimeError("a later, unrelated rollback")
    assert [p.read_bytes() for p in docs.root.rglob("*.txt")] == [b"kept"]  # committed files stay
