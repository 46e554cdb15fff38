"""Who may do what: one table says, for every route of the app and every role, what
the caller gets; the tests call every route as every role and compare.

A route the table does not classify fails ``test_every_route_of_the_app_is_classified``,
so a new route cannot slip in without someone deciding who may call it. A route in
the table that the app does not have fails too: a stale row would otherwise pass
unnoticed while promising a protection nobody checks.

The callers: nobody (anonymous), bob (a donor), rita (a reviewer), ada (an admin) and
aude (an auditor), each holding that one role. Paths name alice's donation (in review)
and alice's unfinished upload, so for the donor they are someone else's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from test_pages import form_token

from tus_helpers import TUS, create, encode_metadata
from vidonate.accounts.tokens import token_for_secret
from vidonate.accounts.users import create_user, issue_token
from vidonate.db import audit
from vidonate.db.engine import transaction
from vidonate.db.models import AuditEntry, Donation
from vidonate.donations.incidents import assign_incident
from vidonate.web.app import create_app
from world import World

# What a caller gets from a route.
OK = "reaches the route"  # anything but the four below (and never a 5xx)
AUTH = "401 not_signed_in"  # the API asks who is calling
LOGIN = "303 to /login"  # pages send anonymous visitors to sign in
DENY = "403"  # signed in, without the role the route needs
HIDE = "404 as if it did not exist"  # someone else's upload or donation

ROLES = ("anonymous", "donor", "reviewer", "admin", "auditor")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Signing in and out is how an auditor starts and ends reading; it changes no data.
SIGN_IN_AND_OUT = {
    "POST /api/v1/auth/token",
    "DELETE /api/v1/me/tokens/{token_id}",
    "POST /login",
    "POST /logout",
}
HIDING_CODES = ("unknown_donation", "upload_not_found", "unknown_token")


class Access(NamedTuple):
    """What each role gets from one route."""

    anonymous: str
    donor: str
    reviewer: str
    admin: str
    auditor: str


# fmt: off
A = Access
ACCESS: dict[str, Access] = {
    # route                                           A(anonymous, donor, reviewer, admin, auditor)
    # -- API: sign-in and accounts
    "POST /api/v1/auth/token":                        A(OK   , OK   , OK   , OK   , OK),
    "GET /api/v1/me":                                 A(AUTH , OK   , OK   , OK   , OK),
    "PATCH /api/v1/me":                               A(AUTH , OK   , OK   , OK   , DENY),
    "POST /api/v1/users":                             A(AUTH , DENY , DENY , OK   , DENY),
    "GET /api/v1/me/export":                          A(AUTH , OK   , OK   , OK   , OK),
    "POST /api/v1/me/withdraw":                       A(AUTH , OK   , OK   , OK   , DENY),
    "GET /api/v1/me/tokens":                          A(AUTH , OK   , OK   , OK   , OK),
    # alice's token in the path; revoking one's own is how an auditor signs out too
    "DELETE /api/v1/me/tokens/{token_id}":            A(AUTH , HIDE , HIDE , HIDE , HIDE),
    # -- API: campaigns and cameras
    "GET /api/v1/campaigns":                          A(AUTH , OK   , OK   , OK   , OK),
    "GET /api/v1/campaigns/{ref}":                    A(AUTH , OK   , OK   , OK   , OK),
    "POST /api/v1/campaigns":                         A(AUTH , DENY , DENY , OK   , DENY),
    "GET /api/v1/cameras":                            A(AUTH , OK   , OK   , OK   , OK),
    "POST /api/v1/cameras":                           A(AUTH , OK   , OK   , OK   , DENY),
    # -- API: tus uploads (alice's upload in the path)
    "OPTIONS /api/v1/uploads":                        A(OK   , OK   , OK   , OK   , OK),
    "POST /api/v1/uploads":                           A(AUTH , OK   , DENY , DENY , DENY),
    "HEAD /api/v1/uploads/{upload_id}":               A(AUTH , HIDE , HIDE , HIDE , HIDE),
    "PATCH /api/v1/uploads/{upload_id}":              A(AUTH , HIDE , HIDE , HIDE , DENY),
    "DELETE /api/v1/uploads/{upload_id}":             A(AUTH , HIDE , HIDE , HIDE , DENY),
    "POST /api/v1/uploads/{upload_id}":               A(AUTH , HIDE , HIDE , HIDE , DENY),
    # -- API: donations (alice's donation in the path). Admins may watch; a reviewer only
    #    what the queue gave them (rita was not given this clip; see REVIEWER_WATCHING)
    "GET /api/v1/donations":                          A(AUTH , OK   , OK   , OK   , OK),
    "GET /api/v1/donations/{donation_id}":            A(AUTH , HIDE , HIDE , HIDE , HIDE),
    "GET /api/v1/donations/{donation_id}/video":      A(AUTH , HIDE , HIDE , OK   , HIDE),
    "GET /api/v1/donations/{donation_id}/thumbnail":  A(AUTH , HIDE , HIDE , OK   , HIDE),
    "POST /api/v1/donations/{donation_id}/withdraw":  A(AUTH , HIDE , HIDE , HIDE , DENY),
    # -- API: review, rewards, public numbers
    "GET /api/v1/review/next":                        A(AUTH , DENY , OK   , DENY , DENY),
    "POST /api/v1/review/{donation_id}/votes":        A(AUTH , DENY , OK   , DENY , DENY),
    "GET /api/v1/review/me/quality":                  A(AUTH , DENY , OK   , DENY , DENY),
    # rita was not given alice's clip: its intervals are hidden from her like the clip
    "GET /api/v1/review/{donation_id}/intervals":     A(AUTH , DENY , HIDE , DENY , DENY),
    "PUT /api/v1/review/{donation_id}/intervals":     A(AUTH , DENY , HIDE , DENY , DENY),
    "GET /api/v1/admin/donations/{donation_id}/intervals": A(AUTH, DENY, DENY, OK , DENY),
    "GET /api/v1/admin/disagreements":                A(AUTH , DENY , DENY , OK   , DENY),
    "POST /api/v1/gold":                              A(AUTH , DENY , DENY , OK   , DENY),
    "GET /api/v1/gold":                               A(AUTH , DENY , DENY , OK   , DENY),
    "DELETE /api/v1/gold/{donation_id}":              A(AUTH , DENY , DENY , OK   , DENY),
    "GET /api/v1/balance":                            A(AUTH , OK   , OK   , OK   , OK),
    "GET /api/v1/leaderboard":                        A(AUTH , OK   , OK   , OK   , OK),
    "GET /api/v1/leaderboard/tiers":                  A(AUTH , OK   , OK   , OK   , OK),
    "GET /api/v1/badges":                             A(OK   , OK   , OK   , OK   , OK),
    "GET /api/v1/me/badges":                          A(AUTH , OK   , OK   , OK   , OK),
    "GET /api/v1/me/goal":                            A(AUTH , OK   , OK   , OK   , OK),
    "PUT /api/v1/me/goal":                            A(AUTH , OK   , OK   , OK   , DENY),
    "GET /api/v1/campaigns/{ref}/goals":              A(AUTH , OK   , OK   , OK   , OK),
    "GET /api/v1/stats/redaction":                    A(OK   , OK   , OK   , OK   , OK),
    "GET /api/v1/transparency":                       A(OK   , OK   , OK   , OK   , OK),
    "POST /api/v1/detect":                            A(AUTH , OK   , OK   , OK   , DENY),
    # -- API: the catalogue, redemptions, payouts and holds (ids in paths that match
    #    nothing: a caller let in meets the route's own 404)
    "GET /api/v1/catalogue":                          A(AUTH , OK   , OK   , OK   , OK),
    "GET /api/v1/admin/catalogue":                    A(AUTH , DENY , DENY , OK   , DENY),
    "POST /api/v1/admin/catalogue":                   A(AUTH , DENY , DENY , OK   , DENY),
    "POST /api/v1/admin/catalogue/{item_id}/codes":   A(AUTH , DENY , DENY , OK   , DENY),
    "POST /api/v1/admin/catalogue/{item_id}/stock":   A(AUTH , DENY , DENY , OK   , DENY),
    "PUT /api/v1/admin/catalogue/{item_id}/active":   A(AUTH , DENY , DENY , OK   , DENY),
    "POST /api/v1/redemptions":                       A(AUTH , OK   , OK   , OK   , DENY),
    "GET /api/v1/redemptions":                        A(AUTH , OK   , OK   , OK   , OK),
    "GET /api/v1/redemptions/{redemption_id}/code":   A(AUTH , OK   , OK   , OK   , OK),
    "GET /api/v1/admin/redemptions":                  A(AUTH , DENY , DENY , OK   , DENY),
    "GET /api/v1/admin/redemptions/{redemption_id}/address": A(AUTH, DENY, DENY, OK, DENY),
    "POST /api/v1/admin/redemptions/{redemption_id}/shipped": A(AUTH, DENY, DENY, OK, DENY),
    "POST /api/v1/payouts":                           A(AUTH , OK   , OK   , OK   , DENY),
    "GET /api/v1/payouts":                            A(AUTH , OK   , OK   , OK   , OK),
    "DELETE /api/v1/payouts/{payout_id}":             A(AUTH , OK   , OK   , OK   , DENY),
    "PUT /api/v1/me/payout-destination":              A(AUTH , OK   , OK   , OK   , DENY),
    "POST /api/v1/admin/payout-batches":              A(AUTH , DENY , DENY , OK   , DENY),
    "GET /api/v1/admin/payout-batches":               A(AUTH , DENY , DENY , OK   , DENY),
    "GET /api/v1/admin/payout-batches/{batch_id}/file": A(AUTH, DENY , DENY , OK   , DENY),
    "POST /api/v1/admin/payout-batches/{batch_id}/paid": A(AUTH, DENY , DENY , OK   , DENY),
    "GET /api/v1/me/holds":                           A(AUTH , OK   , OK   , OK   , OK),
    "PUT /api/v1/me/tax-details":                     A(AUTH , OK   , OK   , OK   , DENY),
    "GET /api/v1/admin/holds":                        A(AUTH , DENY , DENY , OK   , DENY),
    "POST /api/v1/admin/holds/{hold_id}/release":     A(AUTH , DENY , DENY , OK   , DENY),
    # -- API: audit and disclosures
    "GET /api/v1/audit/entries":                      A(AUTH , DENY , DENY , OK   , OK),
    "GET /api/v1/audit/verify":                       A(AUTH , DENY , DENY , OK   , OK),
    "GET /api/v1/admin/disclosures":                  A(AUTH , DENY , DENY , OK   , OK),
    "POST /api/v1/admin/disclosures":                 A(AUTH , DENY , DENY , OK   , DENY),
    # -- the API's own documentation
    "GET /openapi.json":                              A(OK   , OK   , OK   , OK   , OK),
    "GET /docs":                                      A(OK   , OK   , OK   , OK   , OK),
    "GET /static/swagger-ui/{asset}":                 A(OK   , OK   , OK   , OK   , OK),
    # -- pages
    "GET /":                                          A(OK   , OK   , OK   , OK   , OK),
    "GET /login":                                     A(OK   , OK   , OK   , OK   , OK),
    "POST /login":                                    A(OK   , OK   , OK   , OK   , OK),
    "POST /logout":                                   A(OK   , OK   , OK   , OK   , OK),
    "GET /transparency":                              A(OK   , OK   , OK   , OK   , OK),
    "GET /donate":                                    A(LOGIN, OK   , OK   , OK   , OK),
    "POST /donate":                                   A(LOGIN, OK   , DENY , DENY , DENY),
    "POST /cameras":                                  A(LOGIN, OK   , OK   , OK   , DENY),
    "GET /donations":                                 A(LOGIN, OK   , OK   , OK   , OK),
    "POST /donations/{donation_id}/withdraw":         A(LOGIN, HIDE , HIDE , HIDE , DENY),
    "POST /withdraw":                                 A(LOGIN, OK   , OK   , OK   , DENY),
    "GET /export":                                    A(LOGIN, OK   , OK   , OK   , OK),
    "GET /review":                                    A(LOGIN, DENY , OK   , DENY , DENY),
    "POST /review/{donation_id}":                     A(LOGIN, DENY , OK   , DENY , DENY),
    "POST /review/{donation_id}/intervals":           A(LOGIN, DENY , HIDE , DENY , DENY),
    "GET /leaderboard":                               A(LOGIN, OK   , OK   , OK   , OK),
    "POST /leaderboard":                              A(LOGIN, OK   , OK   , OK   , DENY),
    "GET /rewards":                                   A(LOGIN, OK   , OK   , OK   , OK),
    "POST /rewards/goal":                             A(LOGIN, OK   , OK   , OK   , DENY),
    "POST /rewards/redeem":                           A(LOGIN, OK   , OK   , OK   , DENY),
    "GET /rewards/redemptions/{redemption_id}/code":  A(LOGIN, OK   , OK   , OK   , OK),
    "POST /rewards/payouts":                          A(LOGIN, OK   , OK   , OK   , DENY),
    "POST /rewards/payout-destination":               A(LOGIN, OK   , OK   , OK   , DENY),
    "POST /rewards/tax-details":                      A(LOGIN, OK   , OK   , OK   , DENY),
    "GET /admin/rewards":                             A(LOGIN, DENY , DENY , OK   , DENY),
    "POST /admin/rewards/items":                      A(LOGIN, DENY , DENY , OK   , DENY),
    "POST /admin/rewards/items/{item_id}/codes":      A(LOGIN, DENY , DENY , OK   , DENY),
    "POST /admin/rewards/items/{item_id}/stock":      A(LOGIN, DENY , DENY , OK   , DENY),
    "GET /admin/rewards/redemptions/{redemption_id}/address": A(LOGIN, DENY, DENY, OK, DENY),
    "POST /admin/rewards/redemptions/{redemption_id}/shipped": A(LOGIN, DENY, DENY, OK, DENY),
    "POST /admin/rewards/batches":                    A(LOGIN, DENY , DENY , OK   , DENY),
    "POST /admin/rewards/batches/{batch_id}/paid":    A(LOGIN, DENY , DENY , OK   , DENY),
    "POST /admin/rewards/holds/{hold_id}/release":    A(LOGIN, DENY , DENY , OK   , DENY),
}
# fmt: on


def route_keys(app: FastAPI) -> set[str]:
    """``METHOD /path`` of every route the app serves. HEAD beside GET is the GET route
    answering without a body, so it is not listed apart; a route without methods (a
    mount) is ``* /path`` and must be classified too."""
    keys = set()
    for route in iter_route_contexts(app.routes):
        methods = set(route.methods or ()) or {"*"}
        if "GET" in methods:
            methods.discard("HEAD")
        keys |= {f"{method} {route.path_format or route.path}" for method in methods}
    return keys


@dataclass
class Population:
    world: World
    client: TestClient
    tokens: dict[str, str]  # by role
    donation_id: int  # alice's, in review
    upload_id: str  # alice's, unfinished
    token_id: int  # alice's API token

    def path(self, template: str) -> str:
        return template.format(
            donation_id=self.donation_id,
            upload_id=self.upload_id,
            token_id=self.token_id,
            ref=self.world.campaign.slug,
            asset="swagger-ui.css",
            item_id=999_999,
            redemption_id=999_999,
            payout_id=999_999,
            batch_id=999_999,
            hold_id=999_999,
        )


@pytest.fixture
def population(world: World) -> Iterator[Population]:
    with transaction(world.rt.sessions) as s:
        ada = create_user(s, "ada", "ada-password", ["admin"], "ada-h")
        aude = create_user(s, "aude", "aude-password", ["auditor"], "aude-h")
        tokens = {
            "donor": world.tokens["bob"],
            "reviewer": world.tokens["rita"],
            "admin": issue_token(s, ada),
            "auditor": issue_token(s, aude),
        }
        alices_token = token_for_secret(s, world.tokens["alice"]).id
    donation_id = world.clip_in_review("alice")
    with TestClient(create_app(world.rt, run_worker=False)) as client:
        created = create(client, world.tokens["alice"], 1000, world.metadata())
        assert created.status_code == 201, created.text
        upload_id = created.headers["location"].rsplit("/", 1)[1]
        yield Population(world, client, tokens, donation_id, upload_id, alices_token)


MP4_HEAD = b"\x00\x00\x00\x18ftypisom" + bytes(600)
Probe = Callable[[Population, str], dict[str, Any]]


def _json(body: dict[str, Any]) -> Probe:
    return lambda pop, role: {"json": body}


# A request each route should accept from a caller it lets in; {role} keeps names apart.
PROBES: dict[str, Probe] = {
    "POST /api/v1/auth/token": _json({"username": "alice", "password": "alice-password"}),
    "PATCH /api/v1/me": _json({"leaderboard_opt_in": True}),
    "POST /api/v1/users": lambda pop, role: {
        "json": {"username": f"new-{role}", "password": "password-123", "roles": ["donor"]}
    },
    "POST /api/v1/campaigns": lambda pop, role: {
        "json": {"slug": f"campaign-{role}", "name": "New", "budget_cents": 1000}
    },
    "POST /api/v1/cameras": lambda pop, role: {
        "json": {"label": f"camera {role}", "placement": "porch"}
    },
    "OPTIONS /api/v1/uploads": lambda pop, role: {"headers": TUS},
    "POST /api/v1/uploads": lambda pop, role: {
        "headers": {
            **TUS,
            "Upload-Length": "1000",
            "Upload-Metadata": encode_metadata(pop.world.metadata("bob")),
        }
    },
    "HEAD /api/v1/uploads/{upload_id}": lambda pop, role: {"headers": TUS},
    "PATCH /api/v1/uploads/{upload_id}": lambda pop, role: {
        "headers": {
            **TUS,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
        "content": MP4_HEAD,
    },
    "DELETE /api/v1/uploads/{upload_id}": lambda pop, role: {"headers": TUS},
    "POST /api/v1/uploads/{upload_id}": lambda pop, role: {
        "headers": {**TUS, "X-HTTP-Method-Override": "HEAD"}
    },
    "POST /api/v1/review/{donation_id}/votes": _json({"decision": "accept"}),
    "PUT /api/v1/review/{donation_id}/intervals": _json({"intervals": []}),
    "POST /api/v1/admin/catalogue": _json({"kind": "product", "name": "Mug", "price_cents": 500}),
    "POST /api/v1/redemptions": _json({"item_id": 999_999, "client_key": "authz-probe-0001"}),
    "POST /api/v1/payouts": _json({"amount_cents": 500, "client_key": "authz-probe-0001"}),
    "PUT /api/v1/me/payout-destination": _json({"receiver": "someone@example.org"}),
    "POST /api/v1/admin/payout-batches": _json({"period": "2026-01"}),
    "PUT /api/v1/me/tax-details": _json({"details": "tax id 123"}),
    "POST /api/v1/admin/holds/{hold_id}/release": _json({"note": "reviewed"}),
    "PUT /api/v1/me/goal": _json({"clips": 3}),
    "POST /api/v1/gold": lambda pop, role: {
        "json": {"donation_id": pop.donation_id, "decision": "accept", "category": "package_theft"}
    },
    "POST /api/v1/admin/disclosures": _json(
        {"recipient": "City police", "legal_basis": "court order 12/2026", "donations": 1}
    ),
    "POST /login": lambda pop, role: {"data": {"username": "alice", "password": "alice-password"}},
    "POST /cameras": lambda pop, role: {"data": {"label": f"cam {role}", "placement": "porch"}},
    "POST /donate": lambda pop, role: {
        "data": {
            "campaign": pop.world.campaign.slug,
            "category": "package_theft",
            "camera": str(pop.world.cameras["bob"]),
            "consent": pop.world.consent_sha256,
        },
        "files": {"file": ("clip.mp4", MP4_HEAD)},
    },
    "POST /review/{donation_id}": lambda pop, role: {"data": {"decision": "accept"}},
    "POST /review/{donation_id}/intervals": lambda pop, role: {"data": {"start": ["1"]}},
    "POST /leaderboard": lambda pop, role: {"data": {"handle": f"{role}-handle"}},
}


def call(pop: Population, route: str, role: str) -> httpx.Response:
    """Call ``route`` as ``role`` with a fresh cookie jar, by bearer token; a page's form
    post carries its session's CSRF token, so what it meets is the access check."""
    method, template = route.split(" ", 1)
    kwargs = PROBES.get(route, lambda pop, role: {})(pop, role)
    headers = dict(kwargs.pop("headers", {}))
    if role != "anonymous":
        headers["Authorization"] = f"Bearer {pop.tokens[role]}"
    client = pop.client
    client.cookies.clear()
    path = pop.path(template)
    if not path.startswith("/api/") and method not in SAFE_METHODS:
        kwargs["data"] = {**kwargs.get("data", {}), "csrf_token": form_token(client)}
    return client.request(method, path, headers=headers, follow_redirects=False, **kwargs)


