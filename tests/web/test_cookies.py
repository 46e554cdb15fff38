"""The session cookie: signed, HttpOnly, SameSite=Lax, and Secure behind https."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from test_pages import form_token

from vidonate.web.app import create_app
from world import World


def _session_cookie_of_a_sign_in(world: World, base_url: str) -> dict[str, str]:
    """The attributes of the Set-Cookie header that signing in answers, lower-cased."""
    world.rt.settings.base_url = base_url
    with TestClient(create_app(world.rt, run_worker=False), base_url=base_url) as client:
        form = {"username": "alice", "password": "alice-password", "csrf_token": form_token(client)}
        r = client.post("/login", data=form, follow_redirects=False)
    assert r.status_code == 303
    (header,) = [h for h in r.headers.get_list("set-cookie") if h.startswith("vidonate_session=")]
    name_value, *attributes = (part.strip() for part in header.split(";"))
    parsed = {"value": name_value.split("=", 1)[1]}
    for attribute in attributes:
        key, _, value = attribute.partition("=")
        parsed[key.lower()] = value.lower()
    return parsed


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:8000", "https://vidonate.example"])
def test_the_session_cookie_is_out_of_reach_of_scripts_and_of_other_sites(
    world: World, base_url: str
) -> None:
    cookie = _session_cookie_of_a_sign_in(world, base_url)
    assert "httponly" in cookie
    assert cookie["samesite"] in {"lax", "strict"}
    assert cookie["path"] == "/"
    assert "alice" not in cookie["value"], "the cookie holds an id, not the username"


def test_the_session_cookie_is_secure_when_the_server_is_reached_over_https(
    world: World,
) -> None:
    assert "secure" in _session_cookie_of_a_sign_in(world, "https://vidonate.example")


def test_the_session_cookie_is_not_marked_secure_on_plain_http(world: World) -> None:
    # A Secure cookie would never come back over http://127.0.0.1, and sign-in would fail.
    assert "secure" not in _session_cookie_of_a_sign_in(world, "http://127.0.0.1:8000")


def test_a_tampered_session_cookie_signs_nobody_in(world: World) -> None:
    cookie = _session_cookie_of_a_sign_in(world, "http://testserver")
    payload, _, signature = cookie["value"].partition(".")
    forged = payload + "." + signature[::-1]
    with TestClient(create_app(world.rt, run_worker=False)) as client:
        client.cookies.set("vidonate_session", forged)
        assert client.get("/api/v1/me").status_code == 401
        client.cookies.set("vidonate_session", cookie["value"])
        assert client.get("/api/v1/me").json()["username"] == "alice"
