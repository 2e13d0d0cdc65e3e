"""The explorer page, in a real headless Chromium, against the real gateway on Anvil.

Chromium is Debian's (``make install`` installs it when run as root); Playwright only
drives it. Screenshots go to ``test-artifacts/`` for a person to look at.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from scf_chain.runtime import open_runtime
from scf_chain.settings import Settings
from tests.api.conftest import (
    PROJECT_ROOT,
    Api,
    ApiMember,
    GatewayProcess,
    maturity_in,
    new_document_hash,
    new_invoice_number,
)

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


# Large trees, built through the library on the gateway's own chain (the gateway keeps every member's key in
# its key store), then read through the gateway like any client.

READY_TIMEOUT = 300.0
# The page's own figure: from the provenance request to the tree drawn.
RENDERED = "#graph-scroll[data-rendered-id]"


class TreeBuilder:
    """Issues certificates and splits them as wide and as deep as asked, handing parts round the suppliers."""

    def __init__(self, gateway: GatewayProcess, operator_api: Api, core: ApiMember, suppliers: list[ApiMember]):
        settings = Settings(data_dir=gateway.data_dir, rpc_url=gateway.env["SCF_RPC_URL"], dev_mode=True)
        self.runtime = open_runtime(settings)
        self.gateway = gateway
        self.core = core
        self.suppliers = suppliers
        ledger_date = date.fromisoformat(core.api.get("/v1/me").json()["ledger_date"])
        self.maturity = ledger_date + timedelta(days=90)
        self.count = 0

    def account(self, member: ApiMember) -> Any:
        return self.runtime.keystore.account(member.address)

    def issue(self, holder: ApiMember, face: Decimal) -> int:
        ledger = self.runtime.ledger
        certificate_id = ledger.issue(
            self.account(self.core),
            holder.address,
            face,
            self.maturity,
            new_document_hash(),
            invoice_number=new_invoice_number(),
        ).certificate_id
        ledger.accept(self.account(holder), certificate_id)
        self.count += 1
        return certificate_id

    def split(self, holder: ApiMember, certificate_id: int, face: Decimal, receivers: list[ApiMember]) -> list[int]:
        """Equal parts, one to each receiver (the last takes the rounding)."""
        share = (face / len(receivers)).quantize(Decimal("0.01"))
        amounts = [share] * (len(receivers) - 1) + [face - share * (len(receivers) - 1)]
        plan: list[tuple[str, Decimal | str]] = [(r.address, a) for r, a in zip(receivers, amounts, strict=True)]
        ids = list(self.runtime.ledger.split(self.account(holder), certificate_id, plan).certificate_ids)
        self.count += len(ids)
        return ids

    def others(self, holder: ApiMember, count: int) -> list[ApiMember]:
        """``count`` receivers taken in turn from the suppliers other than ``holder``."""
        pool = [s for s in self.suppliers if s.address != holder.address]
        return [pool[i % len(pool)] for i in range(count)]

    def two_levels(self, holder: ApiMember, first: int, second: int, *, first_to: list[ApiMember] | None = None) -> int:
        """An issuance split into ``first`` parts, each split into ``second``: 1 + first + first * second."""
        face = Decimal(first * second * 1000)
        root = self.issue(holder, face)
        owners = first_to or self.others(holder, first)
        parts = self.split(holder, root, face, owners)
        for part, owner in zip(parts, owners, strict=True):
            self.split(owner, part, face / first, self.others(owner, second))
        return root

    def wait_indexed(self) -> None:
        head = self.runtime.w3.eth.block_number
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            body = httpx.get(f"{self.gateway.base_url}/readyz", timeout=10).json()
            if body.get("indexed_block", -1) >= head:
                return
            time.sleep(0.2)
        raise AssertionError("the gateway did not index the trees in time")


@dataclass
class Trees:
    core: ApiMember
    partial_viewer: ApiMember
    auditor: ApiMember
    builder: TreeBuilder
    ten: int
    seventeen: int
    two_hundred_twenty_five: int
    path_leaf: int
    invoice_root: int
    invoice_number: str


@pytest.fixture(scope="module")
def trees(gateway: GatewayProcess, operator_api: Api) -> Trees:
    def member(role: str, name: str) -> ApiMember:
        response = operator_api.post("/v1/members", {"name": name, "role": role})
        assert response.status_code == 201, response.text
        body = response.json()
        return ApiMember(body["address"], name, role, Api(gateway.base_url, body["api_key"]))

    tag = time.time_ns() % 10**8
    core = member("core_enterprise", f"Tree Motors {tag}")
    suppliers = [member("supplier", f"Tree Supplier {tag}-{n}") for n in range(4)]
    auditor = member("auditor", f"Tree Audit {tag}")
    assert operator_api.put(f"/v1/credit-lines/{core.address}", {"limit": "100000000000.00"}).status_code == 200
    builder = TreeBuilder(gateway, operator_api, core, suppliers)
    first, viewer, second, third = suppliers

    # 10: the root in 3 parts, two of them in 3 again.
    ten = builder.issue(first, Decimal("9000.00"))
    parts = builder.split(first, ten, Decimal("9000.00"), [viewer, second, third])
    builder.split(viewer, parts[0], Decimal("3000.00"), [second, third, first])
    builder.split(second, parts[1], Decimal("3000.00"), [viewer, third, first])
    # 17: the root in 16 parts.
    seventeen = builder.issue(first, Decimal("16000.00"))
    builder.split(first, seventeen, Decimal("16000.00"), builder.others(first, 16))
    # 225: the root in 14 parts, each in 15; the viewer holds 4 of the 14 and none of the others' parts,
    # so that its view of the root is partial.
    others = [second, third]
    first_to = [viewer if n % 4 == 0 else others[n % 2] for n in range(14)]
    face = Decimal(14 * 15 * 1000)
    two_hundred_twenty_five = builder.issue(first, face)
    for part, owner in zip(builder.split(first, two_hundred_twenty_five, face, first_to), first_to, strict=True):
        pool = [first, third] if owner is second else [first, second]
        builder.split(owner, part, face / 14, [pool[i % 2] for i in range(15)])
    # A path of 10 certificates: each split passes a part on down the chain.
    cursor = builder.issue(first, Decimal("512000.00"))
    holder, amount = first, Decimal("512000.00")
    for step in range(9):
        receivers = builder.others(holder, 2)
        cursor = builder.split(holder, cursor, amount, receivers)[step % 2]
        holder, amount = receivers[step % 2], amount / 2
    # One issuance with an invoice number, through the API, for the auditor's search.
    invoice_number = f"INV-TREE-{tag}"
    issued = core.api.post(
        "/v1/certificates",
        {
            "to": first.address,
            "amount": "12500.00",
            "maturity_date": builder.maturity.isoformat(),
            "document_hash": new_document_hash(),
            "invoice_number": invoice_number,
        },
    )
    invoice_root = _certificates(issued)[0]["id"]
    builder.wait_indexed()
    return Trees(
        core, viewer, auditor, builder, ten, seventeen, two_hundred_twenty_five, cursor, invoice_root, invoice_number
    )


# What the page shows of the selected certificate: its box against the graph panel and the window, the size
# its labels are drawn at on screen, how many SVG elements the tree has, and the page's own render time.
GEOMETRY = """() => {
  const rect = (r) => ({left: r.left, top: r.top, right: r.right, bottom: r.bottom});
  const frame = document.getElementById('graph-scroll');
  const selected = document.querySelector('#tree g.node.node-selected');
  const px = (text) => parseFloat(getComputedStyle(text).fontSize) * text.getScreenCTM().a;
  return {
    frame: rect(frame.getBoundingClientRect()),
    window: {left: 0, top: 0, right: innerWidth, bottom: innerHeight},
    selected: selected ? rect(selected.querySelector('.node-box').getBoundingClientRect()) : null,
    selectedId: selected ? Number(selected.dataset.id) : null,
    labelPx: selected ? Math.max(...[...selected.querySelectorAll('text')].map(px)) : 0,
    smallestLabelPx: selected ? Math.min(...[...selected.querySelectorAll('text')].map(px)) : 0,
    elements: document.querySelectorAll('#tree *').length,
    renderMs: Number(frame.dataset.renderMs || 'NaN'),
  };
}"""


def _inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        inner["left"] >= outer["left"] - 0.5
        and inner["top"] >= outer["top"] - 0.5
        and inner["right"] <= outer["right"] + 0.5
        and inner["bottom"] <= outer["bottom"] + 0.5
    )


def _open_tree(page: Page, certificate_id: int, label: str) -> dict[str, Any]:
    """Traces ``certificate_id`` from the search box; the geometry once the tree is drawn."""
    started = time.perf_counter()
    page.fill("#search-id", str(certificate_id))
    page.click("#search-form button[type=submit]")
    page.wait_for_selector(f'#graph-scroll[data-rendered-id="{certificate_id}"]', state="attached", timeout=60_000)
    waited = time.perf_counter() - started
    page.locator("#graph-scroll").scroll_into_view_if_needed()
    geometry: dict[str, Any] = page.evaluate(GEOMETRY)
    print(
        f"\n{label}: rendered in {geometry['renderMs']:.0f} ms by the page's clock "
        f"({1000 * waited:.0f} ms from the click, as the test saw it), {geometry['elements']} SVG elements"
    )
    page.screenshot(path=str(ARTIFACTS / f"explorer-tree-{label}.png"))
    return geometry


def _assert_readable(geometry: dict[str, Any], certificate_id: int) -> None:
    assert geometry["selectedId"] == certificate_id
    assert geometry["selected"] is not None
    assert _inside(geometry["selected"], geometry["frame"]), geometry
    assert _inside(geometry["selected"], geometry["window"]), geometry
    assert geometry["labelPx"] >= 10, geometry
    assert geometry["smallestLabelPx"] >= 10, geometry
    assert geometry["renderMs"] < 2000, geometry


def _pan_into_view(page: Page, target: Any) -> None:
    """Drags the tree's background so that ``target`` comes to the middle of the panel, as a person would."""
    frame = page.evaluate(GEOMETRY)["frame"]
    box = target.bounding_box()
    start = (frame["left"] + 12, frame["bottom"] - 12)
    dx = (frame["left"] + frame["right"]) / 2 - (box["x"] + box["width"] / 2)
    dy = (frame["top"] + frame["bottom"]) / 2 - (box["y"] + box["height"] / 2)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + dx, start[1] + dy, steps=5)
    page.mouse.up()