def outcome(response: httpx.Response, method: str) -> str:
    status, text = response.status_code, response.text
    assert status < 500, f"server error {status}: {text[:500]}"
    assert "csrf_failed" not in text, "the probe should carry its CSRF token"
    if status == 401:
        assert method == "HEAD" or "not_signed_in" in text, text  # HEAD answers have no body
        return AUTH
    if status == 303 and response.headers["location"] == "/login":
        return LOGIN
    if status == 403:
        return DENY
    # A HEAD answer has no body; the route exists and the object exists for its owner.
    if status == 404 and (method == "HEAD" or any(code in text for code in HIDING_CODES)):
        return HIDE
    return OK


def test_every_route_of_the_app_is_classified(client: TestClient) -> None:
    unclassified = route_keys(client.app) - ACCESS.keys()  # type: ignore[arg-type]
    assert unclassified == set(), (
        "add these routes to ACCESS in tests/web/test_authz.py, saying who may call them"
    )


def test_every_route_in_the_table_is_in_the_app(client: TestClient) -> None:
    stale = ACCESS.keys() - route_keys(client.app)  # type: ignore[arg-type]
    assert stale == set(), "the app has no such routes: remove them from ACCESS or restore them"


@pytest.mark.parametrize("route", sorted(ACCESS))
def test_each_role_gets_what_the_table_says(population: Population, route: str) -> None:
    assert route in route_keys(population.client.app), f"{route} is not in the app"  # type: ignore[arg-type]
    method = route.split(" ", 1)[0]
    got = {}
    for role in ROLES:
        response = call(population, route, role)
        got[role] = outcome(response, method)
    expected = ACCESS[route]._asdict()
    assert got == expected


