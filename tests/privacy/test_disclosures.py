"""Recording disclosures to third parties: admins record them, admins and auditors list
them, everyone sees them in the transparency report; bad input is refused with a reason
code and leaves no row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from vidonate import cli
from vidonate.accounts.users import create_user, issue_token
from vidonate.db.engine import transaction
from vidonate.db.models import Disclosure, User
from vidonate.errors import InvalidInput
from vidonate.privacy.disclosures import (
    list_disclosures,
    parse_disclosure_time,
    record_disclosure,
)
from vidonate.runtime import Runtime
from world import World

MARCH = datetime(2026, 3, 1, 14, 0, tzinfo=UTC)


def _count(rt: Runtime) -> int:
    with transaction(rt.sessions) as s:
        return s.scalar(select(func.count(Disclosure.id))) or 0


@pytest.fixture
def staff(world: World) -> dict[str, str]:
    """Tokens of an admin and an auditor (the world has donors and reviewers)."""
    with transaction(world.rt.sessions) as s:
        ada = create_user(s, "ada", "ada-password", ["admin"], "ada-h")
        otto = create_user(s, "otto", "otto-password", ["auditor"], "otto-h")
        return {"ada": issue_token(s, ada), "otto": issue_token(s, otto), "ada_id": str(ada.id)}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_disclosure_is_stored_tidied_and_listed_newest_first(world: World) -> None:
    with transaction(world.rt.sessions) as s:
        rita = s.get(User, world.rita.id)
        older = record_disclosure(
            s,
            recipient="  Springfield   Police\nDepartment ",
            legal_basis="court order 2026-17",
            donations=2,
            description="  two clips of one theft  ",
            disclosed_at=MARCH,
            recorded_by=rita,
        )
        newer = record_disclosure(
            s, recipient="County court", legal_basis="subpoena 44", donations=0
        )
        assert older.recipient == "Springfield Police Department"
        assert older.description == "two clips of one theft"
        assert (older.recorded_by, older.disclosed_at) == (world.rita.id, MARCH)
        assert newer.recorded_by is None
        assert datetime.now(UTC) - newer.disclosed_at < timedelta(minutes=1), "default: now"
        assert [d.id for d in list_disclosures(s)] == [newer.id, older.id]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"recipient": "   "}, "bad_recipient"),
        ({"recipient": "x" * 201}, "bad_recipient"),
        ({"legal_basis": ""}, "bad_legal_basis"),
        ({"donations": -1}, "bad_donation_count"),
        ({"donations": True}, "bad_donation_count"),
        ({"description": "x" * 2001}, "bad_description"),
        ({"disclosed_at": datetime(2026, 3, 1, 14, 0)}, "bad_disclosure_time"),
        ({"disclosed_at": datetime.now(UTC) + timedelta(hours=1)}, "bad_disclosure_time"),
    ],
)
def test_bad_input_is_refused_with_its_reason_and_stores_nothing(
    rt: Runtime, fields: dict[str, object], code: str
) -> None:
    valid: dict[str, object] = {"recipient": "County court", "legal_basis": "s", "donations": 1}
    with pytest.raises(InvalidInput) as refused, transaction(rt.sessions) as s:
        record_disclosure(s, **{**valid, **fields})  # type: ignore[arg-type]
    assert refused.value.code == code
    assert _count(rt) == 0


def test_a_disclosure_time_is_iso_8601_with_its_zone() -> None:
    assert parse_disclosure_time("2026-03-01T14:00:00Z") == MARCH
    assert parse_disclosure_time("2026-03-01T15:00:00+01:00") == MARCH
    for text in ("yesterday", "2026-03-01T14:00:00", "2999-01-01T00:00:00Z"):
        with pytest.raises(InvalidInput) as refused:
            parse_disclosure_time(text)
        assert refused.value.code == "bad_disclosure_time", text


def test_an_admin_records_a_disclosure_that_auditors_and_the_public_then_see(
    client: TestClient, staff: dict[str, str]
) -> None:
    r = client.post(
        "/api/v1/admin/disclosures",
        json={
            "recipient": "Springfield Police Department",
            "legal_basis": "court order 2026-17",
            "donations": 2,
            "description": "two clips of one theft",
            "disclosed_at": "2026-03-01T14:00:00Z",
        },
        headers=_bearer(staff["ada"]),
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["recorded_by"] == int(staff["ada_id"]) and created["donations"] == 2
    assert datetime.fromisoformat(created["disclosed_at"]) == MARCH
    for reader in ("ada", "otto"):
        r = client.get("/api/v1/admin/disclosures", headers=_bearer(staff[reader]))
        assert r.status_code == 200 and r.json() == [created], reader
    public = client.get("/api/v1/transparency").json()["disclosures"]
    assert (public["count"], public["donations"]) == (1, 2)
    assert public["entries"][0]["recipient"] == "Springfield Police Department"
    assert "recorded_by" not in public["entries"][0], "who recorded it is not published"


def test_donors_and_strangers_can_neither_record_nor_list_disclosures(
    client: TestClient, world: World, staff: dict[str, str]
) -> None:
    body = {"recipient": "County court", "legal_basis": "subpoena 44", "donations": 1}
    r = client.post("/api/v1/admin/disclosures", json=body, headers=_bearer(world.tokens["alice"]))
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_an_admin"
    # Auditors check what admins recorded; they record nothing themselves.
    r = client.post("/api/v1/admin/disclosures", json=body, headers=_bearer(staff["otto"]))
    assert r.status_code == 403 and r.json()["error"]["code"] == "read_only_role"
    r = client.get("/api/v1/admin/disclosures", headers=_bearer(world.tokens["alice"]))
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_an_auditor"
    for method in ("get", "post"):
        r = client.request(method, "/api/v1/admin/disclosures", json=body)
        assert r.status_code == 401 and r.json()["error"]["code"] == "not_signed_in"
    assert _count(world.rt) == 0


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"donations": -3}, 400, "bad_donation_count"),
        ({"recipient": ""}, 400, "bad_recipient"),
        ({"disclosed_at": "2026-03-01T14:00:00"}, 400, "bad_disclosure_time"),
        ({"donations": "many"}, 422, "invalid_request"),
        ({"recipient": None}, 422, "invalid_request"),
        ({"court": "unknown field"}, 422, "invalid_request"),
    ],
)
def test_bad_requests_name_their_reason_and_leave_no_row(
    client: TestClient,
    world: World,
    staff: dict[str, str],
    body: dict[str, object],
    status: int,
    code: str,
) -> None:
    valid = {"recipient": "County court", "legal_basis": "subpoena 44", "donations": 1}
    r = client.post(
        "/api/v1/admin/disclosures", json={**valid, **body}, headers=_bearer(staff["ada"])
    )
    assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    assert _count(world.rt) == 0


runner = CliRunner()


def test_the_cli_records_a_disclosure_and_refuses_bad_input(rt: Runtime, cli_env: Path) -> None:
    base = ["disclosure", "record", "--recipient", "County court", "--legal-basis", "subpoena 44"]
    r = runner.invoke(cli.app, [*base, "--donations", "3", "--at", "2026-03-01T14:00:00Z"])
    assert r.exit_code == 0, r.output
    assert "recorded disclosure" in r.output and "3 clips" in r.output
    with transaction(rt.sessions) as s:
        (stored,) = list_disclosures(s)
        assert (stored.recipient, stored.donations, stored.disclosed_at) == (
            "County court",
            3,
            MARCH,
        )
    for extra, code in (
        (["--donations", "-1"], "bad_donation_count"),
        (["--donations", "1", "--at", "last tuesday"], "bad_disclosure_time"),
        (["--donations", "1", "--at", "2026-03-01T14:00:00"], "bad_disclosure_time"),
    ):
        r = runner.invoke(cli.app, [*base, *extra])
        assert r.exit_code == 2 and code in r.output, (extra, r.output)
    assert _count(rt) == 1
