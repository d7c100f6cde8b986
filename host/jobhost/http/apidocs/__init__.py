"""The API explorer at /schema: Swagger UI served by jobhost itself, so it works offline.

Litestar's Swagger plugin loads Swagger UI from a CDN and starts it with an inline script; this
one serves a vendored copy (swagger-ui-dist 5.35.0, Apache-2.0, in `assets/`, with its licence)
and starts it from `assets/init.js`, so the page needs no network and passes a CSP of 'self'.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from litestar import Request, Router
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.static_files import create_static_files_router

ASSETS = Path(__file__).parent / "assets"
ASSETS_PATH = "/schema/assets"
SPEC_PATH = "/schema/openapi.json"
SWAGGER_VERSION = "5.35.0"


class OfflineSwagger(OpenAPIRenderPlugin):
    """Swagger UI from `ASSETS_PATH`, reading the schema from `SPEC_PATH`."""

    def __init__(self, path: str = "/") -> None:
        super().__init__(path=path, favicon="", style="")

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = escape(str(openapi_schema["info"]["title"]))
        return (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{title} API</title>"
            f"<link rel='stylesheet' href='{ASSETS_PATH}/swagger-ui.css'>"
            f"<script src='{ASSETS_PATH}/swagger-ui-bundle.js' defer></script>"
            f"<script src='{ASSETS_PATH}/init.js' defer></script>"
            f"</head><body data-spec='{SPEC_PATH}'><div id='swagger-ui'></div></body></html>"
        ).encode()


def assets_router() -> Router:
    return create_static_files_router(ASSETS_PATH, directories=[ASSETS], include_in_schema=False)
