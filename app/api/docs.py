"""`/docs` (Swagger UI) and `/redoc` that work offline.

FastAPI's own pages load their JavaScript and CSS from a CDN; here the same pages load them
from this server, which serves the copies shipped in the `fastapi-offline` package (a
dependency; we use its static files, not its app factory).
"""

from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs-assets"
ASSETS_DIR = files("fastapi_offline") / "static"


def install(app: FastAPI, *, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Call with an app created with `docs_url=None, redoc_url=None`."""
    app.mount(ASSETS_URL, StaticFiles(directory=str(ASSETS_DIR)), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    def under_root(request: Request, **paths: str) -> dict[str, Any]:
        """The URLs a page loads, under the root path a proxy may mount the API at."""
        root = request.scope.get("root_path", "")
        return {name: f"{root}{path}" for name, path in paths.items()}

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            title=f"{app.title} - Swagger UI",
            # No badge from the public validator service: nothing leaves this server.
            swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None},
            **under_root(
                request,
                openapi_url=openapi_url,
                oauth2_redirect_url=oauth2_redirect_url,
                swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
                swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
            ),
        )

    @app.get(oauth2_redirect_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(redoc_url, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(
            title=f"{app.title} - ReDoc",
            # Google Fonts is a CDN too; the page falls back to the browser's fonts.
            with_google_fonts=False,
            **under_root(
                request,
                openapi_url=openapi_url,
                redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
                redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
            ),
        )
