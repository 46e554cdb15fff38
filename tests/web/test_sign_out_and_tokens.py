"""Signing out ends the session on the server; API tokens expire, are listed and revoked
through the API and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from test_pages import form_token
from typer.testing import CliRunner

from vidonate.accounts.tokens import token_for_secret
from vidonate.accounts.users import create_user, issue_token
from vidonate.cli import app as cli_app
from vidonate.db.engine import transaction
from vidonate.db.models import ApiToken, WebSession, utcnow
from vidonate.server import BackgroundServer
from vidonate.web.app import create_app
from world import World

runner = CliRunner()


def _sign_in(client: TestClient, username: str = "alice") -> str:
    """Sign in through the page; returns the session cookie the browser now holds."""
    form = {
        "username": username,
        "password": f"{username}-password",
        "csrf_token": form_token(client),
    }
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303
    return client.cookies["vidonate_session"]


def _sign_out(client: TestClient) -> None:
    token = form_token(client, "/donations")
    r = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303


def test_a_session_cookie_kept_from_before_sign_out_signs_nobody_in(client: TestClient) -> None:
    cookie = _sign_in(client)
    assert client.get("/api/v1/me").json()["username"] == "alice"
    _sign_out(client)
    client.cookies.set("vidonate_session", cookie)  # the copy an attacker kept
    assert client.get("/api/v1/me").status_code == 401
    r = client.get("/donations", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login")


def test_signing_out_ends_only_that_browsers_session(world: World) -> None:
    app = create_app(world.rt, run_worker=False)
    with TestClient(app) as laptop, TestClient(app) as phone:
        _sign_in(laptop)
        _sign_in(phone)
        _sign_out(laptop)
        assert laptop.get("/api/v1/me").status_code == 401
        assert phone.get("/api/v1/me").json()["username"] == "alice"


def test_a_session_past_its_lifetime_sends_the_browser_to_sign_in(
    client: TestClient, world: World
) -> None:
    _sign_in(client)
    with transaction(world.rt.sessions) as s:
        s.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    r = client.get("/donations", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login")


def _login(client: TestClient, username: str = "alice", name: str = "cli") -> dict:  # type: ignore[type-arg]
    body = {"username": username, "password": f"{username}-password", "name": name}
    r = client.post("/api/v1/auth/token", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_the_sign_in_response_says_when_the_token_expires(client: TestClient, world: World) -> None:
    before = datetime.now(UTC)
    issued = _login(client)
    expires = datetime.fromisoformat(issued["expires_at"])
    assert before + timedelta(days=90) <= expires <= datetime.now(UTC) + timedelta(days=90)
    world.rt.settings.api_token_lifetime_days = 7
    expires = datetime.fromisoformat(_login(client)["expires_at"])
    assert expires <= datetime.now(UTC) + timedelta(days=7)


def test_an_expired_token_is_refused_with_its_own_reason(client: TestClient, world: World) -> None:
    issued = _login(client)
    with transaction(world.rt.sessions) as s:
        s.execute(
            update(ApiToken)
            .where(ApiToken.id == issued["token_id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {issued['token']}"})
    assert (r.status_code, r.json()["error"]["code"]) == (401, "token_expired")


def test_a_user_lists_their_tokens_and_revokes_one(client: TestClient, world: World) -> None:
    laptop, phone = _login(client, name="laptop"), _login(client, name="phone")
    as_laptop = {"Authorization": f"Bearer {laptop['token']}"}
    listed = client.get("/api/v1/me/tokens", headers=as_laptop).json()
    mine = {t["name"]: t for t in listed}
    assert {"laptop", "phone"} <= mine.keys()
    assert (mine["laptop"]["current"], mine["phone"]["current"]) == (True, False)
    assert all("token" not in t and "token_sha256" not in t for t in listed), "no secrets"

    r = client.delete(f"/api/v1/me/tokens/{phone['token_id']}", headers=as_laptop)
    assert r.status_code == 204
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {phone['token']}"})
    assert (r.status_code, r.json()["error"]["code"]) == (401, "bad_token")
    names = [t["name"] for t in client.get("/api/v1/me/tokens", headers=as_laptop).json()]
    assert "phone" not in names and "laptop" in names

    again = client.delete(f"/api/v1/me/tokens/{phone['token_id']}", headers=as_laptop)
    assert (again.status_code, again.json()["error"]["code"]) == (404, "unknown_token")


def test_an_auditor_revokes_their_own_token_which_signs_that_client_out(
    client: TestClient, world: World
) -> None:
    with transaction(world.rt.sessions) as s:
        create_user(s, "aude", "aude-password", ["auditor"], "aude-h")
    issued = _login(client, "aude")
    aude = {"Authorization": f"Bearer {issued['token']}"}
    assert client.delete(f"/api/v1/me/tokens/{issued['token_id']}", headers=aude).status_code == 204
    assert client.get("/api/v1/me", headers=aude).status_code == 401


def test_the_cli_lists_and_revokes_tokens(world: World, cli_env: Path) -> None:
    with transaction(world.rt.sessions) as s:
        extra = token_for_secret(s, issue_token(s, s.merge(world.alice), "old-laptop")).id
    with BackgroundServer(world.rt, run_worker=False) as server:
        r = runner.invoke(
            cli_app,
            [
                "login",
                "--username",
                "alice",
                "--password",
                "alice-password",
                "--server",
                server.url,
            ],
        )
        assert r.exit_code == 0, r.output
        listed = runner.invoke(cli_app, ["token", "list"])
        assert listed.exit_code == 0, listed.output
        assert "old-laptop" in listed.output and "this login" in listed.output
        revoked = runner.invoke(cli_app, ["token", "revoke", str(extra)])
        assert (revoked.exit_code, revoked.output.strip()) == (0, f"token {extra} is revoked")
        assert "old-laptop" not in runner.invoke(cli_app, ["token", "list"]).output
        again = runner.invoke(cli_app, ["token", "revoke", str(extra)])
        assert again.exit_code == 2 and "unknown_token" in again.output


@pytest.mark.parametrize("command", [["token", "list"], ["token", "revoke", "1"]])
def test_the_token_commands_need_a_login(cli_env: Path, command: list[str]) -> None:
    r = runner.invoke(cli_app, command)
    assert r.exit_code == 2 and "not signed in" in r.output
