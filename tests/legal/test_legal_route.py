"""The legal route (R15, R19): a formal notice with the CN-L1 contents, escalation → approval (a second
person) → hand-over with a case file whose manifest hashes match, stages with costs and outcome."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from arrears.compliance.packs import load_pack
from arrears.compliance.rules import check_letter
from arrears.core.db import transaction
from arrears.core.money import format_major
from arrears.documents.models import Document
from arrears.documents.storage import DocumentStore
from arrears.ledger import service as ledger
from arrears.legal import service
from arrears.legal.casefile import verify_casefile
from arrears.legal.stages import StageError, check_transition
from arrears.security.models import AuditEvent
from arrears.web.app import create_app
from tests.conftest import REQUIRE_SERVICES
from tests.plans.helpers import account, add_user, at
from tests.security.world import World


def _pdf_text(data: bytes) -> str:
    if not shutil.which("pdftotext"):
        if REQUIRE_SERVICES:  # CI installs it (.ci/run): there a missing tool is a failure, not a skip
            pytest.fail("pdftotext (poppler-utils) is not installed")
        pytest.skip("pdftotext (poppler-utils) is not installed")
    return subprocess.run(
        ["pdftotext", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_formal_notice_states_facts_legal_basis_and_next_measures(world: World, language: str) -> None:
    client = TestClient(create_app(world.ctx))
    c = world.headers("c_east")
    r = client.post(f"/api/v1/cases/{world.cases['A1']}/notices", headers=c, json={"language": language})
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["kind"] == "formal_notice" and doc["language"] == language
    pdf = client.get(doc["download"], headers=c)
    assert pdf.status_code == 200 and hashlib.sha256(pdf.content).hexdigest() == doc["sha256"]
    text = _pdf_text(pdf.content)
    assert not check_letter(text, load_pack("cn")), "every CN-L1 item is in the rendered letter"
    if language == "zh":
        for phrase in (
            "催收通知函",
            "尊敬的张三",
            "10,000.00 元",
            "法律依据",
            "权利",
            "义务",
            "异议",
            "400-800-1234",
            "后续措施",
        ):
            assert phrase in text, phrase
    else:
        for phrase in (
            "Formal notice",
            "Dear",
            "CNY 10,000.00",
            "Legal basis",
            "obligations",
            "dispute",
            "Next measures",
        ):
            assert phrase in text, phrase


def test_a_letter_missing_cn_l1_items_is_refused(world: World) -> None:
    with world.ctx.sessions() as s:
        acc = account(s, world, "A1")
        with pytest.raises(service.LetterIncomplete) as err:
            service.check_notice_contents(
                s, acc, "尊敬的张三：您的欠款金额为 100 元。联系电话 400。", date(2026, 11, 28)
            )
    missing = err.value.details[0]["missing"]
    assert "how_to_dispute" in missing and "rights_and_duties" in missing and "name" not in missing


def _contact(client: TestClient, w: World) -> None:
    """An inbound call logged through the cases feature's contact log."""
    r = client.post(
        f"/api/v1/cases/{w.cases['A1']}/contacts",
        headers=w.headers("c_east"),
        json={
            "channel": "call",
            "outcome": "refused",
            "direction": "inbound",
            "notes": "says he will never pay",
        },
    )
    assert r.status_code in (200, 201), r.text


