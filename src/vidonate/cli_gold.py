"""``vidonate gold mark|list|retire|reliability``: gold clips and reviewers' reliability,
against the database directly (operators' commands, as ``vidonate user create``)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from vidonate.cli_common import fail
from vidonate.cli_server import runtime_or_exit
from vidonate.db.engine import read_transaction, transaction
from vidonate.errors import VidonateError

gold_app = typer.Typer(help="Gold clips and reviewers' reliability (against the database).")
console = Console()


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


@gold_app.command("mark")
def gold_mark(
    donation: Annotated[int, typer.Argument(metavar="DONATION", help="the clip's id")],
    decision: Annotated[str, typer.Option(help="accept or reject: the clip's decision")],
    category: Annotated[str, typer.Option(help="the right category")],
) -> None:
    """Make a decided clip gold, served to reviewers among the others."""
    from vidonate.review.gold import mark_gold

    rt = runtime_or_exit()
    try:
        with transaction(rt.sessions) as session:
            gold = mark_gold(
                session, donation, decision=decision, category=category, marked_by=None
            )
            console.print(
                f"donation {gold.donation_id} is gold: {gold.decision} as {gold.category}",
                markup=False,
            )
    except VidonateError as exc:
        fail(exc)


@gold_app.command("retire")
def gold_retire(
    donation: Annotated[int, typer.Argument(metavar="DONATION", help="the clip's id")],
) -> None:
    """Serve a gold clip no more; the answers on it keep counting."""
    from vidonate.review.gold import retire_gold

    rt = runtime_or_exit()
    try:
        with transaction(rt.sessions) as session:
            gold = retire_gold(session, donation)
            console.print(f"donation {gold.donation_id} is retired from gold", markup=False)
    except VidonateError as exc:
        fail(exc)


@gold_app.command("list")
def gold_list(
    retired: Annotated[bool, typer.Option(help="list retired gold clips too")] = False,
) -> None:
    """Gold clips, newest first, with how often reviewers answered them right."""
    from vidonate.review.gold import list_gold

    rt = runtime_or_exit()
    with read_transaction(rt.sessions) as session:
        listings = list_gold(session, retired=retired)
    table = Table("donation", "decision", "category", "marked", "answers", "right", "")
    for entry in listings:
        g = entry.gold
        table.add_row(
            str(g.donation_id),
            g.decision,
            g.category,
            f"{g.marked_at:%Y-%m-%d}",
            str(entry.answers),
            str(entry.correct),
            "retired" if g.retired_at else "",
        )
    console.print(table)


@gold_app.command("reliability")
def gold_reliability() -> None:
    """Every reviewer: gold answers, reliability (the weight of their votes), whether
    they decide clips, agreement with decisions, and the Dawid–Skene estimate."""
    from vidonate.review.quality import reviewers_quality

    rt = runtime_or_exit()
    floor = rt.settings.review_reliability_floor
    with read_transaction(rt.sessions) as session:
        rows = reviewers_quality(session, floor=floor)
    table = Table(
        "reviewer", "gold", "right", "accuracy", "reliability", "deciding", "agreement",
        "estimated",
    )  # fmt: skip
    for q in rows:
        table.add_row(
            q.username,
            str(q.gold_answers),
            str(q.gold_correct),
            _share(q.gold_accuracy),
            _share(q.reliability),
            "yes" if q.deciding else f"no (below {floor:.2f})",
            _share(q.agreement),
            _share(q.estimated_accuracy),
        )
    console.print(table)
