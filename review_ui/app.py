"""The review UI's app factory.

Example:
    >>> from pipeline.config import load_config
    >>> app = create_app(load_config("trafficcam.yaml"))
    >>> # uvicorn.run(app, host="127.0.0.1", port=8000)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Request
from fastapi import status as http_status
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.config import AppConfig
from pipeline.store.db import open_database
from review_ui.auth import SESSION_MAX_AGE_S, LoginRequired, Viewer, public_route
from review_ui.client_address import parse_networks
from review_ui.routes import (
    admin,
    api,
    api_cameras,
    api_history,
    cameras,
    evidence,
    history,
    login,
    notice,
    queue,
    signals,
    violations,
)
from review_ui.session_secret import session_secret
from review_ui.templating import STATIC_DIR, templates
from review_ui.transport import SecureTransport

SESSION_COOKIE = "trafficcam_session"
OPENAPI_PATH = "/openapi.json"
_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self'; media-src 'self'; style-src 'self'; "
    "script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class SecurityHeaders:
    """Headers that keep pages out of frames and caches and forbid foreign scripts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = {
                    b"x-content-type-options": b"nosniff",
                    b"x-frame-options": b"DENY",
                    b"referrer-policy": b"same-origin",
                }
                # Every page, without exception: no page loads scripts from elsewhere.
                extra[b"content-security-policy"] = _CONTENT_SECURITY_POLICY.encode()
                # Pages carry personal data; the back button after logout must not show them.
                if not path.startswith("/static/"):
                    extra[b"cache-control"] = b"no-store"
                headers.extend((k, v) for k, v in extra.items() if k not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def _login_required(request: Request, exc: Exception) -> Response:
    if _is_api(request):
        return JSONResponse({"detail": "Not logged in"}, status_code=401)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    # A form POST replayed after login would lose its body: send those back to the list.
    next_page = target if request.method == "GET" else login.HOME
    return RedirectResponse("/login?" + urlencode({"next": next_page}), status_code=302)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if _is_api(request) or request.method not in ("GET", "POST") or exc.status_code < 400:
        return await http_exception_handler(request, exc)
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status_code": exc.status_code, "detail": exc.detail},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def create_app(
    config: AppConfig, *, session_factory: sessionmaker[Session] | None = None
) -> FastAPI:
    """Build the review UI.

    Args:
        config: the application config; `database_url`, `evidence.path`, the
            `review` section and `kafka.topics.reviews` are used.
        session_factory: sessions on an already migrated database; when None the
            database at `config.database_url` is opened (and migrated) here, and
            its engine disposed when the app shuts down.

    Returns:
        The FastAPI app; serve it with uvicorn.
    """
    secret = session_secret(config)
    trusted_proxies = parse_networks(config.review.trusted_proxies)
    engine: Engine | None = None
    if session_factory is None:
        engine, session_factory = open_database(config.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if engine is not None:
            engine.dispose()

    app = FastAPI(
        title="Trafficcam review",
        summary="Review traffic violations and their evidence.",
        version="0.1.0",
        lifespan=lifespan,
        # Swagger UI and ReDoc load scripts from a CDN: not served. The OpenAPI
        # document is, to logged-in users, when review.api_docs is on (below).
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.config = config
    app.state.session_factory = session_factory
    app.state.trusted_proxies = trusted_proxies
    _add_middleware(app, config, secret)
    _add_routes(app)
    if config.review.api_docs:
        _add_openapi_document(app)
    _add_healthz(app, session_factory)
    return app


_ROUTERS = (
    login.router,
    violations.router,
    evidence.router,
    queue.router,
    notice.router,
    history.router,
    admin.router,
    cameras.router,
    api.router,
    api_history.router,
    api_cameras.router,
    signals.router,
)
"""Every page and API router, in the order they are matched."""


def _add_middleware(app: FastAPI, config: AppConfig, secret: str) -> None:
    """Security headers, the login session, transport checks and the error pages."""
    # Added last runs first: the session must exist before any route or handler.
    app.add_middleware(SecurityHeaders)
    # The cookie's own Max-Age is renewed whenever the session changes; the 8 hours
    # that count are checked from the issue time inside it (review_ui.auth).
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE_S,
        same_site="lax",
    )
    app.add_middleware(SecureTransport, mode=config.review.secure_cookies)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(StarletteHTTPException, _http_error)


def _add_routes(app: FastAPI) -> None:
    """The static files and every router."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in _ROUTERS:
        app.include_router(router)


def _add_openapi_document(app: FastAPI) -> None:
    """Serve the OpenAPI document, to logged-in users only."""

    @app.get(OPENAPI_PATH, include_in_schema=False)
    def openapi_document(_user: Viewer) -> JSONResponse:
        """The API's OpenAPI description, for logged-in users only."""
        return JSONResponse(app.openapi())


def _add_healthz(app: FastAPI, session_factory: sessionmaker[Session]) -> None:
    """`/healthz`: liveness and database reachability, without login."""

    @app.get("/healthz", tags=["health"], dependencies=[Depends(public_route)])
    def healthz() -> JSONResponse:
        """Liveness and database reachability; needs no login."""
        try:
            with session_factory() as db:
                db.execute(text("SELECT 1"))
        except Exception as exc:  # any driver error means "not healthy", never a 500 page
            return JSONResponse(
                {"status": "error", "database": type(exc).__name__},
                status_code=http_status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        return JSONResponse({"status": "ok", "database": "ok"})
