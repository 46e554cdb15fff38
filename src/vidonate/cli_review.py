"""``vidonate review disagreements|suggest``: the model's help to reviewers, against the
database directly (operators' commands, as ``vidonate gold``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from vidonate.cli_server import runtime_or_exit
from vidonate.db.engine import read_transaction
from vidonate.db.models_detect import IntervalSuggestion, VerifiedInterval

review_app = typer.Typer(help="Suggested and verified event intervals (against the database).")
console = Console()


def _spans(rows: Sequence[IntervalSuggestion | VerifiedInterval]) -> str:
    return ", ".join(f"{r.start_s:.1f}–{r.end_s:.1f} {r.label}" for r in rows)


@review_app.command("disagreements")
def review_disagreements(
    as_json: Annotated[
        bool, typer.Option("--json", help="print JSON, one object per clip")
    ] = False,
) -> None:
    """Verified clips where the model's suggestions and the reviewers disagree.

    False alarms, misses and label mismatches: the clips worth training on next."""
    from vidonate.review.disagreements import disagreements

    rt = runtime_or_exit()
    with read_transaction(rt.sessions) as session:
        listed = disagreements(session)
        if as_json:
            rows = [
                {
                    "donation_id": d.donation_id,
                    "category": d.category,
                    "false_alarms": [[s.start_s, s.end_s, s.label] for s in d.false_alarms],
                    "misses": [[v.start_s, v.end_s, v.label] for v in d.misses],
                    "label_mismatches": [[s.start_s, s.end_s, s.label] for s in d.label_mismatches],
                }
                for d in listed
            ]
            typer.echo(json.dumps(rows, indent=2))
            return
        table = Table("clip", "category", "false alarms", "misses", "label mismatches")
        for d in listed:
            table.add_row(
                str(d.donation_id),
                d.category,
                _spans(d.false_alarms),
                _spans(d.misses),
                _spans(d.label_mismatches),
            )
    console.print(table)
    console.print(f"{len(listed)} clip(s) where model and reviewers disagree", markup=False)


@review_app.command("suggest")
def review_suggest(
    donations: Annotated[
        list[int] | None,
        typer.Argument(metavar="[DONATION]...", help="clips in review (default: all of them)"),
    ] = None,
) -> None:
    """Suggest intervals now, with the served model, for clips in review.

    A clip that model has suggested on already is left as it is."""
    from vidonate.review.suggestions import resuggest

    rt = runtime_or_exit()
    done = resuggest(rt.processing, donations or None)
    for donation_id, stored in done.items():
        told = "nothing run" if stored is None else f"{stored} suggestion(s)"
        console.print(f"donation {donation_id}: {told}", markup=False)
    console.print(f"{len(done)} clip(s) in review", markup=False)
