"""The API documentation pages, in a real headless Chromium, with nothing but the gateway reachable.

Every request the page makes to another host is refused and recorded, as on a machine
without internet: the pages must load Swagger UI and ReDoc from the gateway itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from tests.api.conftest import PROJECT_ROOT, GatewayProcess

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
REDOC_LOGO = "'https://cdn.redoc.ly/redoc/logo-mini.svg' violates the following Content Security Policy directive"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's Chromium is not installed at /usr/bin/chromium (as root, `make install` installs it)",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class OfflinePage:
    """A page that may reach the gateway only; what it tried elsewhere and every error it logged are kept."""

    def __init__(self, browser: Browser, gateway: GatewayProcess) -> None:
        self.origin = urlsplit(gateway.base_url).netloc
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page: Page = self.context.new_page()
        self.elsewhere: list[str] = []
        self.errors: list[str] = []
        self.page.route("**/*", self._only_the_gateway)
        self.page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _only_the_gateway(self, route: Route) -> None:
        url = route.request.url
        if urlsplit(url).netloc == self.origin or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.elsewhere.append(url)
            route.abort("internetdisconnected")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def offline(browser: Browser, gateway: GatewayProcess) -> Iterator[OfflinePage]:
    page = OfflinePage(browser, gateway)
    try:
        yield page
    finally:
        page.close()


def _operations(gateway: GatewayProcess) -> list[tuple[str, str, str]]:
    schema = httpx.get(f"{gateway.base_url}/openapi.json").json()
    return [
        (method.upper(), path, operation["summary"])
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]


def test_swagger_ui_lists_every_operation_without_the_internet(
    gateway: GatewayProcess, offline: OfflinePage, operator_key: str
) -> None:
    operations = _operations(gateway)
    page = offline.page
    page.goto(f"{gateway.base_url}/docs")

    blocks = page.locator(".opblock")
    expect(blocks).to_have_count(len(operations), timeout=20_000)
    transfer = page.locator(".opblock", has=page.locator('[data-path="/v1/certificates/{certificate_id}/transfer"]'))
    expect(transfer.locator(".opblock-summary-method")).to_have_text("POST")
    expect(page.locator(".btn.authorize")).to_be_visible()  # the bearer scheme, so a person can try requests
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs-swagger-ui.png"))

    # A person can sign in with a key and try a request, under the page's policy.
    page.click(".btn.authorize")
    page.fill("input[aria-label=auth-bearer-value]", operator_key)
    page.click(".auth-btn-wrapper button.authorize")
    page.click(".btn-done")
    me = page.locator(".opblock", has=page.locator('[data-path="/v1/me"]'))
    me.locator(".opblock-summary-control").click()
    me.locator(".try-out__btn").click()
    me.locator(".btn.execute").click()
    expect(me.locator(".live-responses-table tbody .response-col_status").first).to_have_text("200")
    expect(me.locator(".live-responses-table .microlight").first).to_contain_text('"role": "operator"')

    assert offline.elsewhere == []
    assert offline.errors == []


def test_redoc_lists_the_operations_without_the_internet(gateway: GatewayProcess, offline: OfflinePage) -> None:
    operations = _operations(gateway)
    page = offline.page
    page.goto(f"{gateway.base_url}/redoc")

    expect(page.locator("h1", has_text="scf-chain gateway")).to_be_visible(timeout=20_000)
    for _, _, summary in operations[:3] + operations[-3:]:
        expect(page.locator("h2", has_text=summary).first).to_be_attached()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs-redoc.png"))

    assert offline.elsewhere == []
    # ReDoc's credit line in the sidebar shows its logo from its CDN, and nothing turns that off: the page's
    # policy refuses it (the image then hides itself), which Chromium reports. Nothing else may fail.
    assert [error for error in offline.errors if REDOC_LOGO not in error] == []


def test_docs_pages_forbid_scripts_from_elsewhere(gateway: GatewayProcess) -> None:
    for path in ("/docs", "/redoc"):
        response = httpx.get(f"{gateway.base_url}{path}")
        assert response.status_code == 200, path
        policy = {
            directive.split()[0]: directive.split()[1:]
            for directive in response.headers["content-security-policy"].split("; ")
        }
        assert policy["script-src"] == ["'self'"], path
        assert policy["default-src"] == ["'none'"], path
        assert policy["frame-ancestors"] == ["'none'"], path