def test_the_table_lets_an_auditor_only_read() -> None:
    writes = [r for r in ACCESS if r.split(" ", 1)[0] not in SAFE_METHODS]
    assert writes, "the table has routes that change things"
    for route in writes:
        if route not in SIGN_IN_AND_OUT:
            assert ACCESS[route].auditor == DENY, route


def test_an_auditor_is_refused_every_write_even_on_routes_the_table_misses(
    population: Population,
) -> None:
    """The read-only rule lives in ``CurrentUser``: it holds for every route that needs a
    signed-in user, including ones added after this table was written."""
    aude = {"Authorization": f"Bearer {population.tokens['auditor']}"}
    for route in sorted(route_keys(population.client.app)):  # type: ignore[arg-type]
        method, template = route.split(" ", 1)
        if method in SAFE_METHODS or route in SIGN_IN_AND_OUT:
            continue
        response = population.client.request(
            method, population.path(template), headers=aude, follow_redirects=False,
            data={"csrf_token": form_token(population.client)}
            if not template.startswith("/api/") else None,
        )  # fmt: skip
        assert response.status_code == 403, (route, response.text[:300])


# Someone else's things look exactly like things that do not exist


def _seen_as(response: httpx.Response, object_id: str) -> tuple[int, str]:
    """Status and what the caller is told (a page's error paragraph, or the whole JSON
    body), with the object's id blanked out of it."""
    told = response.text
    if response.headers.get("content-type", "").startswith("text/html"):
        found = re.search(r'<p class="error">.*?</p>', told, re.S)
        told = found.group(0) if found else told
    return response.status_code, re.sub(rf"\b{re.escape(object_id)}\b", "<id>", told)