def _no_null(page: Page) -> None:
    assert not re.search(r"\bnull\b|\bundefined\b|NaN", page.locator("#main").inner_text())


@pytest.fixture
def tree_page(browser: Browser, gateway: GatewayProcess) -> Iterator[Callable[..., Page]]:
    contexts: list[Any] = []
    problems: list[str] = []

    def open_page(api: Api, *, width: int = 1440, height: int = 1000) -> Page:
        ARTIFACTS.mkdir(exist_ok=True)
        context = browser.new_context(viewport={"width": width, "height": height}, base_url=gateway.base_url)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto("/explorer")
        key = api.client.headers["Authorization"].removeprefix("Bearer ")
        page.fill("#api-key", key)
        page.click("#signin-submit")
        expect(page.locator("#tabs")).to_be_visible()
        return page

    try:
        yield open_page
        assert problems == []
    finally:
        for context in contexts:
            context.close()


def test_small_and_medium_trees_show_the_selected_certificate_centred_and_readable(
    trees: Trees, tree_page: Callable[..., Page]
) -> None:
    page = tree_page(trees.core.api)
    for certificate_id, label, count in (
        (trees.ten, "10", 10),
        (trees.two_hundred_twenty_five, "225", 225),
    ):
        geometry = _open_tree(page, certificate_id, label)
        _assert_readable(geometry, certificate_id)
        expect(page.locator("#prov-totals [data-total=node_count] .total-value")).to_have_text(str(count))
        _no_null(page)

    # A summary node stands for a collapsed subtree, with its count and total; a click opens it.
    owner = page.evaluate(
        """() => {
          const frame = document.getElementById('graph-scroll').getBoundingClientRect();
          const inside = (r) => r.top >= frame.top && r.bottom <= frame.bottom && r.right <= frame.right;
          const shown = [...document.querySelectorAll('#tree g.summary')].filter(
            (g) => inside(g.getBoundingClientRect()));
          return shown.length ? shown[0].dataset.owner : null;
        }"""
    )
    summary = page.locator(f'#tree g.summary[data-owner="{owner}"]')
    expect(summary).to_contain_text("15 certificates")
    expect(summary).to_contain_text("15,000.00 CNY")
    before = page.locator("#tree g.node").count()
    summary.click()
    expect(page.locator("#tree g.node")).to_have_count(before + 15)

    # "Fit" never shrinks the labels below a readable size; the buttons and the wheel zoom, a drag pans.
    page.click("#zoom-fit")
    fitted = page.evaluate(GEOMETRY)
    assert fitted["smallestLabelPx"] >= 10
    page.click("#zoom-in")
    assert page.evaluate(GEOMETRY)["labelPx"] > fitted["labelPx"]
    page.click("#zoom-fit")
    frame = fitted["frame"]
    page.mouse.move(frame["left"] + 12, frame["bottom"] - 12)
    page.mouse.wheel(0, 300)
    assert page.evaluate(GEOMETRY)["labelPx"] < fitted["labelPx"]
    page.click("#zoom-fit")
    before = page.evaluate(GEOMETRY)["selected"]
    page.mouse.move(frame["left"] + 12, frame["bottom"] - 12)
    page.mouse.down()
    page.mouse.move(frame["left"] + 72, frame["bottom"] - 52, steps=4)
    page.mouse.up()
    after = page.evaluate(GEOMETRY)["selected"]
    assert (round(after["left"] - before["left"]), round(after["top"] - before["top"])) == (60, -40)

    # A path of 10 certificates: the selected one, at the end of it, is in sight.
    geometry = _open_tree(page, trees.path_leaf, "path-of-10")
    _assert_readable(geometry, trees.path_leaf)
    expect(page.locator("#tree g.node.node-ancestor")).to_have_count(9)

    # 17 certificates in a window 1024 px wide.
    narrow = tree_page(trees.core.api, width=1024, height=900)
    geometry = _open_tree(narrow, trees.seventeen, "17-at-1024px")
    _assert_readable(geometry, trees.seventeen)
    expect(narrow.locator("#tree g.node")).to_have_count(17)

    # A supplier's partial view of the 225: its four branches, the other ten as one placeholder.
    partial = tree_page(trees.partial_viewer.api)
    geometry = _open_tree(partial, trees.two_hundred_twenty_five, "225-partial")
    _assert_readable(geometry, trees.two_hundred_twenty_five)
    expect(partial.locator("#prov-totals [data-total=node_count] .total-value")).to_have_text(str(1 + 4 + 4 * 15))
    expect(partial.locator("#tree g.ghost")).to_contain_text("10 parts not shown")
    _no_null(partial)


