"""The explorer page, in a real headless Chromium, against the real gateway on Anvil.

Chromium is Debian's (``make install`` installs it when run as root); Playwright only
drives it. Screenshots go to ``test-artifacts/`` for a person to look at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.api.conftest import PROJECT_ROOT, Api, ApiMember, GatewayProcess, maturity_in, new_document_hash

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's Chromium is not installed at /usr/bin/chromium (as root, `make install` installs it)",
)

# A supplier whose name is markup: the page must show it as text and never run it.
HOSTILE_NAME = 'Tier 3 <img src=x onerror="window.__xss=1"> & Co'


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _certificates(response: Any, status: int = 201) -> list[dict[str, Any]]:
    assert response.status_code == status, response.text
    certificates: list[dict[str, Any]] = response.json()["certificates"]
    return certificates


def _sign_in(page: Page, api_key: str, name: str) -> None:
    page.fill("#api-key", api_key)
    page.click("#signin-submit")
    expect(page.locator("#session-name")).to_have_text(name)
    expect(page.locator("#api-key")).to_have_value("")


def _total(page: Page, view: str, key: str) -> str:
    return page.locator(f"#{view}-totals [data-total={key}] .total-value").inner_text().replace("\n", " ").strip()


def test_explorer_traces_a_tree_shows_holdings_and_maturities(
    gateway: GatewayProcess,
    operator_api: Api,
    onboard: Callable[..., ApiMember],
    browser: Browser,
) -> None:
    # A demo-like chain of payables: issue, accept, pass parts down three tiers.
    core = onboard("core_enterprise", "Explorer Motors Co., Ltd.")
    tier1 = onboard("supplier", "Explorer Tier 1 Parts")
    tier2 = onboard("supplier", "Explorer Tier 2 Castings")
    tier3 = onboard("supplier", HOSTILE_NAME)
    assert operator_api.put(f"/v1/credit-lines/{core.address}", {"limit": "5000000.00"}).status_code == 200

    def issue(to: ApiMember, amount: str, days: int, invoice: str) -> dict[str, Any]:
        body = {
            "to": to.address,
            "amount": amount,
            "maturity_date": maturity_in(days),
            "document_hash": new_document_hash(),
            "invoice_number": invoice,
        }
        return _certificates(core.api.post("/v1/certificates", body))[0]

    root = issue(tier1, "1000000.00", 120, "INV-EXP-0001")
    root = _certificates(tier1.api.post(f"/v1/certificates/{root['id']}/accept"), 200)[0]
    kept1, moved2 = _certificates(
        tier1.api.post(f"/v1/certificates/{root['id']}/transfer", {"to": tier2.address, "amount": "600000.00"})
    )
    to_tier3, kept2 = _certificates(
        tier2.api.post(
            f"/v1/certificates/{moved2['id']}/split",
            {"parts": [{"to": tier3.address, "amount": "250000.00"}, {"to": tier2.address, "amount": "350000.00"}]},
        )
    )
    kept3, back2 = _certificates(
        tier3.api.post(f"/v1/certificates/{to_tier3['id']}/transfer", {"to": tier2.address, "amount": "100000.00"})
    )
    later = issue(tier2, "80000.00", 30, "INV-EXP-0002")
    _certificates(tier2.api.post(f"/v1/certificates/{later['id']}/accept"), 200)
    issue(tier2, "20000.00", 60, "INV-EXP-0003")  # not accepted: pending with tier 2, not yet owed

    expected_amounts = {
        root["id"]: "1,000,000.00 CNY",
        kept1["id"]: "400,000.00 CNY",
        moved2["id"]: "600,000.00 CNY",
        to_tier3["id"]: "250,000.00 CNY",
        kept2["id"]: "350,000.00 CNY",
        kept3["id"]: "150,000.00 CNY",
        back2["id"]: "100,000.00 CNY",
    }
    split_ids = {root["id"], moved2["id"], to_tier3["id"]}

    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, base_url=gateway.base_url)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    keys = [core.api.client.headers["Authorization"].removeprefix("Bearer ")]
    try:
        # The page and its assets come with a strict policy: this origin only, nothing inline.
        response = page.goto("/explorer")
        assert response is not None and response.status == 200
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert response.headers["x-content-type-options"] == "nosniff"
        script = page.request.get("/explorer/assets/app.js")
        assert script.ok and "content-security-policy" in script.headers

        # The obligor signs in; its key stays in this tab's sessionStorage only.
        expect(page.locator("#view-signin")).to_be_visible()
        _sign_in(page, keys[0], core.name)
        assert page.evaluate("sessionStorage.length") == 1
        assert page.evaluate("Object.values(sessionStorage)") == keys
        assert page.evaluate("localStorage.length") == 0
        assert context.cookies() == []
        expect(page.locator("#tab-maturities")).to_be_visible()

        # The root's provenance: seven certificates with their amounts, coloured by status.
        page.fill("#search-id", str(root["id"]))
        page.click("#search-form button[type=submit]")
        nodes = page.locator("#tree g.node")
        expect(nodes).to_have_count(len(expected_amounts))
        shown = {
            int(node.get_attribute("data-id") or 0): node.locator(".node-amount").text_content() for node in nodes.all()
        }
        assert shown == expected_amounts
        for certificate_id in expected_amounts:
            node = page.locator(f'#tree g.node[data-id="{certificate_id}"]')
            status = "split" if certificate_id in split_ids else "active"
            assert node.get_attribute("data-status") == status
            assert f"st-{status}" in (node.get_attribute("class") or "")
        assert _total(page, "prov", "face_value") == "1,000,000.00 CNY"
        assert _total(page, "prov", "leaves_sum") == "1,000,000.00 CNY"
        expect(page.locator("#prov-conserved")).to_have_class("conserved ok")
        expect(page.locator("#prov-table tbody tr")).to_have_count(len(expected_amounts))

        # Clicking a node shows its details and its transaction hash.
        page.locator(f'#tree g.node[data-id="{kept2["id"]}"]').click()
        expect(page.locator("#detail-body [data-field=id]")).to_have_text(f"#{kept2['id']}")
        expect(page.locator("#detail-body [data-field=amount]")).to_have_text("350,000.00 CNY")
        expect(page.locator("#detail-body [data-field=tx_hash]")).to_have_text(kept2["tx_hash"])
        expect(page.locator("#detail-body")).to_contain_text(tier2.name)

        # The tree shown is checked against the ledger contract itself.
        page.click("#verify")
        expect(page.locator("#prov-verified")).to_contain_text("Matches the ledger at block")
        expect(page.locator("#prov-verified")).to_contain_text(f"({len(expected_amounts)} certificates)")

        # Names from the ledger are text, never markup.
        expect(page.locator("#prov-table")).to_contain_text(HOSTILE_NAME)
        assert page.locator("#main img").count() == 0
        assert page.evaluate("window.__xss") is None
        page.screenshot(path=str(ARTIFACTS / "explorer.png"), full_page=True)

        # The obligor's calendar: what it owes (accepted, not yet paid), grouped by maturity date.
        page.click("#tabs a[data-view=maturities]")
        expect(page.locator("#mat-table tbody tr")).to_have_count(2)
        assert _total(page, "mat", "outstanding") == "1,080,000.00 CNY"
        expect(page.locator(".cal-due")).to_have_count(2)
        page.locator(f'.cal-due[data-day="{later["maturity_date"]}"]').click()
        expect(page.locator("#mat-day-title")).to_contain_text("80,000.00 CNY")
        page.screenshot(path=str(ARTIFACTS / "explorer-maturities.png"), full_page=True)

        # Signing out forgets the key; a supplier signs in and sees its holdings and totals.
        page.click("#sign-out")
        expect(page.locator("#view-signin")).to_be_visible()
        assert page.evaluate("sessionStorage.length") == 0
        keys.append(tier2.api.client.headers["Authorization"].removeprefix("Bearer "))
        _sign_in(page, keys[1], tier2.name)
        expect(page.locator("#tab-maturities")).to_be_hidden()
        page.click("#tabs a[data-view=holdings]")
        expect(page.locator("#hold-table tbody tr")).to_have_count(4)
        assert _total(page, "hold", "held") == "550,000.00 CNY"
        assert _total(page, "hold", "active") == "530,000.00 CNY"
        assert _total(page, "hold", "pending") == "20,000.00 CNY"
        expect(page.locator("#hold-table tfoot")).to_contain_text("550,000.00 CNY")

        # The supplier sees the issuance only as far as it leads to what it holds or held.
        page.click("#tabs a[data-view=provenance]")
        expect(page.locator("#prov-result")).to_be_hidden()  # nothing left from the previous member
        page.fill("#search-id", str(root["id"]))
        page.click("#search-form button[type=submit]")
        expect(nodes).to_have_count(len(expected_amounts) - 1)
        expect(page.locator(f'#tree g.node[data-id="{kept1["id"]}"]')).to_have_count(0)
        expect(page.locator("#tree g.ghost > text")).to_have_text("1 part not shown")
        expect(page.locator("#prov-partial")).to_contain_text("400,000.00 CNY")
        page.screenshot(path=str(ARTIFACTS / "explorer-holdings.png"), full_page=True)

        # The key never went into a URL, the page's markup or a cookie, and nothing failed.
        html = page.content()
        for key in keys:
            assert all(key not in url for url in requested)
            assert key not in html
        assert context.cookies() == []
        assert problems == []
    finally:
        context.close()
