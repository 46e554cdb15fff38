"""Event intervals over HTTP and on the plain review page: a reviewer's own marks, the
model's suggestions clearly marked, nobody else's marks before one's vote, and what
operators see of a clip."""

from __future__ import annotations

from fastapi.testclient import TestClient
from test_pages import _sign_in, form_token

from interval_helpers import mark, model_record
from vidonate.db.engine import transaction
from vidonate.db.models import Donation
from vidonate.review.suggestions import store_suggestions
from world import World

THEFT = "package_theft"


def _bearer(world: World, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[name]}"}


def _clip_with_a_suggestion(world: World) -> tuple[int, int, int]:
    """(clip, model id, suggestion id): alice's 10 s clip in review, suggested on."""
    clip = world.clip_in_review("alice", category=THEFT)
    model_id = model_record(world)
    with transaction(world.rt.sessions) as s:
        s.get(Donation, clip).duration_s = 10.0  # type: ignore[union-attr]
        store_suggestions(s, clip, model_id, [{"start": 2, "end": 6, "label": THEFT, "score": 0.9}])
    with transaction(world.rt.sessions) as s:
        from vidonate.review.intervals import suggestions_for

        (suggestion,) = suggestions_for(s, clip)
        return clip, model_id, suggestion.id


def test_a_reviewer_sees_suggestions_saves_their_own_and_sees_others_only_after_voting(
    client: TestClient, world: World
) -> None:
    clip, model_id, suggestion_id = _clip_with_a_suggestion(world)
    url = f"/api/v1/review/{clip}/intervals"
    assert client.get(url, headers=_bearer(world, "rita")).status_code == 404, "not given yet"
    for name in ("rita", "ravi"):
        assert client.get("/api/v1/review/next", headers=_bearer(world, name)).json()["id"] == clip

    shown = client.get(url, headers=_bearer(world, "rita")).json()
    assert shown["intervals"] == [] and shown["voted"] is False and shown["verified"] is None
    [suggested] = shown["suggestions"]
    assert (suggested["source"], suggested["model_id"], suggested["score"]) == (
        "suggestion", model_id, 0.9
    )  # fmt: skip

    # rita moves the suggestion a little; ravi confirms it as it is.
    moved = {"start": 2.5, "end": 6.0, "label": THEFT, "suggestion_id": suggestion_id}
    saved = client.put(url, json={"intervals": [moved]}, headers=_bearer(world, "rita"))
    assert saved.status_code == 200, saved.text
    [own] = saved.json()["intervals"]
    assert (own["source"], own["start"], own["suggestion_id"]) == ("reviewer", 2.5, suggestion_id)
    mark(world, "ravi", clip, (2.0, 6.0, THEFT))
    before_vote = client.get(url, headers=_bearer(world, "rita")).json()
    assert [i["start"] for i in before_vote["intervals"]] == [2.5], "never ravi's marks"

    refused = client.put(
        url, json={"intervals": [{"start": 5, "end": 30, "label": THEFT}]},
        headers=_bearer(world, "rita"),
    )  # fmt: skip
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "interval_beyond_clip")

    world.vote("rita", clip, category=THEFT)
    world.vote("ravi", clip, category=THEFT)
    after = client.get(url, headers=_bearer(world, "rita")).json()
    assert after["voted"] is True
    assert [(v["start"], v["end"], v["reviewers"]) for v in after["verified"]] == [(2.25, 6.0, 2)]

    with transaction(world.rt.sessions) as s:
        from vidonate.accounts.users import create_user, issue_token

        ada = issue_token(s, create_user(s, "ada", "ada-password", ["admin"], "ada-h"))
    operator = client.get(
        f"/api/v1/admin/donations/{clip}/intervals", headers={"Authorization": f"Bearer {ada}"}
    ).json()
    assert operator["verified_for_training"] is True and operator["category"] == THEFT
    assert sorted(r["reviewer_id"] for r in operator["reviewers"]) == sorted(
        [world.rita.id, world.ravi.id]
    )
    assert [s["source"] for s in operator["suggestions"]] == ["suggestion"]


def test_the_review_page_offers_suggestions_and_saves_the_rows_kept(
    client: TestClient, world: World
) -> None:
    clip, model_id, suggestion_id = _clip_with_a_suggestion(world)
    _sign_in(client, "rita")
    page = client.get("/review").text
    assert f"suggested by model {model_id}, score 0.90" in page
    assert f'name="suggestion_id" value="{suggestion_id}"' in page
    saved = client.post(
        f"/review/{clip}/intervals",
        data={
            # the suggestion moved, a new interval, a blank row, a deleted row
            "start": ["2.5", "7", "", "1"],
            "end": ["6", "9.5", "", "2"],
            "label": [THEFT, THEFT, "", ""],
            "suggestion_id": [str(suggestion_id), "", "", ""],
            "csrf_token": form_token(client, "/review"),
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    rita = _bearer(world, "rita")
    own = client.get(f"/api/v1/review/{clip}/intervals", headers=rita).json()["intervals"]
    assert [(i["start"], i["end"], i["suggestion_id"]) for i in own] == [
        (2.5, 6.0, suggestion_id), (7.0, 9.5, None)
    ]  # fmt: skip
    page = client.get("/review").text
    assert 'value="7"' in page and "saving again replaces them" in page
    bad = client.post(
        f"/review/{clip}/intervals",
        data={"start": ["soon"], "end": ["3"], "label": [THEFT],
              "csrf_token": form_token(client, "/review")},
    )  # fmt: skip
    assert bad.status_code == 400 and "bad_interval" in bad.text