def test_the_explorer_counts_days_from_the_ledgers_date_not_the_browsers_clock(
    trees: Trees, tree_page: Callable[..., Page]
) -> None:
    page = tree_page(trees.core.api)
    # The browser's clock is a year and more ahead of the ledger's.
    page.clock.set_fixed_time(datetime(trees.builder.maturity.year + 2, 1, 1, tzinfo=UTC))
    _open_tree(page, trees.ten, "clock")
    expect(page.locator("#prov-issuance")).to_contain_text("in 90 d")


def test_auditors_search_issuances_by_invoice_number_or_obligor_instead_of_holdings(
    trees: Trees, tree_page: Callable[..., Page]
) -> None:
    # The list route filters by the issuance's invoice number, and to issuances only.
    listed = trees.auditor.api.get(
        "/v1/certificates", params={"invoice_number": trees.invoice_number, "issuances_only": "true"}
    )
    assert listed.status_code == 200, listed.text
    assert [item["id"] for item in listed.json()["items"]] == [trees.invoice_root]
    own = trees.auditor.api.get(
        "/v1/certificates", params={"obligor": trees.core.address, "issuances_only": "true", "limit": 500}
    ).json()["items"]
    assert {item["parent_id"] for item in own} == {None}
    assert {trees.ten, trees.seventeen, trees.two_hundred_twenty_five, trees.invoice_root} <= {i["id"] for i in own}

    page = tree_page(trees.auditor.api)
    expect(page.locator("#tabs a[data-view=holdings]")).to_be_hidden()
    page.click("#tabs a[data-view=search]")
    page.fill("#find-invoice", trees.invoice_number)
    page.click("#find-form button[type=submit]")
    expect(page.locator("#find-table tbody tr")).to_have_count(1)
    expect(page.locator("#find-table tbody tr")).to_contain_text("12,500.00 CNY")
    page.select_option("#find-obligor", trees.core.address)
    page.fill("#find-invoice", "")
    page.click("#find-form button[type=submit]")
    expect(page.locator(f'#find-table tbody tr[data-id="{trees.two_hundred_twenty_five}"]')).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / "explorer-search.png"), full_page=True)
    page.locator(f'#find-table tbody tr[data-id="{trees.invoice_root}"] a').click()
    page.wait_for_selector(f'#graph-scroll[data-rendered-id="{trees.invoice_root}"]', state="attached")
    _no_null(page)


