"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from vidonate.errors import InvalidRequest, MethodNotAllowed, TooManyRequests, VidonateError
from vidonate.ingest.tus import TUS_VERSION
from vidonate.privacy.report_cache import ReportCache
from vidonate.runtime import Runtime
from vidonate.web import docs
from vidonate.web.clientip import TrustedProxies
from vidonate.web.deps import APP_DEPENDENCIES
from vidonate.web.headers import HeaderSizeLimit
from vidonate.web.ratelimit import RateLimits


def create_app(rt: Runtime, *, run_worker: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if run_worker:
            rt.start()
        try:
            yield
        finally:
            if run_worker:
                rt.jobs.stop()

    app = FastAPI(
        title="vidonate",
        summary="Open, privacy-first donation of security camera clips",
        version="0.1.0",
        lifespan=lifespan,
        # /docs is served from the package (web/docs.py); FastAPI's own pages load from CDNs.
        docs_url=None,
        redoc_url=None,
        # Rate limits and the CSRF check, before every route (web/deps.py, web/csrf.py).
        dependencies=[Depends(dependency) for dependency in APP_DEPENDENCIES],
    )
    app.state.runtime = rt
    app.state.rate_limits = RateLimits.from_settings(rt.settings)
    app.state.trusted_proxies = TrustedProxies.parse(rt.settings.trusted_proxies)
    app.state.report_cache = ReportCache(rt.settings.transparency_max_age_seconds)
    # The session cookie: signed, out of reach of scripts (HttpOnly), not sent with
    # cross-site subrequests or form posts (SameSite=Lax), and Secure behind https. It
    # holds the secret of a session kept on the server (accounts/sessions.py), which
    # signing out ends.
    app.add_middleware(
        SessionMiddleware,
        secret_key=rt.settings.ensure_secret_key(),
        session_cookie="vidonate_session",
        max_age=round(rt.settings.session_lifetime_days * 86400),
        same_site="lax",
        https_only=rt.settings.base_url.startswith("https://"),
    )
    # Added last, so it runs first: oversized headers are refused before anything reads them.
    app.add_middleware(HeaderSizeLimit, max_bytes=rt.settings.max_header_bytes)

    @app.exception_handler(VidonateError)
    async def _vidonate_error(request: Request, exc: VidonateError) -> Response:
        headers: dict[str, str] = {}
        if isinstance(exc, TooManyRequests):
            headers["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, MethodNotAllowed):
            headers["Allow"] = exc.allow
        if request.url.path.startswith("/api/"):
            if "/uploads" in request.url.path:
                headers["Tus-Resumable"] = TUS_VERSION
            return JSONResponse(
                {"error": {"code": exc.code, "message": exc.message}},
                status_code=exc.status_code,
                headers=headers,
            )
        from vidonate.web.pages.routes import render_error

        response = render_error(request, exc)
        response.headers.update(headers)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # A 405 is answered like every error (and on tus endpoints with Tus-Resumable).
        if exc.status_code == 405:
            allow = (exc.headers or {}).get("Allow", "")
            message = f"{request.method} is not allowed here; allowed: {allow}"
            return await _vidonate_error(
                request, MethodNotAllowed("method_not_allowed", message, allow)
            )
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        return await _vidonate_error(request, InvalidRequest("invalid_request", problems))

    from vidonate.web.api import api_router
    from vidonate.web.pages.review_intervals import router as review_intervals_router
    from vidonate.web.pages.rewards import router as rewards_pages_router
    from vidonate.web.pages.routes import router as pages_router
    from vidonate.web.pages.transparency import router as transparency_page_router

    app.include_router(api_router)
    app.include_router(docs.router)
    app.include_router(pages_router)
    app.include_router(rewards_pages_router)
    app.include_router(review_intervals_router)
    app.include_router(transparency_page_router)
    return app
