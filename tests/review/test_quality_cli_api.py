"""A reviewer's own record (GET /api/v1/review/me/quality) and `vidonate gold`."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from gold_helpers import add_reviewers, decided_clip, gold_clip
from typer.testing import CliRunner

from vidonate import cli
from world import World

runner = CliRunner()


def test_a_reviewer_sees_her_record_with_gold_figures_as_of_the_day_start(
    world: World, client: TestClient
) -> None:
    add_reviewers(world, "rex")
    decided_clip(world, voters=("rita", "ravi"))
    world.rt.settings.review_gold_one_in = 1
    gold = gold_clip(world)
    headers = {"Authorization": f"Bearer {world.tokens['rita']}"}
    assert client.get("/api/v1/review/next", headers=headers).json()["id"] == gold
    client.post(f"/api/v1/review/{gold}/votes", json={"decision": "accept"}, headers=headers)
    me = client.get("/api/v1/review/me/quality", headers=headers).json()
    assert me == {
        "gold_answers": 0,  # today's answer shows tomorrow: it must not mark the clip gold
        "gold_correct": 0,
        "gold_accuracy": None,
        "reliability": 0.8,
        "deciding": True,
        "votes_today": 2,  # her vote and her gold answer, alike
        "decided_votes": 1,
        "agreement": 1.0,
    }


def test_the_gold_commands_mark_list_retire_and_show_reliability(
    world: World, cli_env: Path
) -> None:
    add_reviewers(world, "rex")
    clip = decided_clip(world)
    r = runner.invoke(
        cli.app,
        ["gold", "mark", str(clip), "--decision", "accept", "--category", "package_theft"],
    )
    assert r.exit_code == 0, r.output
    assert f"donation {clip} is gold" in r.output
    r = runner.invoke(cli.app, ["gold", "mark", str(clip), "--decision", "accept",
                                "--category", "package_theft"])  # fmt: skip
    assert r.exit_code == 2 and "already_gold" in r.output
    r = runner.invoke(cli.app, ["gold", "list"])
    assert r.exit_code == 0 and re.search(rf"{clip}\s.*accept\s.*package_theft", r.output)
    r = runner.invoke(cli.app, ["gold", "reliability"])
    assert r.exit_code == 0, r.output
    assert re.search(r"rex\s.*0\.80\s.*yes", r.output)
    r = runner.invoke(cli.app, ["gold", "retire", str(clip)])
    assert r.exit_code == 0 and "retired" in r.output
    assert str(clip) not in runner.invoke(cli.app, ["gold", "list"]).output
    r = runner.invoke(cli.app, ["gold", "retire", "987654"])
    assert r.exit_code == 2 and "not_gold" in r.output
