"""Active learning: clips where the model's suggestions and the verified intervals
disagree, by function, over HTTP and from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from interval_helpers import clip_given, mark, model_record
from vidonate.accounts.users import create_user, issue_token
from vidonate.db.engine import transaction
from vidonate.review.disagreements import disagreements
from vidonate.review.suggestions import store_suggestions
from world import World

THEFT, TAMPERING, NORMAL = "package_theft", "car_door_tampering", "normal_activity"


def _decided(
    world: World, model_id: int, category: str, suggested: list[tuple[float, float, str]],
    marked: list[tuple[float, float, str]],
) -> int:  # fmt: skip
    clip = clip_given(world, "rita", "ravi", category=category)
    events = [{"start": a, "end": b, "label": label, "score": 0.8} for a, b, label in suggested]
    with transaction(world.rt.sessions) as s:
        store_suggestions(s, clip, model_id, events)
    for reviewer in ("rita", "ravi"):
        if marked:
            mark(world, reviewer, clip, *marked)
        world.vote(reviewer, clip, category=category)
    return clip


def test_false_alarms_misses_and_label_mismatches_are_listed(
    world: World, client: TestClient, cli_env: Path
) -> None:
    model = model_record(world)
    agreed = _decided(world, model, THEFT, [(2.2, 6, THEFT)], [(2, 6, THEFT)])
    false_alarm = _decided(world, model, NORMAL, [(1, 3, TAMPERING)], [])
    missed = _decided(world, model, THEFT, [(8, 9, THEFT)], [(2, 6, THEFT)])
    mismatched = _decided(world, model, THEFT, [(2, 6, TAMPERING)], [(2, 6, THEFT)])
    unverified = _decided(world, model, THEFT, [(8, 9, THEFT)], [])
    with transaction(world.rt.sessions) as s:
        found = {d.donation_id: d for d in disagreements(s)}
    assert sorted(found) == [false_alarm, missed, mismatched], (agreed, unverified)
    assert [(s.start_s, s.label) for s in found[false_alarm].false_alarms] == [(1, TAMPERING)]
    assert [(v.start_s, v.end_s) for v in found[missed].misses] == [(2, 6)]
    assert [s.start_s for s in found[missed].false_alarms] == [8]
    assert [s.label for s in found[mismatched].label_mismatches] == [TAMPERING]
    assert found[mismatched].misses == [], "the event was seen, under another label"

    with transaction(world.rt.sessions) as s:
        ada = issue_token(s, create_user(s, "ada", "ada-password", ["admin"], "ada-h"))
    listed = client.get("/api/v1/admin/disagreements", headers={"Authorization": f"Bearer {ada}"})
    assert [d["donation_id"] for d in listed.json()] == [false_alarm, missed, mismatched]

    from vidonate.cli import app

    printed = CliRunner().invoke(app, ["review", "disagreements", "--json"])
    assert printed.exit_code == 0, printed.output
    assert [d["donation_id"] for d in json.loads(printed.stdout)] == sorted(found)
    table = CliRunner().invoke(app, ["review", "disagreements"])
    assert "3 clip(s) where model and reviewers disagree" in table.output


def test_a_clip_the_model_ran_on_and_found_nothing_in_is_listed_as_missed(world: World) -> None:
    model = model_record(world)
    missed_entirely = _decided(world, model, THEFT, [], [(2, 6, THEFT)])
    quiet_on_normal = _decided(world, model, NORMAL, [], [])
    never_run = clip_given(world, "rita", "ravi", category=THEFT)
    for reviewer in ("rita", "ravi"):
        mark(world, reviewer, never_run, (2, 6, THEFT))
        world.vote(reviewer, never_run, category=THEFT)
    with transaction(world.rt.sessions) as s:
        found = {d.donation_id: d for d in disagreements(s)}
    assert sorted(found) == [missed_entirely], (quiet_on_normal, never_run)
    assert [(v.start_s, v.end_s) for v in found[missed_entirely].misses] == [(2, 6)]
