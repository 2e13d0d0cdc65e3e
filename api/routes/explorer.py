"""The explorer: a browser page for members, served by the gateway at ``/explorer``.

The page is static (``api/static/explorer``: plain HTML, ES modules and a style
sheet, no third-party code) and reads the same JSON API as every other client, with
the member's API key in ``Authorization: Bearer``. The key lives in the tab's
sessionStorage only. Every explorer response carries a strict Content-Security-Policy:
scripts, styles and requests from this origin only, nothing inline, no frames.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "explorer"
ASSETS_PATH = "/explorer/assets"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}

router = APIRouter(include_in_schema=False)


def _secured(response: Response, *, cache: str) -> Response:
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = cache
    return response


@router.get("/explorer")
def explorer_page() -> Response:
    # The page itself is never cached, so that a new release's assets are picked up at once.
    return _secured(FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8"), cache="no-store")


@router.get("/explorer/")
def explorer_slash() -> Response:
    return _secured(RedirectResponse("/explorer", status_code=308), cache="no-store")


class ExplorerAssets(StaticFiles):
    """The page's script and style sheet, under the same security headers as the page."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        return _secured(response, cache="no-cache")


def mount_assets(app: FastAPI) -> None:
    app.mount(ASSETS_PATH, ExplorerAssets(directory=STATIC_DIR), name="explorer-assets")
