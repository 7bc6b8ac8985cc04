"""The case-work pages in zh-CN and English: the queue, the case view with its forms (CSRF-checked,
htmx swapping the history panel), a guard refusal shown with its rule id and reason, and the board."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from arrears.web.app import create_app
from tests.cases.conftest import Clock
from tests.security.world import PASSWORD, World

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
HX = {"hx-request": "true"}


def sign_in(client: TestClient, username: str) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    page = client.get("/login")
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303, r.text
    return CSRF.search(client.get("/queue").text).group(1)  # type: ignore[union-attr]


def browser(world: World, username: str) -> tuple[TestClient, str]:
    client = TestClient(create_app(world.ctx), follow_redirects=False)
    return client, sign_in(client, username)


def test_the_queue_and_the_case_in_both_languages(world: World) -> None:
    client, _ = browser(world, "c_east")
    en = client.get("/queue", headers={"accept-language": "en"})
    zh = client.get("/queue", headers={"accept-language": "zh-CN"})
    assert en.status_code == zh.status_code == 200
    assert (
        "My queue" in en.text
        and "Expected recovery" in en.text
        and f'href="/cases/{world.cases["A1"]}"' in en.text
    )
    assert "我的工作队列" in zh.text and "预期回收" in zh.text
    case = client.get(f"/cases/{world.cases['A1']}", headers={"accept-language": "en"})
    assert case.status_code == 200
    for words in ("Debtor background", "Contract", "Balances", "Log a contact", "Record a promise to pay", "History",
                  "138****5678", "10000.00", "1101**********1234"):  # fmt: skip
        assert words in case.text, words
    assert "13812345678" not in case.text  # contact values are masked
    zh_case = client.get(f"/cases/{world.cases['A1']}", headers={"accept-language": "zh-CN"})
    assert "债务人背景" in zh_case.text and "记录联系" in zh_case.text and "承诺还款" in zh_case.text


def test_log_a_call_then_a_refusal_at_night_then_a_promise(world: World, clock: Clock) -> None:
    client, token = browser(world, "c_east")
    url = f"/cases/{world.cases['A1']}"
    form = {"csrf_token": token, "channel": "call", "contact_point_id": str(world.contact_points["A1"]),
            "outcome": "right_party_contact", "notes": "agreed to pay on Monday"}  # fmt: skip
    r = client.post(url + "/contacts", data=form, headers={**HX, "accept-language": "en"})
    assert r.status_code == 200 and 'id="history-panel"' in r.text and "<html" not in r.text
    assert (
        "Contact logged." in r.text
        and "agreed to pay on Monday" in r.text
        and "Right-party contact" in r.text
    )

    clock.set(clock.at.replace(hour=15))  # 23:30 in Shanghai
    night = client.post(url + "/contacts", data=form, headers={**HX, "accept-language": "en"})
    assert night.status_code == 200  # htmx swaps 2xx answers: the refusal is shown in the panel
    assert (
        'data-testid="guard-refusal"' in night.text and '<code data-testid="rule">CN-T1</code>' in night.text
    )
    assert "No collection contact between 22:00 and 08:00" in night.text
    zh_night = client.post(url + "/contacts", data=form, headers={**HX, "accept-language": "zh-CN"})
    assert "合规检查拦截" in zh_night.text and "不得进行任何催收联系" in zh_night.text
    plain = client.post(url + "/contacts", data=form)  # without htmx: the whole page, status 409
    assert plain.status_code == 409 and "<html" in plain.text and "CN-T1" in plain.text

    clock.set(clock.at.replace(hour=2))  # 10:30 in Shanghai
    p = client.post(url + "/promises", data={"csrf_token": token, "amount": "800.00", "due_date": "2026-12-01"},
                    headers={**HX, "accept-language": "en"})  # fmt: skip
    assert p.status_code == 200 and "Promise recorded." in p.text and "800.00 CNY" in p.text
    bad = client.post(url + "/promises", data={"csrf_token": token, "amount": "lots", "due_date": "2026-12-01"},
                      headers={**HX, "accept-language": "en"})  # fmt: skip
    assert bad.status_code == 200 and "amount" in bad.text and 'class="notice bad"' in bad.text


def test_forms_need_the_session_csrf_token_and_respect_scope(world: World) -> None:
    client, token = browser(world, "c_east")
    for path in (f"/cases/{world.cases['A1']}/contacts", "/cases/{case_id}/contacts", "/cases/x/promises",
                 "/board/assign", "/board/handover", "/board/rebalance", "/board/flags/1/ack"):  # fmt: skip
        for bad in ("", "forged", token[:-1] + ("A" if token[-1] != "A" else "B")):
            r = client.post(path, data={"csrf_token": bad, "channel": "call", "outcome": "no_answer"})
            assert r.status_code == 403, (path, bad, r.status_code)
    other = client.get(f"/cases/{world.cases['A3']}")
    assert other.status_code == 404
    r = client.post(f"/cases/{world.cases['A3']}/contacts", data={"csrf_token": token, "outcome": "no_answer",
                    "channel": "call", "contact_point_id": str(world.contact_points["A3"])})  # fmt: skip
    assert r.status_code == 404
    assert client.get("/board").status_code == 403  # a collector has no board
    assert TestClient(create_app(world.ctx), follow_redirects=False).get("/queue").status_code == 303


def test_the_lead_sees_flags_on_the_board(world: World) -> None:
    client, token = browser(world, "c_east")
    form = {"csrf_token": token, "channel": "call", "contact_point_id": str(world.contact_points["A1"]),
            "outcome": "abusive_to_staff", "notes": "threatened to come to the office"}  # fmt: skip
    assert client.post(f"/cases/{world.cases['A1']}/contacts", data=form, headers=HX).status_code == 200
    lead, lead_token = browser(world, "lead_east")
    board = lead.get("/board", headers={"accept-language": "en"})
    assert board.status_code == 200 and "Abuse and threats toward staff" in board.text
    assert "threatened to come to the office" in board.text
    flag_id = re.search(r'action="/board/flags/(\d+)/ack"', board.text).group(1)  # type: ignore[union-attr]
    ack = lead.post(
        f"/board/flags/{flag_id}/ack", data={"csrf_token": lead_token}, headers={"accept-language": "en"}
    )
    assert ack.status_code == 200 and "No open flags." in ack.text