def test_status_colours_are_the_same_in_the_explorer_and_the_svg_export(
    trees: Trees, tree_page: Callable[..., Page]
) -> None:
    page = tree_page(trees.core.api)
    _open_tree(page, trees.ten, "colours")
    shown = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('#tree g.node')].map((g) => [g.dataset.status, {
             stroke: getComputedStyle(g.querySelector('.node-stripe')).fill,
             fill: getComputedStyle(g.querySelector('.node-box')).fill}]))"""
    )
    exported = trees.core.api.get(f"/v1/certificates/{trees.ten}/provenance", params={"format": "svg"}).text
    assert set(shown) == {"split", "active"}
    for status, colours in shown.items():
        match = re.search(
            rf'<g [^>]*data-status="{status}"[^>]*><title>[^<]*</title><rect [^>]*fill="(#\w+)" stroke="(#\w+)"',
            exported,
        )
        assert match is not None, status
        assert _rgb(match[1]) == colours["fill"] and _rgb(match[2]) == colours["stroke"], (
            status,
            colours,
            match.groups(),
        )


def _rgb(hex_colour: str) -> str:
    value = hex_colour.lstrip("#")
    return "rgb({}, {}, {})".format(*(int(value[i : i + 2], 16) for i in (0, 2, 4)))


def test_a_tree_of_ten_thousand_certificates_renders_its_neighbourhood_in_under_two_seconds(
    trees: Trees, tree_page: Callable[..., Page]
) -> None:
    builder = trees.builder
    started = time.perf_counter()
    holder = builder.suppliers[0]
    root = builder.two_levels(holder, 99, 100)
    builder.wait_indexed()
    print(f"\nthe 10,000-certificate tree written and indexed in {time.perf_counter() - started:.1f} s")
    body = trees.core.api.get(f"/v1/certificates/{root}/provenance").json()
    assert body["totals"]["node_count"] == 10_000

    page = tree_page(trees.core.api)
    geometry = _open_tree(page, root, "10000")
    _assert_readable(geometry, root)
    # Only the neighbourhood is drawn: the root, some of its 99 parts, the rest as summaries.
    assert geometry["elements"] < 2_000
    assert page.locator("#prov-table tbody tr").count() <= 200
    # The 87 parts past the first 12 stand as one box; a click on it shows 12 more of them.
    run = page.locator(f'#tree g.summary[data-owner="{root}"]')
    expect(run).to_contain_text("87 more parts")
    expect(run).to_contain_text("8,787 certificates")  # the 87 parts and their 8,700
    expect(run).to_contain_text("8,700,000.00 CNY")
    shown = page.locator("#tree g.node").count()
    _pan_into_view(page, run)
    run.click()
    expect(page.locator("#tree g.node")).to_have_count(shown + 12)
    expect(page.locator(f'#tree g.summary[data-owner="{root}"]')).to_contain_text("75 more parts")

    # A certificate deep in the tree, found by its id within the tree, is brought to the centre.
    leaf = body["tree"]["children"][57]["children"][63]["id"]
    started = time.perf_counter()
    page.fill("#tree-find", str(leaf))
    page.press("#tree-find", "Enter")
    page.wait_for_selector(f'#tree g.node.node-selected[data-id="{leaf}"]', state="attached")
    geometry = page.evaluate(GEOMETRY)
    print(f"found #{leaf} in the tree in {1000 * (time.perf_counter() - started):.0f} ms")
    assert _inside(geometry["selected"], geometry["frame"]) and geometry["smallestLabelPx"] >= 10, geometry
    expect(page.locator("#detail-body [data-field=id]")).to_have_text(f"#{leaf}")
    page.screenshot(path=str(ARTIFACTS / "explorer-tree-10000-found.png"))
    _no_null(page)