def test_escalation_approval_handover_and_case_file(world: World) -> None:
    client = TestClient(create_app(world.ctx))
    c, lead, legal = world.headers("c_east"), world.headers("lead_east"), world.headers("legal")
    case_id = world.cases["A1"]
    _contact(client, world)
    r = client.post(
        f"/api/v1/cases/{case_id}/escalations",
        headers=c,
        json={"grounds": ["malicious_refusal", "deliberate_evasion"], "reason": "refuses, hides assets"},
    )
    assert r.status_code == 201, r.text
    esc = r.json()
    assert esc["status"] == "requested" and esc["owed_at_request"] == "10000.00"
    assert client.post(f"/api/v1/cases/{case_id}/escalations", headers=c,
                       json={"grounds": ["other"], "reason": "again"}).status_code == 409  # fmt: skip
    assert client.post(f"/api/v1/escalations/{esc['id']}/approve", headers=c).status_code == 403
    assert [e["id"] for e in client.get("/api/v1/approvals/escalations", headers=lead).json()] == [esc["id"]]
    r = client.post(f"/api/v1/escalations/{esc['id']}/approve", headers=lead, json={"note": "agreed"})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    body = {"handler_kind": "law_firm", "handler_name": "北京某某律师事务所"}
    r = client.post(f"/api/v1/escalations/{esc['id']}/handover", headers=legal, json=body)
    assert r.status_code == 409 and "formal notice" in r.json()["message"]  # R15: notice first
    assert client.post(f"/api/v1/cases/{case_id}/notices", headers=c).status_code == 201
    r = client.post(f"/api/v1/escalations/{esc['id']}/handover", headers=legal, json=body)
    assert r.status_code == 200, r.text
    handed = r.json()
    assert handed["status"] == "handed_over" and handed["stage"] == "pre_litigation"
    assert handed["handler_name"] == "北京某某律师事务所" and handed["casefile_document_id"]

    r = client.get(f"/api/v1/escalations/{esc['id']}/casefile", headers=legal)
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    archive = r.content
    assert hashlib.sha256(archive).hexdigest() == r.headers["x-content-sha256"] == handed["casefile_sha256"]
    assert verify_casefile(archive) == []
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        paths = {f["path"] for f in manifest["files"]}
        assert set(zf.namelist()) == paths | {"manifest.json"}
        for f in manifest["files"]:  # every member's hash, computed here independently
            assert hashlib.sha256(zf.read(f["path"])).hexdigest() == f["sha256"]
        assert {"contract.json", "statement.json", "ledger.csv", "plans.json", "contact_history.json",
                "escalation.json"} <= paths  # fmt: skip
        notices = [f for f in manifest["files"] if f["kind"] == "formal_notice"]
        assert len(notices) == 1 and notices[0]["path"].endswith(".pdf")
        statement = json.loads(zf.read("statement.json"))
        history = json.loads(zf.read("contact_history.json"))
        contract = json.loads(zf.read("contract.json"))
        escalation = json.loads(zf.read("escalation.json"))
        everything = b"".join(zf.read(n) for n in zf.namelist())
    with world.ctx.sessions() as s:
        bal = ledger.replay_balances(s, world.accounts["A1"])
    assert (
        statement["remaining"]["total"] == bal.total and statement["remaining"]["principal"] == bal.principal
    )
    assert contract["debtor"]["name"] == "张三" and contract["account"]["ref"] == "A1"
    assert b"110101199003071234" not in everything and "张三".encode() in everything  # no national id (CN-D1)
    assert history["source"] == "cases.case_history"
    assert any(e["kind"] == "contact" and e["detail"]["outcome"] == "refused" for e in history["entries"])
    assert escalation["grounds"] == ["deliberate_evasion", "malicious_refusal"]

    tampered = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as src, zipfile.ZipFile(tampered, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, b"{}" if name == "statement.json" else src.read(name))
    assert verify_casefile(tampered.getvalue()) == [
        "statement.json: SHA-256 does not match the manifest",
        "statement.json: size does not match the manifest",
    ]
    with world.ctx.sessions() as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.entity == "escalation")).all()
        assert actions == ["escalation.request", "escalation.approve", "escalation.handover"]


def _handed_over(w: World, docs: DocumentStore) -> int:
    with transaction(w.ctx.sessions) as s:
        esc = service.request_escalation(
            s,
            w.principal("c_west"),
            w.cases["A3"],
            grounds=["unreachable"],
            reason="gone",
            at=at(2026, 11, 20),
        )
    with transaction(w.ctx.sessions) as s:
        service.approve_escalation(s, w.principal("manager"), esc.id, at=at(2026, 11, 21))
    with transaction(w.ctx.sessions) as s:
        service.formal_notice(s, w.principal("c_west"), docs, w.cases["A3"], at=at(2026, 11, 21))
    with transaction(w.ctx.sessions) as s:
        service.hand_over(s, w.principal("legal"), docs, esc.id, handler_kind="legal_department", handler_name=None,
                          at=at(2026, 11, 22))  # fmt: skip
    return esc.id


