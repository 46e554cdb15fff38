"""Cross-site request forgery protection: a synchronizer token kept in the session.

The session cookie goes with every request a browser makes to vidonate, including
ones another site's page triggers. A state-changing request therefore counts only
if it also carries the session's secret token, which another site cannot read: in
the form field ``csrf_token`` (every ``<form method="post">`` renders it with the
Jinja global ``csrf_field()``) or in the ``X-CSRF-Token`` header.

Pages: every unsafe request needs the token, signing in included (else another
site could sign a visitor into an account it controls). API: only a request that
is authenticated by the session cookie needs it (``web/deps.py``); one with a
bearer token is not exposed, since browsers never add that header on their own.
"""

from __future__ import annotations

import secrets

from fastapi import Request
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from vidonate.errors import Forbidden

__all__ = [
    "FORM_FIELD",
    "FORM_TYPES",
    "HEADER",
    "SAFE_METHODS",
    "check_token",
    "csrf_field",
    "protect_pages",
    "session_token",
]

SESSION_KEY = "csrf"
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Forms whose route reads the body as a stream (the donate form: parsing it here would
# spool the clip to a temp file); the route checks the token, the form's first field,
# before it stores anything.
STREAMED_FORMS = frozenset({"/donate"})


def session_token(request: Request) -> str:
    """This session's token, created on first use. Signing in or out clears the session,
    so each signed-in session gets a fresh one."""
    token = request.session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_KEY] = token
    return token


def check_token(request: Request, given: str | None) -> None:
    """Refuse unless ``given`` is this session's token (compared in constant time)."""
    expected = request.session.get(SESSION_KEY) if "session" in request.scope else None
    if not (
        isinstance(expected, str)
        and expected
        and given
        and secrets.compare_digest(expected.encode(), given.encode())
    ):
        raise Forbidden(
            "csrf_failed",
            "this form is out of date or did not come from vidonate; reload the page and try again",
        )


async def protect_pages(request: Request) -> None:
    """App-wide dependency: an unsafe request to a page needs the session's token.

    It runs before the route's own dependencies and body, so a refused request changes
    nothing. FastAPI has already parsed a route's form, and ``request.form()`` returns
    that same parsed form here.
    """
    if request.method in SAFE_METHODS or request.url.path.startswith("/api/"):
        return
    given = request.headers.get(HEADER)
    content_type = request.headers.get("content-type", "")
    if not given and request.url.path in STREAMED_FORMS:
        return
    if not given and content_type.startswith(FORM_TYPES):
        value = (await request.form()).get(FORM_FIELD)
        given = value if isinstance(value, str) else None
    check_token(request, given)


@pass_context
def csrf_field(context: Context) -> Markup:
    """``{{ csrf_field() }}``: the hidden input every POST form carries."""
    token = session_token(context["request"])
    return Markup(f'<input type="hidden" name="{FORM_FIELD}" value="{escape(token)}">')
