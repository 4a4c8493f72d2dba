"""The Content-Security-Policy in a real browser (docs/security.md, "Headers"): the app, the
public event page with its live totals, a fund page with the receipt form, a receipt
check and Swagger UI load with no CSP violation, and what they do still works."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Phone, Server, eventually
from tests.browser.steps import setup_station

STATION = "CSP-001"


def violations(phone: Phone) -> list[str]:
    return [m for m in phone.messages
            if "Content Security Policy" in m or "Content-Security-Policy" in m]


def watch(phone: Phone) -> None:
    """Every violation also as a console line, whatever the browser's own wording."""
    phone.context.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => console.error("
        "'Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI))")


def test_no_page_breaks_the_content_security_policy(phones: Any, server: Server) -> None:
    event_id, fund_id = setup_station(server, STATION)
    phone = phones("csp")
    watch(phone)
    page = phone.page

    # the app: shell, service worker, lazily loaded chunks (the validators)
    phone.enrol(server.token("csp-admin", "admin"))
    phone.go("/donations")
    page.wait_for_timeout(500)

    # the public event page, whose totals move when a phone syncs
    response = page.goto(f"/public/events/{event_id}")
    assert response is not None
    assert "script-src 'self';" in response.headers["content-security-policy"]
    expect(page.locator("#money")).to_have_text("0.00")
    eventually(page, "document.readyState", "complete")  # the deferred script ran
    page.wait_for_timeout(500)
    server.push("donation.record", {
        "id": str(uuid.uuid4()), "station": STATION, "kind": "money", "amount_fen": 123_456,
        "method": "cash", "direction": "undirected", "event_id": event_id,
        "donor": {"name": "王五", "wants_receipt": False}})
    expect(page.locator("#money")).to_have_text("1,234.56")
    expect(page.locator("#money_count")).to_have_text("1")

    # a fund page and its receipt form (the form's script builds the address)
    page.goto(f"/public/funds/{fund_id}")
    page.locator("form[data-receipt-form] input[name=number]").fill("NOPE-S001-00001")
    page.locator("form[data-receipt-form] input[name=code]").fill("ABCDEFGH")
    page.locator("form[data-receipt-form] button").click()
    page.wait_for_url("**/public/receipts/NOPE-S001-00001?code=ABCDEFGH")
    expect(page.locator("body")).to_contain_text("收据")

    # Swagger UI renders from its local files and the document
    page.goto("/schema")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Social Work")
    expect(page.locator(".opblock").first).to_be_visible()

    assert violations(phone) == [], "\n".join(violations(phone))