def test_stages_move_forward_with_costs_and_close_with_an_outcome(world: World, docs: DocumentStore) -> None:
    esc_id = _handed_over(world, docs)
    client = TestClient(create_app(world.ctx))
    legal = world.headers("legal")
    url = f"/api/v1/escalations/{esc_id}/stages"
    r = client.post(url, headers=legal, json={"stage": "filed", "on_date": "2026-11-25", "reference": "(2026)京0105民初123号",
                                              "costs": [{"kind": "court_fee", "amount": "525.00"},
                                                        {"kind": "lawyer_fee", "amount": "3000.00"}]})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "filed" and r.json()["costs_total"] == "3525.00"
    assert client.post(url, headers=world.headers("lead_east"), json={"stage": "hearing"}).status_code == 403
    assert client.post(url, headers=legal, json={"stage": "pre_litigation"}).status_code == 422  # backwards
    assert (
        client.post(url, headers=legal, json={"stage": "judgment", "outcome": "settled"}).status_code == 422
    )
    r = client.post(
        url,
        headers=legal,
        json={"stage": "judgment", "outcome": "judgment_for_creditor", "recovered": "10000.00"},
    )
    assert r.status_code == 200 and r.json()["outcome"] == "judgment_for_creditor"
    r = client.post(
        url,
        headers=legal,
        json={"stage": "enforcement", "costs": [{"kind": "enforcement_fee", "amount": "150.50"}]},
    )
    assert r.status_code == 200 and r.json()["costs_total"] == "3675.50"
    assert (
        client.post(url, headers=legal, json={"stage": "closed"}).status_code == 422
    )  # closing needs an outcome
    assert (
        client.post(
            url, headers=legal, json={"stage": "closed", "on_date": "2030-01-01", "outcome": "settled"}
        ).status_code
        == 422
    )
    r = client.post(url, headers=legal, json={"stage": "closed", "outcome": "enforced_in_part"})
    assert r.status_code == 200
    done = r.json()
    assert done["status"] == "closed" and done["outcome"] == "enforced_in_part" and done["closed_at"]
    assert [s["stage"] for s in done["stages"]] == [
        "pre_litigation",
        "filed",
        "judgment",
        "enforcement",
        "closed",
    ]
    assert [(c["stage"], c["kind"], c["amount"]) for c in done["costs"]] == [
        ("filed", "court_fee", "525.00"), ("filed", "lawyer_fee", "3000.00"), ("enforcement", "enforcement_fee", "150.50"),
    ]  # fmt: skip
    with world.ctx.sessions() as s:
        assert service.costs_total(s, esc_id) == 367_550
    assert client.post(url, headers=legal, json={"stage": "closed", "outcome": "settled"}).status_code == 409


def test_stage_rules() -> None:
    check_transition(None, "pre_litigation", None)
    check_transition("pre_litigation", "closed", "settled")  # skipping forward is allowed
    for current, new, outcome, message in [
        ("filed", "filed", None, "only move forward"),
        ("closed", "enforcement", None, "closed"),
        ("hearing", "closed", None, "needs an outcome"),
        ("hearing", "closed", "won", "must be one of"),
        ("filed", "hearing", "settled", "not at hearing"),
        (None, "appeal", None, "must be one of"),
    ]:
        with pytest.raises(StageError, match=message):
            check_transition(current, new, outcome)


def test_collectors_cannot_escalate_or_read_cases_that_are_not_theirs(world: World) -> None:
    client = TestClient(create_app(world.ctx))
    c = world.headers("c_east")
    body = {"grounds": ["malicious_refusal"], "reason": "x"}
    assert (
        client.post(f"/api/v1/cases/{world.cases['A3']}/escalations", headers=c, json=body).status_code == 404
    )
    assert (
        client.post(f"/api/v1/cases/{world.cases['A2']}/escalations", headers=c, json=body).status_code == 404
    )
    assert client.post(f"/api/v1/cases/{world.cases['A3']}/notices", headers=c).status_code == 404
    r = client.post(
        f"/api/v1/cases/{world.cases['A3']}/escalations", headers=world.headers("c_west"), json=body
    )
    esc = r.json()["id"]
    for path in (f"/api/v1/escalations/{esc}", f"/api/v1/cases/{world.cases['A3']}/escalations"):
        assert client.get(path, headers=c).status_code == 404
    r = client.post(f"/api/v1/escalations/{esc}/approve", headers=world.headers("lead_east"))
    assert r.status_code == 404 and r.json()["message"] == f"escalation {esc} not found"  # other team
    add_user(world, "lead_west", "team_lead", "west")
    assert (
        client.post(f"/api/v1/escalations/{esc}/approve", headers=world.headers("lead_west")).status_code
        == 200
    )


def test_case_file_export_is_for_the_legal_route_only_and_audited(world: World) -> None:
    client = TestClient(create_app(world.ctx))
    case_id = world.cases["A1"]
    assert client.get(f"/api/v1/cases/{case_id}/casefile", headers=world.headers("c_east")).status_code == 403
    assert (
        client.get(
            f"/api/v1/cases/{world.cases['A3']}/casefile", headers=world.headers("lead_east")
        ).status_code
        == 404
    )
    r = client.get(f"/api/v1/cases/{case_id}/casefile", headers=world.headers("legal"))
    assert r.status_code == 200 and verify_casefile(r.content) == []
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert "escalation.json" not in zf.namelist()
        st = json.loads(zf.read("statement.json"))
    assert st["display"]["total_remaining"] == format_major(1_000_000, "CNY")
    with world.ctx.sessions() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "casefile.export")).one()
        assert ev.actor == "legal" and ev.after["sha256"] == hashlib.sha256(r.content).hexdigest()
        assert (
            s.scalar(select(Document.id).where(Document.kind == "casefile")) is None
        )  # exports are not stored
