"""The API's own documentation at /docs: Swagger UI served from the package.

A privacy-first site loads nothing from third parties, and /docs must work offline:
Swagger UI's files are vendored under ``pages/static/swagger-ui/`` (its ``SOURCE`` says
which release, ``SHA256SUMS`` what each file hashes to) and served from here. ReDoc,
which FastAPI would load from a CDN, is off.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from vidonate.errors import NotFound

router = APIRouter(include_in_schema=False)
SWAGGER_UI_DIR = Path(__file__).parent / "pages" / "static" / "swagger-ui"
ASSETS_PATH = "/static/swagger-ui"
# The files the page loads, and their media types: nothing else there is served.
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "").rstrip("/")
    return get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} API",
        swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon-32x32.png",
        # Swagger UI would show a badge fetched from validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get(f"{ASSETS_PATH}/{{asset}}")
def swagger_ui_asset(asset: str) -> FileResponse:
    media_type = ASSETS.get(asset)
    if media_type is None:
        raise NotFound("unknown_asset", f"there is no {asset!r} here")
    return FileResponse(
        SWAGGER_UI_DIR / asset,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=86400"},
    )