def test_another_donors_upload_looks_exactly_like_a_missing_one(population: Population) -> None:
    bob = {"Authorization": f"Bearer {population.tokens['donor']}"}
    missing = "0" * 32
    for route in ("HEAD", "PATCH", "DELETE"):
        kwargs = PROBES[f"{route} /api/v1/uploads/{{upload_id}}"](population, "donor")
        headers = {**kwargs.pop("headers"), **bob}
        theirs = population.client.request(
            route, f"/api/v1/uploads/{population.upload_id}", headers=headers, **kwargs
        )
        none = population.client.request(
            route, f"/api/v1/uploads/{missing}", headers=headers, **kwargs
        )
        assert theirs.status_code == 404, route
        assert _seen_as(theirs, population.upload_id) == _seen_as(none, missing), route
    alice = {"Authorization": f"Bearer {population.world.tokens['alice']}", **TUS}
    own = population.client.head(f"/api/v1/uploads/{population.upload_id}", headers=alice)
    assert (own.status_code, own.headers["upload-offset"]) == (200, "0"), "untouched"


def test_another_donors_clip_looks_exactly_like_a_missing_one_on_every_route(
    population: Population,
) -> None:
    """Every route about one donation, today's and any added later (withdraw...)."""
    per_donation = sorted(
        route
        for route in route_keys(population.client.app)  # type: ignore[arg-type]
        if "{donation_id}" in route
        and route.split(" ", 1)[1].startswith(("/api/v1/donations/", "/donations/"))
    )
    assert "GET /api/v1/donations/{donation_id}/video" in per_donation
    missing = "987654"
    bob = {"Authorization": f"Bearer {population.tokens['donor']}"}
    for route in per_donation:
        method, template = route.split(" ", 1)
        responses = []
        for donation_id in (str(population.donation_id), missing):
            data = None
            if not template.startswith("/api/") and method not in SAFE_METHODS:
                data = {"csrf_token": form_token(population.client)}
            path = template.format(donation_id=donation_id)
            responses.append(population.client.request(method, path, headers=bob, data=data))
        theirs, none = responses
        assert theirs.status_code == 404, (route, theirs.text[:300])
        assert _seen_as(theirs, str(population.donation_id)) == _seen_as(none, missing), route
    alice = {"Authorization": f"Bearer {population.world.tokens['alice']}"}
    own = population.client.get(f"/api/v1/donations/{population.donation_id}", headers=alice)
    assert own.status_code == 200 and own.json()["status"] == "in_review"


