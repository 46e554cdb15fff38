"""CSRF: every state-changing form carries the session's token, and the server refuses
(403 ``csrf_failed``) and changes nothing when it is missing or wrong."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from test_pages import _sign_in, form_token

from vidonate.db.engine import transaction
from vidonate.db.models import Camera, ReviewVote, User
from vidonate.web.app import create_app
from world import World, assert_no_trace, row_counts

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "vidonate" / "web" / "pages" / "templates"


def _refused(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 403, response.text
    assert "csrf_failed" in response.text


def _count(world: World, column) -> int:  # type: ignore[no-untyped-def]
    with transaction(world.rt.sessions) as s:
        return s.scalar(select(func.count(column))) or 0


def _handle(world: World, name: str) -> str:
    with transaction(world.rt.sessions) as s:
        return s.scalar(select(User.handle).where(User.username == name)) or ""


def test_every_post_form_in_every_template_renders_the_token() -> None:
    forms = 0
    for template in sorted(TEMPLATES.glob("*.html")):
        for match in re.finditer(r"<form\b[^>]*>", template.read_text(), re.IGNORECASE):
            if re.search(r'method="?post', match.group(0), re.IGNORECASE):
                forms += 1
                rest = template.read_text()[match.end() :]
                body = rest[: rest.lower().find("</form>")]
                assert "{{ csrf_field() }}" in body, f"{template.name}: {match.group(0)}"
    assert forms >= 6


def test_pages_render_one_token_per_session_and_signing_in_replaces_it(
    client: TestClient, world: World
) -> None:
    anonymous = form_token(client)
    assert form_token(client) == anonymous, "the same session keeps its token"
    with TestClient(create_app(world.rt, run_worker=False)) as other:
        assert form_token(other) != anonymous, "another session has another token"
    _sign_in(client, "alice")
    signed_in = form_token(client, "/donate")
    assert signed_in != anonymous, "signing in starts a new session with a new token"
    assert form_token(client, "/leaderboard") == signed_in


@pytest.mark.parametrize("token", [None, "", "forged-token-of-the-right-kind-but-wrong-value"])
def test_a_form_post_without_the_sessions_token_is_refused_and_changes_nothing(
    client: TestClient, world: World, token: str | None
) -> None:
    clip = world.clip_in_review("alice")
    _sign_in(client, "ravi")  # a reviewer who donates too: every form applies to him
    extra = {} if token is None else {"csrf_token": token}
    cameras, votes = _count(world, Camera.id), _count(world, ReviewVote.id)
    before = row_counts(world.rt)
    _refused(client.post("/cameras", data={"label": "garage", "placement": "driveway", **extra}))
    _refused(
        client.post(
            "/donate",
            data={"campaign": world.campaign.slug, "category": "package_theft",
                  "camera": str(world.cameras["ravi"]), "consent": world.consent_sha256, **extra},
            files={"file": ("clip.mp4", b"\x00\x00\x00\x18ftypisom" + bytes(2000))},
        )
    )  # fmt: skip
    _refused(client.post(f"/review/{clip}", data={"decision": "accept", **extra}))
    _refused(client.post("/leaderboard", data={"handle": "forged-handle", **extra}))
    _refused(client.post("/logout", data=extra))
    assert (_count(world, Camera.id), _count(world, ReviewVote.id)) == (cameras, votes)
    assert_no_trace(world, before)
    assert _handle(world, "ravi") == "ravi-h"
    assert client.get("/api/v1/me").json()["username"] == "ravi", "still signed in"


def test_signing_in_needs_the_token_too(client: TestClient) -> None:
    # Else another site could sign a visitor into an account it controls and watch
    # what they upload.
    form = {"username": "alice", "password": "alice-password"}
    _refused(client.post("/login", data=form))
    _refused(client.post("/login", data={**form, "csrf_token": "guessed"}))
    assert client.get("/api/v1/me").status_code == 401
    form["csrf_token"] = form_token(client)
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303


def test_a_token_from_another_session_is_refused(client: TestClient, world: World) -> None:
    with TestClient(create_app(world.rt, run_worker=False)) as attacker:
        _sign_in(attacker, "bob")
        stolen_elsewhere = form_token(attacker, "/leaderboard")
    _sign_in(client, "alice")
    _refused(client.post("/leaderboard", data={"handle": "pwned", "csrf_token": stolen_elsewhere}))
    assert _handle(world, "alice") == "alice-h"


def test_the_token_is_accepted_from_the_form_field_or_the_header(
    client: TestClient, world: World
) -> None:
    _sign_in(client, "alice")
    token = form_token(client, "/leaderboard")
    r = client.post("/leaderboard", data={"handle": "by-field", "csrf_token": token},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and _handle(world, "alice") == "by-field"
    r = client.post("/leaderboard", data={"handle": "by-header"},
                    headers={"X-CSRF-Token": token}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and _handle(world, "alice") == "by-header"


def test_the_api_needs_the_token_when_the_session_cookie_is_the_credential(
    client: TestClient, world: World
) -> None:
    _sign_in(client, "alice")
    # Reads with the cookie work: the pages show thumbnails and videos that way.
    assert client.get("/api/v1/me").json()["username"] == "alice"
    r = client.patch("/api/v1/me", json={"handle": "cookie-only"})
    assert (r.status_code, r.json()["error"]["code"]) == (403, "csrf_failed")
    assert _handle(world, "alice") == "alice-h"
    token = form_token(client, "/leaderboard")
    r = client.patch("/api/v1/me", json={"handle": "with-token"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and _handle(world, "alice") == "with-token"


def test_a_bearer_token_needs_no_csrf_token(world: World) -> None:
    # Browsers never add an Authorization header on their own, so another site cannot
    # make one send it.
    with TestClient(create_app(world.rt, run_worker=False)) as client:
        bearer = {"Authorization": f"Bearer {world.tokens['alice']}"}
        r = client.patch("/api/v1/me", json={"handle": "bearer-set"}, headers=bearer)
        assert r.status_code == 200 and _handle(world, "alice") == "bearer-set"
        r = client.post("/api/v1/cameras", json={"label": "shed", "placement": "driveway"},
                        headers=bearer)  # fmt: skip
        assert r.status_code == 201
