"""The API documentation pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served whole by the gateway.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so they are blank on a machine
without internet. These pages load the same tools from the npm packages ``swagger-ui-dist``
and ``redoc`` (pinned in ``package.json``), and only the files named below are served.
The Content-Security-Policy allows scripts from this origin only; styles may be inline
because both tools set them from script, and ReDoc runs its search in a worker.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from api.render.problems import Problem, not_found

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = PROJECT_ROOT / "node_modules"
PAGES = Path(__file__).resolve().parent.parent / "static" / "docs"

ASSETS: dict[str, Path] = {
    "swagger-ui-bundle.js": NODE_MODULES / "swagger-ui-dist" / "swagger-ui-bundle.js",
    "swagger-ui.css": NODE_MODULES / "swagger-ui-dist" / "swagger-ui.css",
    "favicon-32x32.png": NODE_MODULES / "swagger-ui-dist" / "favicon-32x32.png",
    "redoc.standalone.js": NODE_MODULES / "redoc" / "bundles" / "redoc.standalone.js",
    "swagger-init.js": PAGES / "swagger-init.js",
    "docs.css": PAGES / "docs.css",
}

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src blob:",
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
}

router = APIRouter(include_in_schema=False)


def _secured(response: Response, *, cache: str) -> Response:
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = cache
    return response


def _page(name: str) -> Response:
    missing = [path.name for path in ASSETS.values() if not path.is_file()]
    if missing:
        # Rather than a blank page: say what is missing and how to install it.
        raise Problem(
            503,
            "docs_assets_missing",
            f"The documentation's assets are not installed ({', '.join(missing)}); run npm ci.",
        )
    return _secured(FileResponse(PAGES / name, media_type="text/html; charset=utf-8"), cache="no-store")


@router.get("/docs")
def swagger_ui_page() -> Response:
    return _page("swagger.html")


@router.get("/redoc")
def redoc_page() -> Response:
    return _page("redoc.html")


@router.get("/docs/assets/{name}")
def docs_asset(name: str) -> Response:
    path = ASSETS.get(name)
    if path is None or not path.is_file():
        raise not_found("documentation asset")
    return _secured(FileResponse(path), cache="no-cache")