# What a reviewer may watch: only what the review queue gave them, while it is in review


def _processed(world: World, incident: str | None = None) -> int:
    """One of alice's clips in review with a small encrypted video and thumbnail, put in its
    incident as processing would."""
    donation_id = world.clip_in_review("alice", **({"incident": incident} if incident else {}))
    with transaction(world.rt.sessions) as s:
        donation = s.get(Donation, donation_id)
        assert donation is not None
        clip_key = world.rt.vault.clip_key(s, donation)
        keys = {}
        for kind in ("video", "thumbnail"):
            keys[kind] = f"authz-test/{donation_id}/{kind}"
            writer = world.rt.vault.writer(clip_key, keys[kind])
            writer.write(_content(donation_id, kind))
            writer.commit()
        donation.video_key, donation.thumbnail_key = keys["video"], keys["thumbnail"]
        assign_incident(s, donation)
    return donation_id


def _content(donation_id: int, kind: str) -> bytes:
    return f"{kind} of clip {donation_id}".encode()


def _give(client: TestClient, world: World, reviewer: str) -> int:
    """What the review queue hands ``reviewer`` now."""
    headers = {"Authorization": f"Bearer {world.tokens[reviewer]}"}
    given = client.get("/api/v1/review/next", headers=headers)
    assert given.status_code == 200, given.text
    return given.json()["id"]


