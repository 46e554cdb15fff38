"""``vidonate badges list|recompute``: the badge catalogue, and re-deriving every award
from the database (against the database directly, as the other operator commands do)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vidonate.cli_server import runtime_or_exit
from vidonate.db.engine import transaction

badges_app = typer.Typer(help="Badges: the catalogue, and checking awards (against the database).")
console = Console()


@badges_app.command("list")
def badges_list() -> None:
    """List every badge: code, name, its rule, and how many users hold it."""
    from sqlalchemy import func, select

    from vidonate.db.models_rewards import BadgeAward
    from vidonate.rewards.badges import definitions

    rt = runtime_or_exit()
    table = Table("code", "name", "rule", "holders")
    with transaction(rt.sessions) as session:
        holders = dict(
            session.execute(
                select(BadgeAward.badge_code, func.count(BadgeAward.id)).group_by(
                    BadgeAward.badge_code
                )
            ).all()
        )
        for d in definitions(session):
            rule = ", ".join(f"{k}={v}" for k, v in d.rule.items())
            table.add_row(d.code, escape(d.name), escape(rule), str(holders.get(d.code, 0)))
    console.print(table)


@badges_app.command("recompute")
def badges_recompute(
    repair: Annotated[
        bool, typer.Option(help="write the missing awards and delete the unearned ones")
    ] = False,
) -> None:
    """Derive every award again from accepted clips and votes, and print where the awards
    held differ. Exits 1 when any differ and --repair was not given."""
    from vidonate.rewards.badges import recompute_awards

    rt = runtime_or_exit()
    with transaction(rt.sessions) as session:
        diff = recompute_awards(session, repair=repair)
    for ref in diff.missing:
        basis = f" (earned by donation {ref.donation_id})" if ref.donation_id else ""
        console.print(f"missing  user {ref.user_id} {ref.badge_code}{basis}")
    for ref in diff.unearned:
        console.print(f"unearned user {ref.user_id} {ref.badge_code}")
    if diff.clean:
        console.print("every award matches the clips and votes")
        return
    found = f"{len(diff.missing)} missing, {len(diff.unearned)} unearned"
    if repair:
        console.print(f"repaired: {found}")
        return
    console.print(f"{found}; run again with --repair to fix them")
    raise typer.Exit(1)
