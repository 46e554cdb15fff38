"""``vidonate rewards …`` and ``vidonate payouts …``: an operator stocks the catalogue,
ships, reviews holds and exports a closed month; a donor redeems and asks for a payout."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from money import balance, give
from vidonate import cli_rewards
from vidonate.cli import app
from vidonate.db.engine import transaction
from vidonate.rewards import holds
from vidonate.server import BackgroundServer
from world import World

runner = CliRunner()


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_rewards, "console", Console(width=200))


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_an_operator_stocks_a_gift_card_and_a_donor_redeems_it(world: World, cli_env: Path) -> None:
    assert "added item 1" in _ok(
        "rewards", "add-item", "gift_card", "Book token", "--price-cents", "1000",
        "--face-value-cents", "1000",
    )  # fmt: skip
    codes = cli_env / "codes.txt"
    codes.write_text("BOOK-1\nBOOK-2\n\n")
    assert "added 2 codes" in _ok("rewards", "add-codes", "1", str(codes))
    assert "Book token" in _ok("rewards", "catalogue")
    give(world.rt, world.bob.id, 1500)
    with BackgroundServer(world.rt, run_worker=False) as server:
        out = _ok("rewards", "redeem", "1", "--server", server.url, "--token", world.tokens["bob"])
        assert "your code: BOOK-1" in out
        mine = _ok("rewards", "mine", "--server", server.url, "--token", world.tokens["bob"])
        assert "fulfilled" in mine
    assert balance(world.rt, world.bob.id) == 500


def test_bad_input_is_one_line_with_the_reason_and_exit_2(cli_env: Path) -> None:
    result = runner.invoke(app, ["rewards", "add-item", "product", "Mug", "--price-cents", "0"])
    assert result.exit_code == 2 and "bad_price" in result.output
    result = runner.invoke(app, ["payouts", "export", "2999-01"])
    assert result.exit_code == 2 and "period_open" in result.output


def test_an_operator_ships_a_product_and_its_address_is_gone(world: World, cli_env: Path) -> None:
    _ok("rewards", "add-item", "product", "Mug", "--price-cents", "500", "--stock", "2")
    give(world.rt, world.bob.id, 500)
    with BackgroundServer(world.rt, run_worker=False) as server:
        _ok(
            "rewards", "redeem", "1", "--address", "Bob, 3 place du Marché, Lyon",
            "--server", server.url, "--token", world.tokens["bob"],
        )  # fmt: skip
    assert "3 place du Marché" in _ok("rewards", "to-ship")
    assert "address is destroyed" in _ok("rewards", "ship", "1")
    assert "nothing waits" in _ok("rewards", "to-ship")


def test_an_operator_lists_and_releases_a_hold(world: World, cli_env: Path) -> None:
    with transaction(world.rt.sessions) as s:
        holds.place_hold(s, world.alice.id, holds.SHARED_CAMERA_SCENE, "same porch as bob")
    assert "shared_camera_scene" in _ok("rewards", "holds")
    assert "released" in _ok("rewards", "release", "1", "--note", "neighbours, checked")
    assert "shared_camera_scene" not in _ok("rewards", "holds")


def test_a_closed_month_exports_to_a_file_and_the_same_file_again(
    world: World, cli_env: Path
) -> None:
    give(world.rt, world.bob.id, 3000)
    with BackgroundServer(world.rt, run_worker=False) as server:
        auth = ("--server", server.url, "--token", world.tokens["bob"])
        result = runner.invoke(app, ["payouts", "request", "1000", *auth])
        assert result.exit_code == 2 and "payout_destination_required" in result.output
        _ok("payouts", "request", "1000", "--provider", "manual", *auth)
    first, second = cli_env / "one.csv", cli_env / "two.csv"
    _ok("payouts", "export", "2026-01", "--provider", "manual", "-o", str(first))
    _ok("payouts", "export", "2026-01", "--provider", "manual", "-o", str(second))
    assert first.read_bytes() == second.read_bytes()
    assert "vidonate-manual-2026-01" in _ok("payouts", "batches")


def test_the_fraud_scan_runs_on_demand_and_says_what_it_held(world: World, cli_env: Path) -> None:
    from vidonate.db.models_rewards import SceneLink

    alices, bobs = world.clip_in_review("alice"), world.clip_in_review("bob")
    with transaction(world.rt.sessions) as s:
        s.add(SceneLink(donation_id=alices, other_donation_id=bobs, score=0.9))
    out = _ok("rewards", "scan")
    assert "2 new holds" in out and "shared_camera_scene" in out
    assert "0 new holds" in _ok("rewards", "scan")