def _given_clip(client: TestClient, world: World) -> int:
    _processed(world)
    return _give(client, world, "rita")


def _given_then_voted(client: TestClient, world: World) -> int:
    _processed(world)
    given = _give(client, world, "rita")
    assert world.vote("rita", given).status == "in_review"
    return given


def _another_angle(client: TestClient, world: World) -> int:
    _processed(world, incident="porch-door")
    angle = _processed(world, incident="porch-door")
    given = _give(client, world, "rita")
    assert given != angle
    return angle


def _never_given(client: TestClient, world: World) -> int:
    _processed(world)  # the oldest: what the queue hands out first
    other = _processed(world)
    assert _give(client, world, "rita") != other
    return other


def _decided_since(decision: str) -> Callable[[TestClient, World], int]:
    def situation(client: TestClient, world: World) -> int:
        _processed(world)
        given = _give(client, world, "rita")
        reason = {"reason": "poor_quality"} if decision == "reject" else {}
        world.vote("rita", given, decision, **reason)
        assert world.vote("ravi", given, decision, **reason).status != "in_review"
        return given

    return situation


def _angle_of_decided(client: TestClient, world: World) -> int:
    _processed(world, incident="porch-door")
    angle = _processed(world, incident="porch-door")
    given = _give(client, world, "rita")
    world.vote("rita", given)
    assert world.vote("ravi", given).status == "accepted"
    return angle


def _given_to_ravi(client: TestClient, world: World) -> int:
    _processed(world)
    return _give(client, world, "ravi")


# situation: (how it comes about, what rita gets from the clip's video and thumbnail)
REVIEWER_WATCHING: dict[str, tuple[Callable[[TestClient, World], int], str]] = {
    "the clip the queue gave her":                          (_given_clip, OK),
    "the clip the queue gave her, after her vote":          (_given_then_voted, OK),
    "another angle of the given clip's incident":           (_another_angle, OK),
    "a clip in review the queue has not given her":         (_never_given, HIDE),
    "the clip the queue gave her, accepted since":          (_decided_since("accept"), HIDE),
    "the clip the queue gave her, rejected since":          (_decided_since("reject"), HIDE),
    "an angle of an incident whose given clip is decided":  (_angle_of_decided, HIDE),
    "a clip the queue gave another reviewer":               (_given_to_ravi, HIDE),
}  # fmt: skip


@pytest.mark.parametrize("kind", ["video", "thumbnail"])
@pytest.mark.parametrize("situation", sorted(REVIEWER_WATCHING))
def test_a_reviewer_watches_only_what_the_queue_gave_her_while_it_is_in_review(
    client: TestClient, world: World, situation: str, kind: str
) -> None:
    arrange, expected = REVIEWER_WATCHING[situation]
    donation_id = arrange(client, world)
    rita = {"Authorization": f"Bearer {world.tokens['rita']}"}
    response = client.get(f"/api/v1/donations/{donation_id}/{kind}", headers=rita)
    assert outcome(response, "GET") == expected, response.text[:300]
    if expected == OK:
        assert (response.status_code, response.content) == (200, _content(donation_id, kind))
    else:
        missing = client.get(f"/api/v1/donations/987654/{kind}", headers=rita)
        assert _seen_as(response, str(donation_id)) == _seen_as(missing, "987654")


def test_a_reviewers_reads_are_logged_with_the_purpose_review(
    client: TestClient, world: World
) -> None:
    given = _processed(world)
    assert _give(client, world, "rita") == given
    rita = {"Authorization": f"Bearer {world.tokens['rita']}"}
    assert client.get(f"/api/v1/donations/{given}/video", headers=rita).status_code == 200
    with transaction(world.rt.sessions) as s:
        entry = s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        assert entry is not None
        assert (entry.actor_id, entry.purpose, entry.object_id) == (
            world.rita.id,
            "review",
            str(given),
        )


# The auditor's read routes


def _log_reads(world: World, count: int) -> list[AuditEntry]:
    with transaction(world.rt.sessions) as s:
        return [
            audit.record(s, actor_id=world.rita.id, action="read_video", purpose="review",
                         object_type="donation", object_id=n)
            for n in range(1, count + 1)
        ]  # fmt: skip


def test_an_auditor_reads_the_access_log_newest_first_a_page_at_a_time(
    population: Population,
) -> None:
    entries = _log_reads(population.world, 5)
    aude = {"Authorization": f"Bearer {population.tokens['auditor']}"}
    pages, before = [], None
    while True:
        params = {"limit": 2} | ({"before": before} if before else {})
        page = population.client.get("/api/v1/audit/entries", params=params, headers=aude)
        assert page.status_code == 200, page.text
        pages.append([entry["seq"] for entry in page.json()["entries"]])
        before = page.json()["next_before"]
        if before is None:
            break
    assert pages == [[5, 4], [3, 2], [1]]
    newest = population.client.get("/api/v1/audit/entries", headers=aude).json()["entries"][0]
    # ids, codes, a time and hashes: nothing about what the clip showed
    assert set(newest) == {
        "seq", "at", "actor_id", "action", "purpose", "object_type", "object_id",
        "prev_hash", "entry_hash",
    }  # fmt: skip
    assert newest["entry_hash"] == entries[-1].entry_hash
    assert newest["prev_hash"] == entries[-2].entry_hash
    assert (newest["actor_id"], newest["purpose"]) == (population.world.rita.id, "review")


def test_the_audit_check_recomputes_the_chain_and_finds_a_changed_entry(
    population: Population,
) -> None:
    entries = _log_reads(population.world, 3)
    for role in ("auditor", "admin"):
        headers = {"Authorization": f"Bearer {population.tokens[role]}"}
        report = population.client.get("/api/v1/audit/verify", headers=headers).json()
        assert report == {
            "ok": True, "entries": 3, "head": entries[-1].entry_hash,
            "first_bad_seq": None, "problem": None,
        }  # fmt: skip
    with transaction(population.world.rt.sessions) as s:
        s.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(purpose="owner"))
    aude = {"Authorization": f"Bearer {population.tokens['auditor']}"}
    report = population.client.get("/api/v1/audit/verify", headers=aude).json()
    assert (report["ok"], report["first_bad_seq"]) == (False, 2)
    assert report["problem"] == "this entry was changed"


def test_the_access_log_refuses_bad_paging_with_the_apps_error_format(
    population: Population,
) -> None:
    aude = {"Authorization": f"Bearer {population.tokens['auditor']}"}
    for params in ({"limit": 0}, {"limit": 501}, {"before": 0}, {"before": "x"}):
        r = population.client.get("/api/v1/audit/entries", params=params, headers=aude)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_request"), params
